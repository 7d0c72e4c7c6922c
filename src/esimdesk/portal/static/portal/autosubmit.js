// A <select data-autosubmit> sends its form as soon as a choice is made (the page shows a
// Save button instead when scripts are off). Hand-written, no dependencies; a static file
// because the Content-Security-Policy allows no inline handlers.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
})();
