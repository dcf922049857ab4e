"""Fan-out: check_links over 2,000 URLs on slow local servers, with 1, 2 and 4 workers.

A link check of more than a few hundred URLs is spread over the workers a chunk a part
(jobs.builtin.links, jobs.core.fanout). The URLs point at local HTTP servers that hold each
answer for a while, so a check is bound by waiting, as on the web, not by this machine. The
figure is the job's time from enqueue to its merged result, each worker count against one
worker in the same run: the speedup, with a target of 3.5× at four workers.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.harness import Stack, wait_for
from bench.report import Figure, median
from jobs.core.keys import Meta
from jobs.core.queue import queue

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


def _check(stack: Stack, urls: list[str]) -> float:
    """Seconds from enqueueing one link check to its merged result."""
    sent = time.monotonic()
    job = queue("default", stack.redis).enqueue_call(
        "jobs.builtin.links.check_links",
        kwargs={"urls": urls, "retries": 0, "timeout_s": 30},
        timeout="30m",
        meta=Meta(type="check_links", owner="bench").as_dict(),
    )
    wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), 600, "the link check", interval=0.02)
    took = time.monotonic() - sent
    if job.get_status() != "finished":
        raise RuntimeError(f"the link check failed: {job.latest_result().exc_string}")
    result = job.return_value()
    if result["ok"] != len(urls) or [row[0] for row in result["table"]["rows"]] != urls:
        raise RuntimeError(f"the link check's table is wrong: {result['ok']} of {len(urls)} ok")
    return took


def run(quick: bool) -> list[Figure]:
    reps, delay = (1, 0.05) if quick else (3, 0.2)
    servers = _servers(4, delay)
    urls = [f"http://127.0.0.1:{servers[i % 4].server_port}/{i}" for i in range(URLS)]
    times: dict[int, float] = {}
    try:
        with Stack() as stack:
            for count in (1, 2, 4):
                while len([p for p, _ in stack.procs if p.args[1:2] == ["worker.py"]]) < count:
                    stack.worker("default", SPOOL_ALLOW_PRIVATE_URLS="1")
                times[count] = median(_check(stack, urls) for _ in range(reps))
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    one = times[1]
    note = f"{URLS:,} URLs answering after {delay * 1000:.0f} ms, 8 requests at once per part"
    return [
        Figure("check_links: 2,000 URLs on one worker", one, "s", note=note),
        Figure("check_links: speedup with 2 workers", one / times[2], "×", target="≥ 1.8×", ok=one / times[2] >= 1.8),
        Figure("check_links: speedup with 4 workers", one / times[4], "×", target="≥ 3.5×", ok=one / times[4] >= 3.5),
    ]
