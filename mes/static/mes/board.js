/* Live exception board: a websocket hint ("board.changed") re-fetches the board fragment
   over HTTP and swaps it in. Reconnects with backoff; also refreshes every 60 s. A critical
   ticket that newly appears flashes, and beeps once sound was enabled by a click. */
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var status = document.getElementById("board-status");
  var soundButton = document.getElementById("board-sound");
  var audio = null;
  var delay = 1000;
  var fetching = false;
  var again = false;

  function known() {
    var ids = {};
    board.querySelectorAll(".board-card").forEach(function (card) { ids[card.id] = true; });
    return ids;
  }

  function beep() {
    if (!audio) return;
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    var before = known();
    fetch(board.dataset.fragment, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        board.innerHTML = html;
        var alarm = false;
        board.querySelectorAll(".board-card").forEach(function (card) {
          if (!before[card.id] && card.dataset.severity === "critical") {
            card.classList.add("is-new");
            alarm = true;
          }
        });
        if (alarm) beep();
      })
      .catch(function () { /* next hint or the minute timer tries again */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  function setStatus(live) {
    if (status) status.textContent = live ? status.dataset.live : status.dataset.offline;
  }

  // The ASGI server's origin when the page names one (WEBSOCKET_URL), else the page's own.
  function socketOrigin() {
    var meta = document.querySelector('meta[name="andon-websocket"]');
    if (meta && meta.content) return meta.content.replace(/\/+$/, "");
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  }

  function connect() {
    var ws = new WebSocket(socketOrigin() + board.dataset.ws);
    ws.onopen = function () { delay = 1000; setStatus(true); refresh(); };
    ws.onmessage = function (e) {
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.type === "board.changed") refresh();
    };
    ws.onclose = function (e) {
      setStatus(false);
      if (e.code === 4401 || e.code === 4404) return; // signed out or no access: stop
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      audio.resume();
      soundButton.setAttribute("aria-pressed", "true");
      soundButton.textContent = soundButton.dataset.on;
      beep();
    });
  }

  setInterval(refresh, 60000);
  connect();
})();
