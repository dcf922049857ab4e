"""How job data is shown on pages: status words, times, and a result cut to its kind.

result_view(snapshot)   # -> {"table", "text", "images", "files", "data", "scalar"} for _outcome.html

A table with an `error` column marks each row whose error is not empty as a problem (the page
flags it in words, not colour alone). A result's `charts` list describes its PNG files by name
(title, alt text, axis names, legend), for the page to show around each image.

What a job emitted as it ran (its snapshot's `output`) stands in for what its result lacks: the
emitted table is the result's table when the result has none, the emitted text is shown with
it, and emitted values join the result's labelled values under names the result does not use.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from markupsafe import Markup

MAX_TABLE_ROWS = 1000
MAX_FIELDS = 20  # a result's plain values (numbers, words) are shown as labelled cards, up to this many
SCALARS = (str, int, float, bool, type(None))
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def when(iso: str | None) -> Markup:
    """An ISO timestamp as a <time> in UTC, which the page's script shows in the reader's own zone.

    The machine-readable time stops at milliseconds: HTML allows no more than three digits of a
    second, and RQ's timestamps carry six.
    """
    if not iso:
        return Markup("")
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    machine = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time class="local" datetime="{}" title="{}">{}</time>').format(machine, utc, utc)


def duration(seconds: float) -> str:
    """A run time in words a list can show: "4.2 s", "3 min 5 s", "2 h 3 min"."""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _table(value) -> dict | None:
    """The result's table if it follows the convention {"columns": [...], "rows": [[...], ...]}."""
    if not isinstance(value, dict):
        return None
    columns, rows = value.get("columns"), value.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return None
    shown = rows[:MAX_TABLE_ROWS]
    error = columns.index("error") if "error" in columns else None
    return {
        "columns": columns,
        "rows": shown,
        "problems": [error is not None and len(r) > error and bool(r[error]) for r in shown],
        "total": len(rows),
        "hidden": len(rows) > MAX_TABLE_ROWS,
    }


def _charts(result, images: list[dict]) -> list[dict]:
    """Each PNG file with what the result says about it (its `charts` entry of the same name)."""
    described = result.get("charts") if isinstance(result, dict) else None
    by_file = {c.get("file"): c for c in described or () if isinstance(c, dict)}
    shown = []
    for image in images:
        chart = {**image, "alt": image["name"], "legend": [], **by_file.get(image["name"], {})}
        # A swatch's colour goes into a style attribute: only a plain hex colour is let through.
        chart["legend"] = [e for e in chart["legend"] if isinstance(e, dict) and COLOUR.match(str(e.get("colour")))]
        shown.append(chart)
    return shown


def emitted_table(output: dict | None) -> dict | None:
    """The table a job emitted, with numbered columns if it named none."""
    rows = (output or {}).get("rows")
    if not rows:
        return None
    columns = output.get("columns") or [str(i + 1) for i in range(max(len(r) for r in rows))]
    return _table({"columns": columns, "rows": rows})


def result_view(snapshot: dict) -> dict:
    """Cut a finished job's result into what the page renders: table, images, files, the rest."""
    result = snapshot.get("result")
    output = snapshot.get("output") or {}
    files = snapshot.get("files") or []
    table = _table(result.get("table")) if isinstance(result, dict) else None
    data = result
    if table:
        data = {k: v for k, v in result.items() if k not in ("table", "charts")} or None
    else:
        table = emitted_table(output)
    scalar = data if isinstance(data, str | int | float | bool) else None
    fields = []
    if isinstance(data, dict) or output.get("values"):
        own = data if isinstance(data, dict) else {}
        values = {**own, **{k: v for k, v in output.get("values", {}).items() if k not in own}}
        scalars = [(k, v) for k, v in values.items() if isinstance(v, SCALARS)]
        fields = [(str(k).replace("_", " ").capitalize(), _readable(v), _kind(v)) for k, v in scalars[:MAX_FIELDS]]
    text = output.get("text") or None
    if data is None and not (table or files or text or fields):
        scalar = "The job finished without a result."
    return {
        "table": table,
        "text": text,
        "truncated": bool(output.get("truncated")),
        "images": _charts(result, [f for f in files if f.get("content_type") == "image/png"]),
        "files": files,
        "data": data,
        "fields": fields,
        "scalar": scalar,
        # With a table or labelled values on show, the raw JSON is only a fallback: fold it.
        "fold_json": bool(table or fields),
    }


# Characters that reorder the text around them (right-to-left overrides and the like): in a
# value someone typed they could make "txt.exe" read as "exe.txt", so they are shown, not obeyed.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_VISIBLE = {ord(c): f"⟨U+{ord(c):04X}⟩" for c in BIDI_CONTROLS}


def visible(text: str) -> str:
    """`text` with each bidirectional control character written out as ⟨U+202E⟩."""
    return text.translate(_VISIBLE)


def value_text(value) -> str:
    """A parameter's value in a few words: lists joined, yes/no, a dash for nothing."""
    if isinstance(value, list):
        return visible(", ".join(map(str, value))) or "—"
    if value == "":
        return "—"
    return visible(_readable(value))


def _kind(value) -> str:
    """ "num" for a number (the page keeps it on one line, digits aligned), "text" for the rest."""
    return "num" if isinstance(value, int | float) and not isinstance(value, bool) else "text"


def _readable(value) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e15 else str(value)
    return str(value)
