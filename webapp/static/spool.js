// The job page, live: a WebSocket with reconnects, falling back to polling the API. Every page
// works without it. lists.js (sortable tables, "My jobs" statuses) and times.js load first.
(() => {
  "use strict";
  // The server's status vocabulary (jobs.core.status), so that no list of statuses is kept here.
  const STATUSES = JSON.parse(document.body.dataset.statuses);
  const TERMINAL = STATUSES.terminal, ACTIVE = STATUSES.active;
  const MAX_LOG_LINES = 1000;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  const { duration, roughly, parseTime, localTimes, countdowns } = window.SpoolTimes;
  const { setBadge, sortable } = window.SpoolLists;

  function jobPage(root) {
    const $ = (id) => document.getElementById(id);
    const labels = STATUSES.labels;
    const skew = Date.now() - parseFloat(root.dataset.now) * 1000; // browser clock minus server clock
    let status = root.dataset.status, lastSeq = -1, attempts = 0, dropped = false, everOpened = false;
    let polling = null, finishing = false, etaAt = null, stalled = root.dataset.stalled === "true", gone = false;
    if (root.dataset.eta) etaAt = Date.now() + parseFloat(root.dataset.eta) * 1000;
    const title = document.title;

    function liveness(text, kind) {
      const el = $("live");
      el.textContent = text;
      el.className = "live" + (kind ? " live-" + kind : "");
      el.hidden = !text;
    }

    function tick() {
      const now = Date.now() - skew;
      const created = parseTime(root.dataset.createdAt), started = parseTime(root.dataset.startedAt);
      const ended = parseTime(root.dataset.endedAt);
      let elapsed = "", eta = "";
      if (status === "started" && started) elapsed = "running for " + duration((now - started) / 1000);
      else if (ACTIVE.includes(status) && status !== "scheduled" && created) elapsed = "waiting for " + duration((now - created) / 1000);
      else if (started && ended) elapsed = ended - started < 1000 ? "took under a second" : "took " + duration((ended - started) / 1000);
      if (status === "started" && etaAt && !stalled) {
        const left = (etaAt - Date.now()) / 1000;
        eta = left >= 1 ? "· about " + roughly(left) + " left" : "· almost done";
      }
      $("elapsed").textContent = elapsed;
      $("eta").textContent = eta;
      // A background tab shows how far the job is, or how it ended.
      const percent = $("percent").textContent;
      const state = status === "started" && percent ? percent : ACTIVE.includes(status) ? "" : labels[status];
      document.title = state ? state + " · " + title : title;
      const retryAt = parseTime($("attempt").dataset.retryAt);
      $("retry-at").textContent = status === "scheduled" && retryAt ? " · next try in " + duration((retryAt - now) / 1000) : "";
    }

    function setStatus(s, startedAt) {
      // Just started (perhaps again, as a retry): time it from now unless a snapshot says exactly.
      if (startedAt) root.dataset.startedAt = startedAt;
      else if (s === "started" && status !== "started") root.dataset.startedAt = new Date(Date.now() - skew).toISOString();
      status = s;
      root.dataset.status = s;
      setBadge($("status"), s, labels);
      $("cancel-form").hidden = !ACTIVE.includes(s);
      // A running job is stopped, a waiting one canceled; once asked, the button keeps its "…ing".
      if (ACTIVE.includes(s) && !$("cancel").disabled) $("cancel").textContent = s === "started" ? "Stop" : "Cancel";
      $("retry-form").hidden = !TERMINAL.includes(s);
      if ($("starts")) $("starts").hidden = s !== "scheduled";
      if (s !== "queued" && s !== "deferred") $("line").hidden = $("no-worker").hidden = true;
      tick();
    }

    function setProgress(p) {
      if (!p) return;
      const bar = $("bar");
      if (p.percent !== null && p.percent !== undefined) {
        $("bar-fill").style.width = p.percent + "%";
        bar.setAttribute("aria-valuenow", p.percent);
        bar.classList.remove("indeterminate");
        $("percent").textContent = p.percent + "%";
      } else if (status === "started") {
        bar.classList.add("indeterminate");
      }
      $("message").textContent = p.message || "";
      if ($("percent").textContent) bar.setAttribute("aria-valuetext", $("percent").textContent + (p.message ? ", " + p.message : ""));
      if (!root.dataset.startedAt && p.elapsed_s) root.dataset.startedAt = new Date(Date.now() - skew - p.elapsed_s * 1000).toISOString();
      etaAt = p.eta_s !== null && p.eta_s !== undefined ? Date.now() + p.eta_s * 1000 : null;
      tick();
    }

    function showLog(lines, append) {
      const log = $("log");
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      let all = append && log.textContent ? log.textContent.split("\n").concat(lines) : lines;
      if (all.length > MAX_LOG_LINES) all = all.slice(-MAX_LOG_LINES); // the page stays light on a chatty job
      log.textContent = all.join("\n");
      const count = all.length;
      $("log-count").textContent = count ? count + (count === 1 ? " line" : " lines") : "";
      if (atBottom || !append) log.scrollTop = log.scrollHeight; // keep the newest line in view
    }

    // The server renders a finished job's outcome (table, charts, files, error): fetch it once.
    function finish() {
      if (finishing) return;
      finishing = true;
      etaAt = null;
      fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => {
          const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("job");
          for (const attr of fresh.attributes) root.setAttribute(attr.name, attr.value);
          root.replaceChildren(...fresh.childNodes);
          root.querySelectorAll("table.sortable").forEach(sortable);
          localTimes(root);
          status = root.dataset.status;
          showLog($("log").textContent ? $("log").textContent.split("\n") : [], false);
          tick();
        })
        .catch(() => location.reload());
    }

    function setAttempt(s) {
      if (!s.attempt) return;
      const el = $("attempt");
      $("attempt-n").textContent = s.attempt;
      $("attempt-of").textContent = s.attempts;
      el.dataset.retryAt = s.retry_at || "";
      el.hidden = s.attempt <= 1;
    }

    // The job was deleted or expired: say so, and stop listening for it.
    function showGone(message) {
      gone = true;
      etaAt = null;
      if (polling) clearInterval(polling);
      liveness("");
      const el = $("gone");
      el.textContent = message || "This job no longer exists: it was deleted or has expired.";
      el.hidden = false;
      $("cancel-form").hidden = true;
      $("stalled").hidden = true;
      $("bar").classList.remove("indeterminate");
    }

    // The API's answer about this job: its snapshot, or null; a 404 means the job is gone.
    function readJob() {
      return fetch(root.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((r) => {
        if (r.status === 404) showGone();
        return r.ok ? r.json() : null;
      });
    }

    // A status change mid-way (a retry, say) may change what a snapshot holds: read it again.
    function refresh() {
      readJob()
        .then((s) => s && applySnapshot(s))
        .catch(() => {});
    }

    // The worker stopped responding: say so, and what becomes of the job, until it moves on.
    function setStalled(s) {
      const el = $("stalled");
      stalled = Boolean(s.stalled) && s.status === "started";
      el.textContent = stalled ? (s.attempt < s.attempts ? el.dataset.retry : el.dataset.fail) : "";
      el.hidden = !stalled;
    }

    // A waiting job's place in line, or what a job held back by a limit waits for.
    function setLine(s) {
      const el = $("line");
      let text = "";
      if (s.status === "deferred" && s.waiting_for) text = "Waiting for " + s.waiting_for + ".";
      else if (s.status === "queued" && s.queue_position) {
        text = s.queue_position === 1 ? "Next in line" : "Number " + s.queue_position + " in line";
        if (s.expected_start_s !== null && s.expected_start_s !== undefined) text += " · starts in about " + roughly(s.expected_start_s);
        text += ".";
      }
      el.textContent = text;
      el.hidden = !text;
      $("no-worker").hidden = !(s.status === "queued" && s.workers === 0);
    }

    function applySnapshot(s) {
      if (typeof s.seq === "number" && s.seq < lastSeq) return;
      setAttempt(s);
      setLine(s);
      setStalled(s);
      setStatus(s.status, s.started_at);
      setProgress(s.progress);
      if (s.log) showLog(s.log, false);
      if (window.SpoolOutput) window.SpoolOutput.set(s.output); // what the job emitted so far
      if (window.SpoolParts) window.SpoolParts.set(s.parts); // a fanned-out job's parts
      if (typeof s.seq === "number") lastSeq = Math.max(lastSeq, s.seq);
      if (TERMINAL.includes(s.status)) finish();
    }

    function handle(msg) {
      if (msg.type === "snapshot") return applySnapshot(msg);
      if (msg.type === "gone") return showGone(msg.message);
      if (msg.seq <= lastSeq) return; // already seen before a reconnect
      lastSeq = msg.seq;
      if (msg.type === "progress") setProgress(msg);
      else if (msg.type === "log") showLog([msg.line], true);
      else if (msg.type === "output" && window.SpoolOutput) window.SpoolOutput.add(msg);
      else if (msg.type === "parts" && window.SpoolParts) window.SpoolParts.set(msg);
      else if (msg.type === "status") {
        setStatus(msg.status);
        if (TERMINAL.includes(msg.status)) finish();
        else refresh();
      }
    }

    function poll() {
      if (polling) return;
      root.dataset.connection = "poll";
      liveness("checking every few seconds", "poll");
      const once = () =>
        readJob()
          .then((s) => {
            if (s) applySnapshot(s);
            if (TERMINAL.includes(status)) {
              clearInterval(polling);
              liveness("");
            }
          })
          .catch(() => {});
      once();
      polling = setInterval(once, 2000);
    }

    function connect() {
      if (TERMINAL.includes(status) || polling || gone) return;
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;
      let socket;
      try {
        socket = new WebSocket(url);
      } catch (e) {
        return poll();
      }
      socket.onopen = () => {
        root.dataset.connection = "live"; // what the page is fed by, for styles and tests
        everOpened = true;
        attempts = 0;
        if (dropped) {
          liveness("back online", "ok");
          setTimeout(() => dropped || liveness(""), 3000);
        }
        dropped = false;
      };
      socket.onmessage = (e) => handle(JSON.parse(e.data));
      socket.onclose = () => {
        root.dataset.connection = "off";
        if (TERMINAL.includes(status) || gone) return;
        attempts += 1;
        // Never opened: something in between refuses WebSockets, so poll. Once worked: the
        // server went away for a moment, so keep trying (polling would not bring it back sooner).
        if (!everOpened && attempts >= 3) return poll();
        dropped = everOpened;
        liveness(everOpened ? "connection lost, reconnecting…" : "connecting…", "off");
        // A socket to a job that is gone is refused (404) before it opens: ask the API why.
        if (everOpened) readJob().catch(() => {});
        // Back off, with jitter so that every page of a restarted server does not return at once.
        setTimeout(connect, Math.min(250 * 2 ** attempts, 10000) * (0.75 + Math.random() / 2));
      };
    }

    const cancelForm = $("cancel-form");
    root.addEventListener("submit", (e) => {
      if (e.target.id !== "cancel-form") return;
      e.preventDefault();
      const button = $("cancel");
      button.disabled = true;
      button.textContent = status === "started" ? "Stopping…" : "Canceling…";
      fetch(root.dataset.api, { method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
        .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
        .then(({ ok, body }) => {
          if (!ok) return finish(); // it ended meanwhile: show how
          if (body.status === "stopping") return setBadge($("status"), "started", { started: "Stopping…" });
          setStatus(body.status);
          finish();
        })
        .catch(() => cancelForm.submit());
    });

    window.spoolPoll = poll; // lets a page (or a test) force the fallback
    countdowns(root, skew);
    setInterval(tick, 1000);
    tick();
    showLog($("log").textContent ? $("log").textContent.split("\n") : [], false);
    connect();
  }

  document.documentElement.classList.add("js");
  localTimes(document);
  const invalid = document.querySelector(".field.invalid :is(input, select, textarea)");
  if (invalid) invalid.focus(); // a form that came back with errors: start at the first one
  document.querySelectorAll("form.filters select").forEach((s) => s.addEventListener("change", () => s.form.submit()));
  const job = document.getElementById("job");
  if (job) jobPage(job);
})();
