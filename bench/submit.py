"""Submit: POST /api/jobs under gunicorn (as the Procfile runs it) with 16 connections,
against raw `Queue.enqueue` of the same function from one process, and against a bare Flask
route that calls `Queue.enqueue` under the same gunicorn (bench/plain_submit.py), which places
what Spool's own work costs. The three are measured in turn, in each of the runs.

Every check of a real submit runs: validation, the owner's cookie, the waiting-jobs quota (with a
limit the run never reaches, so that it is checked on every submit) and fair turns.

The load comes from wrk (a C load generator, `apt-get install wrk`) when it is installed,
since a Python client would take the cores the server needs; its CPU is reported.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import time

import requests
from rq import Queue

from bench.harness import Stack, cpu_seconds
from bench.report import Figure, median

CONNECTIONS = 16
# Far above what one run submits: the quota is checked on every submit, never refused.
QUOTA = 10_000_000
LUA = """
wrk.method = "POST"
wrk.body = '{"type": "noop", "params": {}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "%s"
"""


def raw_enqueue(stack: Stack, n: int) -> float:
    """Jobs per second that plain RQ enqueues from one process."""
    q = Queue("raw", connection=stack.redis)
    start = time.perf_counter()
    for _ in range(n):
        q.enqueue("bench.jobs.noop")
    return n / (time.perf_counter() - start)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(url: str, cookie: str, seconds: int, script_path) -> dict:
    script_path.write_text(LUA % cookie)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script_path), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    statuses = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if statuses:
        raise RuntimeError(f"{statuses.group(1)} submissions were refused:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "client_cpu": client_cpu / seconds,
    }


def run(quick: bool) -> list[Figure]:
    if not shutil.which("wrk"):
        return [
            Figure("submit", float("nan"), "req/s", note="not measured: wrk is not installed (apt-get install wrk)")
        ]
    reps, seconds, n_raw = (1, 3, 2000) if quick else (3, 8, 8000)
    raws, runs, plains, web_cpus = [], [], [], []
    with Stack() as stack:
        web = stack.web(workers=2, MAX_WAITING_PER_OWNER=QUOTA)
        plain = stack.web(workers=2, app="bench.plain_submit:create_app()")
        first = requests.post(web.url + "/api/jobs", json={"type": "noop", "params": {}}, timeout=5)
        first.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in first.cookies.items())
        for url in (web.url, plain.url):  # warm both web processes of each up
            wrk(url + "/api/jobs", cookie, 1, stack.dir / "post.lua")
        for _ in range(reps):
            stack.redis.flushdb()
            raws.append(raw_enqueue(stack, n_raw))
            stack.redis.flushdb()
            cpu_before = sum(cpu_seconds(pid) for pid in web.workers)
            runs.append(wrk(web.url + "/api/jobs", cookie, seconds, stack.dir / "post.lua"))
            web_cpus.append((sum(cpu_seconds(pid) for pid in web.workers) - cpu_before) / seconds)
            submitted = stack.redis.llen(Queue("default", connection=stack.redis).key)
            stack.redis.flushdb()
            plains.append(wrk(plain.url + "/api/jobs", "", seconds, stack.dir / "post.lua")["rps"])
    raw, rps, bare = median(raws), median(r["rps"] for r in runs), median(plains)
    p99 = median(r["p99"] for r in runs)
    note = (
        f"2 gevent web workers used {median(web_cpus):.2f} cores, {1e3 * median(web_cpus) / rps:.2f} ms a submit; "
        f"wrk (2 threads) used {median(r['client_cpu'] for r in runs):.2f} cores; the last run queued {submitted} jobs"
    )
    return [
        Figure(
            "submit: POST /api/jobs, 16 connections",
            rps,
            "jobs/s",
            raw,
            "raw Queue.enqueue, 1 process",
            "≥ 1.0×",
            rps / raw >= 1.0,
            note,
        ),
        Figure(
            "submit: against a bare Flask route calling Queue.enqueue",
            rps,
            "jobs/s",
            bare,
            "the same gunicorn, 2 gevent workers",
            note=f"the bare route is {bare / raw:.2f}× raw Queue.enqueue",
        ),
        Figure("submit: p99 latency", p99, "ms", target="< 25 ms", ok=p99 < 25),
        Figure("submit: p50 latency", median(r["p50"] for r in runs), "ms"),
    ]
