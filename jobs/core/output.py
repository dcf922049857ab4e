"""Output as it is made: what `emit()` adds to a running job's result before it ends.

    emit(columns=["url", "status"])          # the table's header (replaces any before)
    emit(row=["https://example.org", 200])   # one row appended; rows=[[...], ...] for many
    emit(text="a sentence, or a token ")     # appended to the job's text
    emit(values={"best": 0.93})              # named values, each replacing its last

A call only records what was added, bounded, in memory; the reporter's writer thread
(jobs.core.reporter) sends it with the progress, a few writes a second: each write appends it
to the job's output in Redis and publishes one `{"type": "output", "seq", ...}` event carrying
what it added, in one call of the event writer, so a snapshot's output and seq always agree.

Bounds, per job, kept here in the worker: MAX_ROWS rows and MAX_TEXT characters of text; past
either, further output of that kind is refused, the output says `truncated`, and the log says
why once. Cells and values are cut as log lines are, and at most MAX_VALUES names are kept.
"""

from __future__ import annotations

import json
import math
import threading

from jobs.core.bounds import bounded

MAX_ROWS = 10_000
MAX_TEXT = 100_000
MAX_VALUES = 50
MAX_COLUMNS = 100
MAX_CELL = 1000
MAX_VALUE = 2000
# A flush sends at most this many rows; the rest go with the next one, so no event is huge.
MAX_ROWS_PER_EVENT = 500
TEXT_CUT_NOTE = f"\n… [text cut at {MAX_TEXT:,} characters]"


def _cell(value):
    """A table cell as JSON can carry it: a bounded string, or a plain finite number, bool or null."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if not isinstance(value, str):
        value = json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)
    return bounded(value, MAX_CELL)


def _value(value) -> str:
    """A named value as the JSON text stored and sent; one too long becomes its cut text."""
    try:
        text = json.dumps(value, default=str, allow_nan=False)
    except ValueError:  # NaN, infinity, a list that contains itself
        text = json.dumps(str(value))
    return text if len(text) <= MAX_VALUE else json.dumps(bounded(text, MAX_VALUE))


class Output:
    """One job's emitted output not yet written, and how much of it was kept so far."""

    def __init__(self):
        self._lock = threading.Lock()
        self.rows: list[list] = []
        self.text: list[str] = []
        # Named values as given: encoded when taken, a few times a second, not on every call.
        self.values: dict[str, object] = {}
        self.columns: list[str] | None = None
        self.kept_rows = 0
        self.kept_text = 0
        self.names: set[str] = set()
        self.truncated = False
        self._truncation_sent = False
        self._cuts: set[str] = set()
        # The first write of an attempt clears what an earlier attempt of the job emitted.
        self.fresh = True
        self._taken: tuple = ([], "", {}, None, False, False)

    @property
    def pending(self) -> bool:
        return bool(self.rows or self.text or self.values or self.columns is not None) or (
            self.truncated and not self._truncation_sent
        )

    def add(self, rows=(), columns=None, text=None, values=None) -> list[str]:
        """Record what a call emitted; return the log lines saying what was refused, if any."""
        notes: list[str] = []
        with self._lock:
            if columns is not None:
                self.columns = [bounded(c, MAX_CELL) for c in list(columns)[:MAX_COLUMNS]]
            for row in rows:
                if self.kept_rows >= MAX_ROWS:
                    notes += self._cut("rows", f"output: over {MAX_ROWS:,} rows; further rows are not kept")
                    break
                self.rows.append([_cell(c) for c in row])
                self.kept_rows += 1
            if text and "text" not in self._cuts:
                text = str(text)
                if len(text) > MAX_TEXT - self.kept_text:
                    text = text[: MAX_TEXT - self.kept_text] + TEXT_CUT_NOTE
                    notes += self._cut("text", f"output: over {MAX_TEXT:,} characters of text; the rest is not kept")
                self.text.append(text)
                self.kept_text += len(text)
            for name, value in (values or {}).items():
                name = bounded(name, 100)
                if name not in self.names and len(self.names) >= MAX_VALUES:
                    notes += self._cut("values", f"output: over {MAX_VALUES} named values; further names are not kept")
                    continue
                self.names.add(name)
                self.values[name] = value
        return notes

    def _cut(self, kind: str, note: str) -> list[str]:
        """Mark the output cut; the note goes to the log the first time each kind is cut."""
        self.truncated = True
        if kind in self._cuts:
            return []
        self._cuts.add(kind)
        return [note]

    def take(self, ttl: int) -> tuple[dict, dict] | None:
        """What to write and publish now, as (the store's part, the event), or None if nothing."""
        with self._lock:
            if not self.pending:
                return None
            rows, self.rows = self.rows[:MAX_ROWS_PER_EVENT], self.rows[MAX_ROWS_PER_EVENT:]
            text, self.text = "".join(self.text), []
            given, self.values = self.values, {}
            columns, self.columns = self.columns, None
            reset, self.fresh = self.fresh, False
            truncated = self.truncated and not self._truncation_sent and not self.rows
            self._truncation_sent = self._truncation_sent or truncated
            self._taken = (rows, text, given, columns, reset, truncated)
        values = {name: _value(value) for name, value in given.items()}
        event: dict = {"type": "output"}
        if reset:
            event["reset"] = True
        if columns is not None:
            event["columns"] = columns
        if rows:
            event["rows"] = rows
        if text:
            event["text"] = text
        if values:
            event["values"] = {name: json.loads(v) for name, v in values.items()}
        if truncated:
            event["truncated"] = True
        store = {
            "rows": [json.dumps(r, separators=(",", ":")) for r in rows],
            "text": text,
            "values": values,
            "truncated": truncated,
            "reset": reset,
            "ttl": ttl,
        }
        if columns is not None:
            store["columns"] = json.dumps(columns, separators=(",", ":"))
        return store, event

    def give_back(self) -> None:
        """Put what the last `take` took back in front, because writing it failed: the next
        write sends it again, so a moment without Redis loses no output."""
        with self._lock:
            rows, text, values, columns, reset, truncated = self._taken
            self.rows = rows + self.rows
            self.text = [text, *self.text]
            self.values = {**values, **self.values}
            self.columns = self.columns if self.columns is not None else columns
            self.fresh = self.fresh or reset
            self._truncation_sent = self._truncation_sent and not truncated
