"""What a running job tells the people watching it: `progress()`, `log()` and `emit()`.

    for i, batch in enumerate(batches):
        progress(i, len(batches), "encoding")
        emit(row=[i, len(batch)])      # output as it is made (jobs.core.output)
    log("found 78498 primes")

All are cheap enough for a tight loop: a call only records the latest values in memory,
and a background thread writes them to the job's meta and publishes an event at once if
it has been idle (and once more at once, for the rest of a burst it woke in the middle of),
then at most every `settings.progress_interval` seconds, so an update after a quiet spell
is seen in a millisecond and a flood costs a few writes a second. The
last update is always written when the job ends. Outside a worker (a plain function
call) both do nothing.

A part of a fanned-out job (jobs.core.fanout) reports into its parent: its log lines and
output are the parent's, and its progress is rolled into the parent's bar.
"""

from __future__ import annotations

import logging
import threading
import time

from jobs.core import events, files, parts
from jobs.core.bounds import bounded
from jobs.core.config import settings
from jobs.core.eta import Eta
from jobs.core.output import Output

_log = logging.getLogger(__name__)
MAX_LOG_LINES_PER_FLUSH = 50
# Longer log lines and progress messages are cut here, in the worker (see jobs.core.bounds).
MAX_LOG_LINE = 2000
MAX_MESSAGE = 500


class Reporter:
    """Coalesces one job's progress, log lines and output into a few Redis writes a second."""

    def __init__(self, job, interval: float | None = None):
        self.job = job
        self.interval = settings.progress_interval if interval is None else interval
        self.started = time.monotonic()
        self.eta = Eta(self.started)
        self.pending: tuple | None = None
        self._sent: tuple | None = None
        self._lines: list[str] = []
        self.output = Output()
        meta = job.meta if isinstance(job.meta, dict) else {}
        # A part writes to its parent; neither it nor a fanned-out job's merge run (whose parts
        # have written its output) clears the output that earlier runs left.
        self.target = meta.get("parent") or job.id
        self.part: int | None = meta.get("part") if "parent" in meta else None
        self.output.fresh = not (meta.get("parent") or meta.get("fan_out"))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        # True while the writer waits for news: the next call wakes it instead of waiting a tick.
        # The writer starts on the first call, so a job that reports nothing costs no thread.
        self.idle = True
        self._thread: threading.Thread | None = None

    def log(self, line: str) -> None:
        with self._lock:
            self._lines.append(bounded(line, MAX_LOG_LINE))
        self.poke()

    def poke(self) -> None:
        """Wake the writer (starting it on first use) if it is idle; costs one attribute read otherwise."""
        if self.idle:
            self.idle = False
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="spool-progress", daemon=True)
                    self._thread.start()
            self._wake.set()

    def _run(self) -> None:
        # When the next write may start: writes start an interval apart, counted from start to
        # start so that a job reporting at exactly that rate is not delayed a little more each time.
        due = 0.0
        began = float("-inf")  # when the last write started
        burst = None  # when a write after a quiet spell started, until the write after it
        while not self._stop.is_set():
            self.idle = True
            quiet = began == float("-inf")  # the job's first call
            # Checked after raising `idle`, so an update made just before is not left waiting.
            if self.pending is self._sent and not self._lines and not self.output.pending:
                self._wake.wait()
                quiet = time.monotonic() - began >= self.interval
            self.idle = False
            self._wake.clear()
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            if self.pending is self._sent and not self._lines and not self.output.pending:
                continue  # woken for an update the last write took already: no write, no turn used
            began = time.monotonic()
            # The first call after a quiet spell wakes the writer, which may write before the
            # calls made with it (log lines, then progress) are in: the write after it may start
            # at once, so the rest of that burst is not an interval late. Those two take two
            # intervals' turns, so a flood still costs one write an interval in any second.
            if quiet:
                due, burst = began, began
            elif burst is not None:
                due, burst = max(burst + 2 * self.interval, began + self.interval), None
            else:
                due = began + self.interval
            try:
                self.flush()
            except Exception:  # Redis away for a moment: the next tick or close() retries.
                _log.warning("Job %s: a progress write failed; retrying", self.job.id, exc_info=True)
                self._sent = None

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            pending = self.pending
        if len(lines) > MAX_LOG_LINES_PER_FLUSH:
            skipped = len(lines) - MAX_LOG_LINES_PER_FLUSH + 1
            lines = [f"… {skipped} lines not shown"] + lines[-MAX_LOG_LINES_PER_FLUSH + 1 :]
        connection = self.job.connection
        with connection.pipeline(transaction=False) as pipe:
            for line in lines:
                events.publish(connection, self.target, {"type": "log", "line": line}, log_line=line, pipeline=pipe)
            if pending is not None and pending is not self._sent:
                self._progress(pending, pipe)
            taken = self.output.take(files.kept_for(self.job))
            if taken is not None:
                store, event = taken
                events.publish(connection, self.target, event, output=store, pipeline=pipe)
            try:
                pipe.execute()
            except Exception:
                if taken is not None:
                    self.output.give_back()
                raise
        self._sent = pending

    def _progress(self, pending: tuple, pipe) -> None:
        if self.part is not None:
            done, total, _message = pending
            parts.roll_up(pipe, self.target, self.part, done, total, files.kept_for(self.job))
            return
        state = self._state(*pending)
        self.job.meta["progress"] = state
        events.publish(
            self.job.connection, self.job.id, {"type": "progress", **state}, meta=self.job.meta, pipeline=pipe
        )

    def finished(self) -> None:
        """The job's function returned: a part counts whole in its parent's bar."""
        if self.part is not None:
            self.pending = (1, 1, None)

    def _state(self, done: float, total: float | None, message: str | None) -> dict:
        elapsed = time.monotonic() - self.started
        percent = eta = None
        if total:
            percent = round(100 * min(max(done / total, 0.0), 1.0), 1)
            eta = self.eta.estimate(done, total, time.monotonic())
        return {
            "done": done,
            "total": total,
            "percent": percent,
            "message": None if message is None else bounded(message, MAX_MESSAGE),
            "eta_s": eta,
            "elapsed_s": round(elapsed, 1),
            "updated_at": time.time(),
        }

    def close(self) -> None:
        """Stop the thread and write whatever is still pending."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        while self.output.pending:  # a flood of rows goes out a few hundred an event
            self.flush()


_current: Reporter | None = None


def start(job) -> Reporter:
    global _current
    _current = Reporter(job)
    return _current


def finish() -> None:
    global _current
    reporter, _current = _current, None
    if reporter is not None:
        reporter.close()


def progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """Report how far the job is: `done` of `total` units, with an optional message."""
    reporter = _current
    if reporter is not None:
        reporter.pending = (done, total, message)
        if reporter.idle:
            reporter.poke()


def log(line: str) -> None:
    """Add a line to the job's log, shown live on its page."""
    reporter = _current
    if reporter is not None:
        reporter.log(line)


def emit(
    row: list | tuple | None = None,
    *,
    rows: list | None = None,
    columns: list[str] | None = None,
    text: str | None = None,
    values: dict | None = None,
) -> None:
    """Add to the job's result as it runs: a table row (or `rows`) under `columns`, `text` to
    append, or named `values` that each replace their last; shown live on its page."""
    reporter = _current
    if reporter is None:
        return
    added = rows if row is None else (row,) if rows is None else [row, *rows]
    for note in reporter.output.add(added or (), columns, text, values):
        reporter.log(note)
    if reporter.idle:
        reporter.poke()
