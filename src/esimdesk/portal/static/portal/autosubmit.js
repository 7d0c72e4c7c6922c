// A <select data-autosubmit> sends its form as soon as a choice is made (the page shows a
// button instead, in <noscript>, when scripts are off). Hand-written, no dependencies; a
// static file because the Content-Security-Policy allows no inline handlers. Loaded by the
// shared layout; a page that links it again gets no second listener.
(function () {
  "use strict";
  if (window.esimdeskAutosubmit) { return; }
  window.esimdeskAutosubmit = true;
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("select[data-autosubmit]") && field.form) {
      if (field.form.requestSubmit) { field.form.requestSubmit(); } else { field.form.submit(); }
    }
  });
})();
