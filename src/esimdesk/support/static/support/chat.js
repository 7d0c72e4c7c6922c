// Live support chat, for the customer's page and the agent's conversation page. Hand-written,
// no dependencies. The page works without it (plain form posts); with it, messages arrive
// over the WebSocket the moment they are sent, and text is sent over the socket too. If the
// socket cannot be opened, the page polls the messages JSON every 3 seconds instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-ws-path]");
  if (!box) { return; }
  var log = box.querySelector("[data-log]");
  var form = box.querySelector("[data-send]");
  var state = box.querySelector("[data-live-state]");
  var last = parseInt(box.getAttribute("data-last") || "0", 10);
  var socket = null;
  var pollTimer = null;
  var retries = 0;

  // Times read as the server writes them (core.formats): the user's locale and time zone
  // from the page, never the browser's own zone, which may differ from the user's setting.
  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(box.getAttribute("data-locale") || undefined, {
      dateStyle: "medium", timeStyle: "short",
      timeZone: box.getAttribute("data-time-zone") || "UTC"
    });
  } catch (err) { timeFormat = null; }

  function clockText(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return ""; }
    return timeFormat ? timeFormat.format(when).replace(/[\u202f\u2009]/g, " ")
                      : when.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function label(sender, author) {
    if (sender === box.getAttribute("data-self")) { return box.getAttribute("data-you"); }
    if (sender === "agent") {
      return box.getAttribute("data-agent") + (author ? " \u00b7 " + author : "");
    }
    if (sender === "customer") { return box.getAttribute("data-customer") || ""; }
    return box.getAttribute("data-system") || "esimdesk";
  }

  function add(m) {
    if (!m || log.querySelector('[data-id="' + m.id + '"]')) { return; }
    var empty = log.querySelector("[data-empty]");
    if (empty) { empty.remove(); }
    var item = document.createElement("li");
    item.className = "bubble fresh " + m.sender;
    item.setAttribute("data-id", String(m.id));
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = label(m.sender, m.author);
    item.appendChild(who);
    if (m.body) {
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = m.body;
      item.appendChild(text);
    }
    if (m.attachment) {
      var link = document.createElement("a");
      link.className = "shot";
      link.href = m.attachment.url;
      var img = document.createElement("img");
      img.src = m.attachment.url;
      img.alt = m.attachment.name;
      link.appendChild(img);
      item.appendChild(link);
    }
    var when = document.createElement("time");
    when.setAttribute("datetime", m.created_at);
    when.textContent = clockText(m.created_at);
    item.appendChild(when);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    last = Math.max(last, m.id);
  }

  function onEvent(data) {
    if (data.type === "chat.message") { add(data.message); }
    if (data.type === "chat.status" && data.status === "resolved" &&
        box.getAttribute("data-self") === "customer") {
      window.setTimeout(function () { window.location.reload(); }, 800);
    }
    if (data.type === "error" && state) { state.textContent = data.message; }
  }

  function newClientId() {
    var field = form && form.querySelector('[name="client_id"]');
    if (field) {
      field.value = Date.now().toString(16) + Math.random().toString(16).slice(2);
    }
  }

  function poll() {
    var url = box.getAttribute("data-poll");
    if (!url || document.hidden) { return; }
    fetch(url + "?after=" + last, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { (data && data.messages || []).forEach(add); })
      .catch(function () {});
  }

  function startPolling() {
    if (!pollTimer && box.getAttribute("data-poll")) { pollTimer = window.setInterval(poll, 3000); }
  }

  function connect() {
    if (!window.WebSocket) { startPolling(); return; }
    var base = box.getAttribute("data-ws-base");
    if (!base) { base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host; }
    socket = new WebSocket(base.replace(/\/$/, "") + box.getAttribute("data-ws-path"));
    socket.onopen = function () {
      retries = 0;
      if (state) { state.textContent = ""; }
      if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
      poll();  // anything sent while we were away
    };
    socket.onmessage = function (e) {
      try { onEvent(JSON.parse(e.data)); } catch (err) { /* not ours */ }
    };
    socket.onclose = function () {
      socket = null;
      startPolling();
      retries += 1;
      if (retries < 20) { window.setTimeout(connect, Math.min(30000, 1000 * retries)); }
    };
  }

  if (form) {
    form.addEventListener("submit", function (e) {
      var file = form.querySelector('input[type="file"]');
      var body = form.querySelector("textarea");
      if (!socket || socket.readyState !== 1 || (file && file.files.length) || !body) { return; }
      e.preventDefault();
      var text = body.value.trim();
      if (!text) { return; }
      var id = form.querySelector('[name="client_id"]');
      socket.send(JSON.stringify({ type: "message", body: text, client_id: id ? id.value : "" }));
      body.value = "";
      newClientId();
    });
  }
  log.scrollTop = log.scrollHeight;
  connect();
})();
