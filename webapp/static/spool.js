// Live job page: a WebSocket with reconnects, falling back to polling the API.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var TERMINAL = ["finished", "failed", "stopped", "canceled"];
  var WAITING = ["queued", "scheduled", "deferred", "started"];
  var $ = function (id) { return document.getElementById(id); };
  var lastSeq = -1, status = root.dataset.status, attempts = 0, polling = null, socket = null;

  function setStatus(s) {
    status = s;
    var badge = $("status");
    badge.textContent = s;
    badge.className = "badge badge-" + s;
    root.dataset.status = s;
    $("cancel-form").hidden = WAITING.indexOf(s) < 0;
    $("retry-form").hidden = TERMINAL.indexOf(s) < 0;
  }

  function setProgress(p) {
    if (!p) return;
    var bar = $("bar");
    if (p.percent !== null && p.percent !== undefined) {
      $("bar-fill").style.width = p.percent + "%";
      bar.setAttribute("aria-valuenow", p.percent);
      $("percent").textContent = p.percent + "%";
    }
    $("message").textContent = p.message || "";
    $("eta").textContent = p.eta_s ? "about " + Math.round(p.eta_s) + " s left" : "";
  }

  function addLog(line) {
    var log = $("log");
    log.textContent += (log.textContent ? "\n" : "") + line;
    log.scrollTop = log.scrollHeight;
  }

  function applySnapshot(s) {
    setStatus(s.status);
    setProgress(s.progress);
    if (s.log) $("log").textContent = s.log.join("\n");
    if (s.status === "finished") {
      $("bar-fill").style.width = "100%";
      $("bar").setAttribute("aria-valuenow", 100);
      $("percent").textContent = "100%";
      $("eta").textContent = "";
      $("result-json").textContent = JSON.stringify(s.result, null, 2);
      $("result").hidden = false;
    }
    if (s.error) {
      $("error-message").textContent = s.error.message;
      $("error-detail").textContent = s.error.detail || "";
      $("error-detail").parentNode.hidden = !s.error.detail;
      $("error").hidden = false;
      $("eta").textContent = "";
    }
    if (typeof s.seq === "number") lastSeq = Math.max(lastSeq, s.seq);
  }

  function handle(msg) {
    if (msg.type === "snapshot") return applySnapshot(msg);
    if (msg.seq <= lastSeq) return;
    lastSeq = msg.seq;
    if (msg.type === "progress") setProgress(msg);
    else if (msg.type === "log") addLog(msg.line);
    else if (msg.type === "status") setStatus(msg.status);
  }

  function liveness(text) {
    var el = $("live");
    el.textContent = text;
    el.hidden = !text;
  }

  function poll() {
    if (polling) return;
    liveness("live updates unavailable; refreshing every few seconds");
    var tick = function () {
      fetch(root.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s) applySnapshot(s);
          if (TERMINAL.indexOf(status) >= 0) { clearInterval(polling); liveness(""); }
        })
        .catch(function () {});
    };
    tick();
    polling = setInterval(tick, 2000);
  }

  function connect() {
    if (TERMINAL.indexOf(status) >= 0) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;
    var opened = false;
    try { socket = new WebSocket(url); } catch (e) { return poll(); }
    socket.onopen = function () { opened = true; attempts = 0; liveness(""); };
    socket.onmessage = function (e) { handle(JSON.parse(e.data)); };
    socket.onclose = function () {
      if (TERMINAL.indexOf(status) >= 0) return;
      attempts += 1;
      if (!opened && attempts >= 3) return poll();
      liveness("reconnecting…");
      setTimeout(connect, Math.min(500 * Math.pow(2, attempts), 10000));
    };
  }

  window.spoolPoll = poll;  // lets a page (or a test) force the fallback
  connect();
})();
