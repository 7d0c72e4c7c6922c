// Live activation steps on the order page. Hand-written, no dependencies. While an eSIM is
// being made (preparing -> ready to install -> installed -> active) the page asks the order's
// activation JSON every 2 seconds and moves the steps in place; when the order itself changes
// state (paid -> fulfilled) it reloads once to show the install button and receipt. Without
// JavaScript the page refreshes itself while preparing, so nothing here is required.
(function () {
  "use strict";
  var INTERVAL = 2000;
  var FINAL = { active: true, attention: true, revoked: true, suspended: true };

  function render(box, data) {
    (data.lines || []).forEach(function (line) {
      var list = box.querySelector('.steps[data-line="' + line.line + '"]');
      if (list) {
        line.steps.forEach(function (step) {
          var item = list.querySelector('[data-step="' + step.name + '"]');
          if (!item) { return; }
          item.classList.toggle("done", step.done);
          item.classList.toggle("current", step.name === line.step);
        });
      }
      var text = box.querySelector('[data-step-text="' + line.line + '"]');
      if (text && text.getAttribute("data-step") !== line.step) {
        text.setAttribute("data-step", line.step);
        text.textContent = line.text;
        if (line.install_url && line.step === "ready") {
          var link = document.createElement("a");
          link.href = line.install_url;
          link.textContent = box.getAttribute("data-install-text") || "";
          if (link.textContent) {
            text.appendChild(document.createTextNode(" \u00b7 "));
            text.appendChild(link);
          }
        }
      }
    });
  }

  function done(data) {
    return (data.lines || []).every(function (line) { return FINAL[line.step]; });
  }

  function start() {
    var box = document.querySelector("[data-activation]");
    if (!box || !window.fetch) { return; }
    var timer = window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(box.getAttribute("data-activation"), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (!data) { return; }
        if (data.status !== box.getAttribute("data-order-status")) {
          window.clearInterval(timer);
          window.location.reload();
          return;
        }
        render(box, data);
        if (done(data)) { window.clearInterval(timer); }
      }).catch(function () { /* offline for a moment: try again next time */ });
    }, INTERVAL);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
