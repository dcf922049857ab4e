// Times as a reader wants them: durations in words, moments in their own zone, a countdown to a
// scheduled start, and the form's "Start at" read as their local time. Loaded before spool.js,
// which uses window.SpoolTimes.
(() => {
  "use strict";

  // "8 s", "3 min 05 s", "2 h 04 min"
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }

  // An estimate said no more finely than it is known: "about 20 s", "about 4 min", "about 2 h 10 min".
  function roughly(seconds) {
    const s = Math.max(0, seconds);
    if (s < 10) return Math.ceil(s) + " s";
    if (s < 60) return Math.round(s / 5) * 5 + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    return duration(Math.round(s / 600) * 600);
  }

  function parseTime(iso) {
    if (!iso) return NaN;
    return Date.parse(/Z$|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
  }

  // Times come in UTC; show them in the reader's own zone (the UTC stays in the tooltip).
  function localTimes(within) {
    within.querySelectorAll("time.local").forEach((t) => {
      t.textContent = new Date(t.dateTime).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
    });
  }

  // "(in 4 min 10 s)" in each [data-countdown], kept current; "(any moment now)" once it is due.
  // `skew` is the browser's clock minus the server's, so a wrong clock does not move the start.
  function countdowns(within, skew) {
    const els = within.querySelectorAll("[data-countdown]");
    const update = () =>
      els.forEach((el) => {
        const left = (parseTime(el.dataset.countdown) - (Date.now() - skew)) / 1000;
        el.textContent = left >= 1 ? "(in " + duration(left) + ")" : "(any moment now)";
      });
    update();
    return els.length ? setInterval(update, 1000) : null;
  }

  // "2030-01-31T09:30" in the reader's zone as ISO 8601 with its offset: "2030-01-31T09:30:00+01:00".
  function withOffset(local) {
    const moment = new Date(local); // a datetime-local value is read in the browser's own zone
    if (Number.isNaN(moment.getTime())) return local;
    const minutes = -moment.getTimezoneOffset(), sign = minutes < 0 ? "-" : "+", abs = Math.abs(minutes);
    const pad = (n) => String(n).padStart(2, "0");
    return local.slice(0, 16) + ":" + pad(moment.getSeconds()) + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  // The reverse, to show a value the server sent back (a form with errors) in the input.
  function asLocal(iso) {
    const moment = new Date(parseTime(iso));
    if (Number.isNaN(moment.getTime())) return "";
    const pad = (n) => String(n).padStart(2, "0");
    return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) + "T" + pad(moment.getHours()) + ":" + pad(moment.getMinutes());
  }

  // The form's "Start at" is the reader's local time: it goes to the server with their offset.
  function startAtField(input) {
    if (/Z$|[+-]\d\d:\d\d$/.test(input.dataset.iso || "")) input.value = asLocal(input.dataset.iso);
    input.form.addEventListener("submit", () => {
      let sent = input.form.querySelector('input[type=hidden][name="run_at"]');
      if (!sent) {
        sent = document.createElement("input");
        sent.type = "hidden";
        sent.name = "run_at";
        input.form.append(sent);
      }
      input.name = "";
      sent.value = input.value ? withOffset(input.value) : "";
    });
  }

  window.SpoolTimes = { duration, roughly, parseTime, localTimes, countdowns, withOffset };
  document.addEventListener("DOMContentLoaded", () => {
    const startAt = document.getElementById("run_at");
    if (startAt) startAtField(startAt);
  });
})();
