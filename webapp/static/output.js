// The job page's output area: the rows, text and named values a running job emits, added as
// they arrive, as text only. spool.js hands it each snapshot's output (set) and each output
// event (add); it keeps no state the page's markup does not hold, but a row count.
(() => {
  "use strict";
  const MAX_ROWS = 1000; // the page stays light on a long table; the API has every row
  const CUT = "The job emitted more than is kept: its output was cut (the log says where).";
  const $ = (id) => document.getElementById(id);
  let total = 0, truncated = false;

  // A named value as the server writes it (webapp.present.value_text), near enough.
  function shown(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString("en-US") : String(Number(value.toPrecision(6)));
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function element(tag, text, attrs) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, value);
    return el;
  }

  function clear() {
    $("output-table").tBodies[0].replaceChildren();
    $("output-text").textContent = "";
    $("output-values").replaceChildren();
    total = 0;
    truncated = false;
  }

  function setValue(list, name, value) {
    let item = Array.from(list.children).find((d) => d.dataset.name === name);
    if (!item) {
      item = element("div", undefined, { "data-name": name });
      item.append(element("dt", name), element("dd"));
      list.append(item);
    }
    item.querySelector("dd").textContent = shown(value);
  }

  function add(e) {
    const area = $("output");
    if (!area) return; // a finished job's page shows its result instead
    if (e.reset) clear();
    const table = $("output-table");
    if (e.columns) {
      const head = element("tr");
      e.columns.forEach((c) => head.append(element("th", c, { scope: "col" })));
      table.tHead.replaceChildren(head);
    }
    // As the server marks them (webapp.present): a row with an error is flagged, and each cell
    // carries its column's name for the phone's stacked layout.
    const columns = Array.from(table.tHead.querySelectorAll("th"), (th) => th.textContent);
    const error = columns.indexOf("error");
    for (const row of e.rows || []) {
      total += 1;
      if (total > MAX_ROWS) continue;
      const tr = element("tr");
      if (error >= 0 && row[error]) tr.className = "problem";
      row.forEach((cell, i) =>
        tr.append(element("td", cell === null ? "" : typeof cell === "object" ? JSON.stringify(cell) : String(cell), { "data-label": columns[i] || "" })),
      );
      table.tBodies[0].append(tr);
    }
    if (e.text) $("output-text").append(e.text);
    for (const [name, value] of Object.entries(e.values || {})) setValue($("output-values"), name, value);
    truncated = truncated || Boolean(e.truncated);
    const note = (total > MAX_ROWS ? "Showing the first 1,000 rows of " + total.toLocaleString("en-US") + ". " : "") + (truncated ? CUT : "");
    $("output-note").textContent = note;
    $("output-note").hidden = !note;
    $("output-table-wrap").hidden = !total;
    $("output-text").hidden = !$("output-text").textContent;
    area.hidden = !(total || $("output-text").textContent || $("output-values").children.length);
  }

  function set(output) {
    if (!output || !$("output")) return;
    clear();
    add({ ...output, reset: false });
  }

  window.SpoolOutput = { set, add };
})();
