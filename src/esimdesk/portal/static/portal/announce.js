// The page's messages (saved, sent, refused...) are shown as banners when the page loads; a
// screen reader does not read a live region that was already full when the page came, so the
// banners' words are put into the empty one (#announcer) once the page is there.
// Hand-written, no dependencies; a static file (the Content-Security-Policy allows no inline
// script).
(function () {
  "use strict";
  var region = document.getElementById("announcer");
  var banners = document.querySelectorAll(".messages .msg");
  if (!region || !banners.length) { return; }
  var words = Array.prototype.map.call(banners, function (b) { return b.textContent.trim(); });
  window.setTimeout(function () { region.textContent = words.join(" "); }, 300);
})();
