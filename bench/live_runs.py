"""The socket clients of the live benchmark, and what a series of runs sums up to: started as
processes of `bench.wsclient`, their counts and latencies merged, medians taken over runs.
"""

from __future__ import annotations

import json
import os
import subprocess

from bench.harness import PYTHON, Stack, Web, cpu_seconds
from bench.report import median, percentile


def clients(
    stack: Stack, web_url: str, cookie: str, job_ids: list[str], processes: int, peer: bool = False
) -> list[subprocess.Popen]:
    ws_url = web_url.replace("http://", "ws://")
    share = -(-len(job_ids) // processes)
    procs = []
    for start in range(0, len(job_ids), share):
        argv = [PYTHON, "-m", "bench.wsclient", *(["--socketio"] if peer else []), ws_url, cookie]
        argv += job_ids[start : start + share]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            raise RuntimeError(f"a socket client did not get ready (it said {line!r})")
    return procs


def collect(procs: list[subprocess.Popen], timeout: float) -> dict:
    merged = {"events": [], "finals": 0, "resyncs": 0, "latencies_ms": [], "cpu_s": []}
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("a socket client failed")
        data = json.loads(out.strip().splitlines()[-1])
        merged["events"] += data["events"]
        merged["finals"] += data["finals"]
        merged["resyncs"] += data["resyncs"]
        merged["latencies_ms"] += data["latencies_ms"]
        merged["cpu_s"].append(data["cpu_s"])
    return merged


def web_figures(stack: Stack, web: Web) -> tuple[int, float]:
    pid = web.workers[0]
    return pid, cpu_seconds(pid)


def summary(runs: list[dict]) -> dict:
    """Medians over repetitions of each run's own figures, with the spread of the latencies."""

    def per_run(run):
        delivered = sum(run["events"])
        least = min(run["events"]) / run["published"]
        return {
            "p50": percentile(run["latencies_ms"], 50),
            "p99": percentile(run["latencies_ms"], 99),
            "least_share": least,
            "finals": run["finals"] / run["sockets"],
            "rss": run["web_rss_mb"],
            "web_us_per_msg": run["web_cpu_s"] / max(delivered, 1) * 1e6,
            "web_cores": run["web_cpu_s"] / run["elapsed_s"],
            "client_cores": sum(run["cpu_s"]) / run["elapsed_s"],
            # One client process is one gevent loop: near a whole core, it delays what it reads.
            "busiest_client": max(run["cpu_s"]) / run["elapsed_s"],
            "resyncs": run["resyncs"],
        }

    figures = [per_run(r) for r in runs]
    return {k: median(f[k] for f in figures) for k in figures[0]} | {
        "worst_share": min(f["least_share"] for f in figures),
        "worst_finals": min(f["finals"] for f in figures),
        "runs": len(figures),
        **{f"{k}_range": (min(f[k] for f in figures), max(f[k] for f in figures)) for k in ("p50", "p99")},
        "busiest_client_max": max(f["busiest_client"] for f in figures),
    }


def spread(s: dict, key: str) -> str:
    low, high = s[f"{key}_range"]
    return f"{key} median {s[key]:.1f} ms ({low:.1f}–{high:.1f} over {s['runs']} runs)"


def limit(s: dict) -> str:
    """Whether the clients, not the server, may be what the latencies measure."""
    used = s["web_cores"] + s["client_cores"]
    cores = os.cpu_count() or 1
    if s["busiest_client_max"] >= 0.8:
        return f"client-bound: a client process used up to {s['busiest_client_max']:.2f} of a core"
    if used < 0.5 * cores:
        # Neither the server nor a client was busy, yet the latencies are what they are: the
        # machine's other work (its load average is in the header) held both back.
        return f"neither bound: web and clients used {used:.2f} of {cores} cores; the machine was busy elsewhere"
    return f"not client-bound: the busiest client process used at most {s['busiest_client_max']:.2f} of a core"
