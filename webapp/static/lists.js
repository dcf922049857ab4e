// Lists and tables: result tables sort by any column, and "My jobs" keeps its statuses current
// while a listed job is active. spool.js uses its status badges.
(() => {
  "use strict";
  const STATUSES = JSON.parse(document.body.dataset.statuses);
  const ACTIVE = STATUSES.active;

  function setBadge(badge, status, labels) {
    badge.textContent = labels[status] || status;
    badge.className = "badge badge-" + status;
    badge.dataset.status = status;
  }

  // Sort a table's rows by the clicked column: numbers as numbers, empty cells last.
  function sortable(table) {
    const heads = Array.from(table.tHead.rows[0].cells);
    const key = (row, i) => row.cells[i].textContent.trim();
    const compare = (a, b) => {
      if (a === "" || b === "") return (a === "") - (b === "");
      const x = Number(a), y = Number(b);
      if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
      return a.localeCompare(b, undefined, { numeric: true });
    };
    heads.forEach((th, i) => {
      th.querySelector("button").addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((r1, r2) => {
          const a = key(r1, i), b = key(r2, i);
          return a === "" || b === "" ? compare(a, b) : compare(a, b) * (ascending ? 1 : -1);
        });
        rows.forEach((r) => body.appendChild(r));
      });
    });
  }

  // "My jobs": while a listed job is active, refresh the statuses every few seconds.
  function jobsList(table) {
    const labels = STATUSES.labels;
    const activeRows = () => Array.from(table.tBodies[0].rows).filter((r) => ACTIVE.includes(r.dataset.status));
    const timer = setInterval(() => {
      if (!activeRows().length) return clearInterval(timer);
      if (document.hidden) return;
      fetch(table.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : { jobs: [] }))
        .then((body) => {
          for (const job of body.jobs) {
            const row = table.querySelector('tr[data-job-id="' + job.id + '"]');
            if (!row) continue;
            row.dataset.status = job.status;
            setBadge(row.querySelector(".badge"), job.status, labels);
            const pct = job.status === "finished" ? 100 : job.progress && job.progress.percent;
            if (pct !== null && pct !== undefined) {
              row.querySelector(".pct").innerHTML =
                '<span class="mini-bar" aria-hidden="true"><span style="width: ' + pct + '%"></span></span> <span class="num">' + pct + "%</span>";
            }
          }
        })
        .catch(() => {});
    }, 3000);
  }

  document.querySelectorAll("table.sortable").forEach(sortable);
  const list = document.getElementById("jobs-list");
  if (list) jobsList(list);
  window.SpoolLists = { setBadge, sortable };
})();
