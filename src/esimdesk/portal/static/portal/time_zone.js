// Tells the server the browser's time zone once per browser session, so times on pages and
// in e-mails read in the visitor's own zone (core.formats). Hand-written, no dependencies;
// pages work without it (times then read in the profile's zone, or UTC).
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-url");
  if (!url || !window.fetch || !window.Intl) { return; }
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { return; }
  if (!zone) { return; }
  // Once per zone and account: signing in sends it again, for a profile still on UTC.
  var key = zone + "|" + (script.getAttribute("data-user") || "");
  try {
    if (window.sessionStorage.getItem("esimdesk-time-zone") === key) { return; }
  } catch (err) { /* storage refused: report every page, harmless */ }
  fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ time_zone: zone })
  }).then(function (r) {
    if (!r.ok) { return; }
    try { window.sessionStorage.setItem("esimdesk-time-zone", key); } catch (err) { /* ok */ }
  }).catch(function () {});
})();
