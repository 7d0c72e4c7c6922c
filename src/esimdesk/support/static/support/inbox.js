// Agent inbox: the queue refreshes itself when a conversation moves (a customer writes, an
// agent takes or resolves one), over the WebSocket; and on a conversation page the canned
// reply picker inserts the chosen text into the reply box. Hand-written, no dependencies.
(function () {
  "use strict";
  var picker = document.querySelector("[data-canned]");
  if (picker) {
    picker.addEventListener("change", function () {
      var option = picker.options[picker.selectedIndex];
      var box = document.getElementById("reply-body");
      if (box && option && option.getAttribute("data-body")) {
        box.value = option.getAttribute("data-body");
        box.focus();
      }
    });
  }
  var inbox = document.getElementById("inbox");
  if (!inbox || !window.WebSocket) { return; }
  var retries = 0;

  function refresh(changed) {
    fetch(inbox.getAttribute("data-refresh"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        inbox.innerHTML = html;
        var row = inbox.querySelector('[data-conversation="' + changed + '"]');
        if (row) { row.classList.add("fresh"); }
      })
      .catch(function () {});
  }

  function connect() {
    var base = inbox.getAttribute("data-ws-base");
    if (!base) { base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host; }
    var socket = new WebSocket(base.replace(/\/$/, "") + inbox.getAttribute("data-ws-path"));
    socket.onopen = function () { retries = 0; };
    socket.onmessage = function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data.type === "inbox.update") { refresh(data.conversation.id); }
    };
    socket.onclose = function () {
      retries += 1;
      if (retries < 20) { window.setTimeout(connect, Math.min(30000, 1000 * retries)); }
    };
  }
  connect();
})();
