"""Measure Spool against raw RQ: `python -m bench [--quick] [name ...]` (`make bench` runs all).

Each benchmark starts its own redis-server, web and workers, measures Spool and its
baseline in the same run, and prints medians with their ratio and whether the target was
met. A full run (no names, not --quick) also writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.report import TABLE_HEAD, Figure, header, load

BENCHMARKS = {
    "submit": "POST /api/jobs under gunicorn against raw Queue.enqueue",
    "worker": "worker.py against plain rq worker; enqueue to body start",
    "progress": "cost of progress() in a tight loop; Redis writes per job",
    "live": "progress() to WebSocket clients, 100 and 1,000 sockets on one web process",
    "recovery": "SIGKILL of a worker to its job retried by another",
    "turns": "noisy neighbour: one owner's single job behind another's 1,000, fair turns against FIFO",
    "inference": "semantic_search through a worker against the model called directly",
    "fanout": "check_links over 2,000 slow URLs spread over 1, 2 and 4 workers: the speedup",
    "spread": "semantic_search of a large upload in parts on two one-core ml workers, against one worker",
    "search": "filtered search with 100,000 jobs kept, against an unfiltered page",
}
RESULTS = Path(__file__).with_name("RESULTS.md")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="name", help=", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="fewer, lighter repetitions (for trying the harness)")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    lines = [header(), "", f"Mode: {'quick' if args.quick else 'full'}; medians of repetitions.", ""]
    print("\n".join(lines), flush=True)
    figures: list[Figure] = []
    failures = []
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", flush=True)
        started = time.monotonic()
        try:
            found = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception:
            failures.append(name)
            traceback.print_exc()
            found = [Figure(name, float("nan"), "", note="the benchmark failed; see its traceback")]
        for figure in found:
            print("  " + figure.row(), flush=True)
        print(f"  ({time.monotonic() - started:.0f} s, load average now {load()})", flush=True)
        figures.extend(found)
    table = [TABLE_HEAD, *(f.row() for f in figures)]
    missed = [f.name for f in figures if f.ok is False]
    verdict = f"Missed: {'; '.join(missed)}." if missed else "Every target with a measurement was met."
    if failures:
        verdict += f" Failed to run: {', '.join(failures)}."
    print("\n" + "\n".join(table) + "\n\n" + verdict + f"\nLoad average at the end: {load()}.")
    if not args.names and not args.quick:
        body = ["# Benchmark results", "", *lines, *table, "", verdict, f"Load average at the end: {load()}.", ""]
        RESULTS.write_text("\n".join(body))
        print(f"written to {RESULTS}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
