// Copy buttons of the eSIM page's manual-install fields. Without JavaScript the buttons stay
// hidden and the values are plain selectable text; with it each button copies its value
// and the page's status line (aria-live) says "Copied" for a moment.
(function () {
  "use strict";

  function start() {
    if (!navigator.clipboard || !window.isSecureContext) { return; }
    var status = document.querySelector("[data-copy-status]");
    var timer = null;
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
          Array.prototype.forEach.call(document.querySelectorAll("[data-copy].copied"),
            function (other) { other.classList.remove("copied"); });
          button.classList.add("copied");
          if (status) {
            status.textContent = status.getAttribute("data-copied-text");
            window.clearTimeout(timer);
            timer = window.setTimeout(function () { status.textContent = ""; }, 4000);
          }
        }).catch(function () { /* refused: the text stays there to select by hand */ });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
