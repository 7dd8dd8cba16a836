/* The bell's unread count, kept live over /ws/notifications/ ("hello" and each
   "notification" carry "unread"). Reconnects with backoff. */
(function () {
  "use strict";
  var badge = document.getElementById("bell-count");
  if (!badge || !window.WebSocket) return;
  var delay = 1000;

  function show(n) {
    badge.textContent = n;
    badge.classList.toggle("is-hot", n > 0);
  }

  // The ASGI server's origin when the page names one (WEBSOCKET_URL), else the page's own.
  function socketOrigin() {
    var meta = document.querySelector('meta[name="andon-websocket"]');
    if (meta && meta.content) return meta.content.replace(/\/+$/, "");
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  }

  function connect() {
    var ws = new WebSocket(socketOrigin() + "/ws/notifications/");
    ws.onopen = function () { delay = 1000; };
    ws.onmessage = function (e) {
      try {
        var msg = JSON.parse(e.data);
        if (typeof msg.unread === "number") show(msg.unread);
      } catch (err) { /* ignore */ }
    };
    ws.onclose = function (e) {
      if (e.code === 4401) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
