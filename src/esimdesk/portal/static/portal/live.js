// Live usage refresh. Hand-written, no dependencies. Every element with data-live="<url>"
// is refreshed from that JSON endpoint every 15 seconds: the remaining quantities, the
// meters and the forecast line are updated in place. Without JavaScript the page shows the
// same numbers as of its load, so nothing here is required.
(function () {
  "use strict";
  var INTERVAL = 15000;

  function updateGauge(box, a) {
    // The data gauge (server-drawn SVG ring): its arc length, its label and its figure.
    var gauge = box.querySelector("[data-gauge]");
    if (!gauge || a.kind !== "data") { return; }
    var ring = gauge.querySelector("[data-ring]");
    var arc = gauge.querySelector("[data-gauge-arc]");
    var left = gauge.querySelector("[data-gauge-left]");
    var percent = Math.max(0, Math.min(100, a.remaining_percent));
    if (ring && arc) {
      var length = parseFloat(ring.getAttribute("data-ring"));
      arc.setAttribute("stroke-dasharray", (length * percent / 100).toFixed(1) + " " + length);
      ring.setAttribute("aria-label", a.label);
    }
    if (left) { left.textContent = a.remaining_text; }
    gauge.classList.toggle("gauge-out", percent === 0);
    gauge.classList.toggle("gauge-low", percent > 0 && percent < 20);
    gauge.classList.toggle("gauge-ok", percent >= 20);
  }

  function update(box, data) {
    (data.allowances || []).forEach(function (a) {
      updateGauge(box, a);
      var row = box.querySelector('.allowance[data-kind="' + a.kind + '"]');
      if (!row) { return; }
      var remaining = row.querySelector("[data-remaining]");
      if (remaining) { remaining.textContent = a.remaining_text; }
      var meter = row.querySelector("[data-meter]");
      if (meter) {
        meter.setAttribute("aria-valuenow", String(a.remaining_percent));
        meter.classList.toggle("out", a.remaining_percent === 0);
        meter.classList.toggle("low", a.remaining_percent > 0 && a.remaining_percent < 20);
        var bar = meter.querySelector("span");
        // The bar's width is a class (site.css .pct-N): no inline styles under the CSP.
        if (bar) { bar.className = "pct-" + Math.max(0, Math.min(100, Math.round(a.remaining_percent))); }
      }
    });
    // A pooled eSIM: the shared pool's line and the member's own limit, in the card's words.
    if (data.pool) {
      var shared = (data.allowances || []).filter(function (a) { return a.kind === "data"; })[0];
      var label = box.querySelector("[data-pool-label]");
      if (label && shared) { label.textContent = shared.label; }
      var cap = box.querySelector("[data-pool-cap]");
      if (cap && data.pool.cap_text && !data.pool.capped) { cap.textContent = data.pool.cap_text; }
    }
    var forecast = box.querySelector("[data-forecast]");
    if (forecast && forecast.textContent !== data.forecast_text) {
      forecast.textContent = data.forecast_text || "";
    }
  }

  function refresh(box) {
    // Skip while the tab is hidden: nobody is looking, and the phone's battery matters.
    if (document.hidden) { return; }
    fetch(box.getAttribute("data-live"), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (data) { update(box, data); }
    }).catch(function () { /* offline for a moment: try again next time */ });
  }

  function start() {
    if (!window.fetch) { return; }
    var boxes = document.querySelectorAll("[data-live]");
    if (!boxes.length) { return; }
    window.setInterval(function () {
      Array.prototype.forEach.call(boxes, refresh);
    }, INTERVAL);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { Array.prototype.forEach.call(boxes, refresh); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
