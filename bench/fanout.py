"""Fan-out: check_links over 2,000 URLs on slow local servers, with 1, 2 and 4 workers.

A link check of more than a few hundred URLs is spread over the workers a chunk a part
(jobs.builtin.links, jobs.core.fanout). The URLs point at local HTTP servers that hold each
answer for a while, so a check is bound by waiting, as on the web, not by this machine. The
figure is the job's time from enqueue to its merged result, each worker count against one
worker in the same run: the speedup, with a target of 3.5× at four workers. Beside it, where
the time went at four workers: the parts' own run time (a part's 100 URLs at 8 at once are
13 rounds of the servers' delay), the gaps between a worker's parts, the merge, and the CPU
that the workers (their work horses included) and this process (the servers) used.
"""

from __future__ import annotations

import resource
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.harness import CLK_TCK, Stack, run_to_end
from bench.report import Figure, median
from jobs.core import parts
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta

URLS = 2000


class Slow(BaseHTTPRequestHandler):
    """Answers every GET after the server's `delay`, as a slow site does."""

    def do_GET(self):
        time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _servers(count: int, delay: float) -> list[ThreadingHTTPServer]:
    servers = []
    for _ in range(count):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
        server.daemon_threads, server.delay = True, delay
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def _cpu(pids: list[int]) -> tuple[float, float]:
    """CPU seconds of processes and of their children that ended (a worker's work horses)."""
    total = resource.getrusage(resource.RUSAGE_SELF)
    own = total.ru_utime + total.ru_stime
    workers = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        workers += sum(int(f) for f in fields[11:15]) / CLK_TCK
    return workers, own


def _where(stack: Stack, job, took: float, count: int) -> dict:
    """Where a fanned-out check's time went: the parts' run times, the merge, the rest."""
    job.refresh()
    plan = Meta.of(job).fan_out
    if not plan:
        return {}
    found = SpoolJob.fetch_many(parts.part_ids(job.id, plan["parts"]), connection=stack.redis)
    runs = [(p.ended_at - p.started_at).total_seconds() for p in found]
    return {
        "parts": len(runs),
        "part_s": median(runs),
        "part_range": f"{min(runs):.2f}–{max(runs):.2f}",
        "busy": sum(runs) / count / took,  # the share of the workers' time spent inside parts
        "merge_s": (job.ended_at - job.started_at).total_seconds(),
    }


def _check(stack: Stack, urls: list[str]):
    """Seconds from enqueueing one link check to its merged result, and the job."""
    kwargs = {"urls": urls, "retries": 0, "timeout_s": 30}
    took, job = run_to_end(stack, "default", "check_links", kwargs, 600, "the link check")
    result = job.return_value()
    if result["ok"] != len(urls) or [row[0] for row in result["table"]["rows"]] != urls:
        raise RuntimeError(f"the link check's table is wrong: {result['ok']} of {len(urls)} ok")
    return took, job


def run(quick: bool) -> list[Figure]:
    reps, delay = (1, 0.05) if quick else (3, 0.2)
    servers = _servers(4, delay)
    urls = [f"http://127.0.0.1:{servers[i % 4].server_port}/{i}" for i in range(URLS)]
    times: dict[int, float] = {}
    where = ""
    try:
        with Stack() as stack:
            for count in (1, 2, 4):
                while len(workers := [p for p, _ in stack.procs if p.args[1:2] == ["worker.py"]]) < count:
                    stack.worker("default", SPOOL_ALLOW_PRIVATE_URLS="1")
                spent = []
                for _ in range(reps):
                    cpu_before = _cpu([w.pid for w in workers])
                    took, job = _check(stack, urls)
                    cpu_after = _cpu([w.pid for w in workers])
                    spent.append((took, job, [b - a for a, b in zip(cpu_before, cpu_after, strict=True)]))
                times[count] = median(t for t, _, _ in spent)
                if count == 4:
                    took, job, (worker_cpu, own_cpu) = sorted(spent, key=lambda s: s[0])[len(spent) // 2]
                    w = _where(stack, job, took, count)
                    where = (
                        f"at 4 workers: {w['parts']} parts of {w['part_s']:.2f} s ({w['part_range']}) each "
                        f"(13 rounds of {delay * 1000:.0f} ms: {13 * delay:.2f} s), workers inside parts "
                        f"{w['busy']:.0%} of the time, merge {w['merge_s']:.2f} s; CPU: workers {worker_cpu:.1f} s, "
                        f"servers and this process {own_cpu:.1f} s, of {took * 2:.0f} core-seconds"
                    )
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    one = times[1]
    note = f"{URLS:,} URLs answering after {delay * 1000:.0f} ms, 8 requests at once per part"
    return [
        Figure("check_links: 2,000 URLs on one worker", one, "s", note=note),
        Figure("check_links: speedup with 2 workers", one / times[2], "×", target="≥ 1.8×", ok=one / times[2] >= 1.8),
        Figure(
            "check_links: speedup with 4 workers",
            one / times[4],
            "×",
            target="≥ 3.5×",
            ok=one / times[4] >= 3.5,
            note=where,
        ),
    ]
