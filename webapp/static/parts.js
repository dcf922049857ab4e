// The job page's parts line, for a job spread over the workers: how many of its parts are done,
// running, waiting and failed. spool.js hands it each snapshot's `parts` and each parts event.
(() => {
  "use strict";

  function set(parts) {
    const el = document.getElementById("parts");
    if (!el || !parts) return;
    el.textContent = `Parts: ${parts.done} done, ${parts.running} running, ${parts.waiting} waiting, ` +
      `${parts.failed} failed (of ${parts.total}).`;
    el.hidden = false;
  }

  window.SpoolParts = { set };
})();
