"""Build the test hosts and print Spool's figures on them: `python -m scale [--quick]` (`make scale`)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import traceback

from bench.report import TABLE_HEAD, Figure, header, load
from scale.hosts import why_not_available

MEASURES = ("throughput", "tls_cost", "failover")  # the failover last: it kills the primary


def _versions() -> str:
    """The Redis, Sentinel and haproxy the hosts run (the header names the venv's redis-server)."""
    from scale.redis_hosts import binary

    found = []
    for name, flag in (("redis-server", "--version"), ("haproxy", "-v")):
        out = subprocess.run([binary(name) or name, flag], capture_output=True, text=True).stdout.split("\n")[0]
        found.append(" ".join(out.split()[:3]))
    return ", ".join(found)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scale", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs (for trying the harness)")
    args = parser.parse_args(argv)
    if reason := why_not_available():
        print(f"cannot build test hosts: {reason}", file=sys.stderr)
        return 2
    from scale import figures
    from scale.cluster import Cluster

    print(header() + f"\n\nOn the test hosts: {_versions()}. Mode: {'quick' if args.quick else 'full'}.\n", flush=True)
    found: list[Figure] = []
    failures = []
    with Cluster(workers=4, slow_delay=0.5) as cluster:
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
