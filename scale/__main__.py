"""Build the test hosts and print Spool's figures on them: `python -m scale [--quick]` (`make scale`)."""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from bench.report import TABLE_HEAD, Figure, header, load
from scale.hosts import why_not_available

MEASURES = ("throughput", "tls_cost", "failover")  # the failover last: it kills the primary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scale", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs (for trying the harness)")
    args = parser.parse_args(argv)
    if reason := why_not_available():
        print(f"cannot build test hosts: {reason}", file=sys.stderr)
        return 2
    from scale import figures
    from scale.cluster import Cluster

    print(header() + f"\n\nMode: {'quick' if args.quick else 'full'}.\n", flush=True)
    found: list[Figure] = []
    failures = []
    with Cluster(workers=4) as cluster:
        for name in MEASURES:
            print(f"== {name}", flush=True)
            started = time.monotonic()
            try:
                these = getattr(figures, name)(cluster, args.quick)
            except Exception:
                failures.append(name)
                traceback.print_exc()
                print(cluster.exited())
                these = [Figure(name, float("nan"), "", note="failed; see its traceback")]
            for figure in these:
                print("  " + figure.row(), flush=True)
            print(f"  ({time.monotonic() - started:.0f} s, load average now {load()})", flush=True)
            found += these
    print("\n" + "\n".join([TABLE_HEAD, *(f.row() for f in found)]) + f"\n\nLoad average at the end: {load()}.")
    missed = [f.name for f in found if f.ok is False]
    if missed:
        print(f"Missed: {'; '.join(missed)}.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
