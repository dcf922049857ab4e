"""The suite's fixtures, on real parts: a redis-server on a free port, real worker processes, a
real gunicorn web server and a real clock. Nothing is faked.

    def test_submitted_job_runs_to_its_result(api, worker):
        job = api.wait_status(api.submit("primes", limit=1_000_000), "finished", "failed")

Where the rest lives:

    tests/environment.py   the environment every process shares (imported here, before Spool)
    tests/processes.py     RedisServer, WorkerProcess, LiveServer, Clock: the real processes
    tests/clients.py       Api, Browser, OperatorLogin: how a test talks to Spool
    tests/helpers.py       wait_for, free_port, markers: plain functions any test may import
    tests/job_fixtures.py  job types that exist only for the tests
    tests/faults/          crashes, deploys, restarts (their conftest adds fast workers, own Redis)
    tests/browser/         headless Chromium (its conftest adds the browser fixtures)
"""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from tests.clients import OPERATOR_PASSWORD, Api, Browser, OperatorLogin
from tests.environment import REDIS_PORT, REDIS_URL, VAR
from tests.processes import Clock, LiveServer, Process, RedisServer, WorkerProcess


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer(REDIS_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    """A client on a flushed database."""
    client = redis_server.client()
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def make_app(redis):
    """Build the web app on the flushed database, with `config` over the test configuration."""
    from webapp import create_app

    def make(**config):
        return create_app({"TESTING": True, "REDIS_URL": REDIS_URL, **config})

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def other_client(app):
    """A second browser: another owner."""
    return app.test_client()


@pytest.fixture
def api(client):
    """The JSON API as `client` calls it: `api.submit(type, **params)`, `api.wait_status(id, *statuses)`."""
    return Api(client)


@pytest.fixture
def other_api(other_client):
    """The JSON API as `other_client`, another owner, calls it."""
    return Api(other_client)


@pytest.fixture
def operator_password(app) -> str:
    """The operator password, set on the app."""
    app.config["OPERATOR_PASSWORD"] = OPERATOR_PASSWORD
    return OPERATOR_PASSWORD


@pytest.fixture
def operator_login(client, operator_password):
    """The operator sign-in for `client`: `operator_login.sign_in()`, `operator_login.sign_out()`."""
    return OperatorLogin(client, operator_password)


@pytest.fixture
def operator(app, operator_password):
    """A browser signed in as an operator."""
    client = app.test_client()
    assert OperatorLogin(client, operator_password).sign_in().status_code == 303
    return client


@pytest.fixture
def processes():
    """The processes a test starts; each is stopped at the end of the test."""
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.fixture
def start_worker(redis, processes):
    """Start real `python worker.py` processes, on the suite's Redis unless `env` gives another
    REDIS_URL; all are stopped at the end of the test."""

    def start(*queues: str, env: dict | None = None) -> WorkerProcess:
        processes.append(WorkerProcess(*queues, env=env))
        return processes[-1].wait_ready()

    return start


@pytest.fixture
def worker(start_worker):
    return start_worker()


@pytest.fixture
def start_web(redis_server, processes):
    """Start real gunicorn web servers (on `port`, or a free one), on the suite's Redis unless
    `env` gives another REDIS_URL; all are stopped at the end of the test."""

    def start(env: dict | None = None, port: int | None = None) -> LiveServer:
        processes.append(LiveServer(env, port))
        return processes[-1].wait_up()

    return start


@pytest.fixture(scope="session")
def live_server(redis_server):
    server = LiveServer().wait_up()
    yield server
    server.stop()


@pytest.fixture
def browser(live_server, redis):
    """A program acting as a browser on the live server (see tests.clients)."""
    browser = Browser(live_server)
    yield browser
    browser.close()


@pytest.fixture
def clock(redis, processes):
    """A real `rq cron` process on the project's schedule file, as the Procfile runs it."""
    processes.append(Clock(REDIS_URL))
    return processes[-1]


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


@pytest.fixture
def public_only(monkeypatch):
    """The link checker refusing non-public addresses, as it does outside the suite."""
    from jobs.builtin import links

    monkeypatch.setattr(links, "settings", dataclasses.replace(links.settings, allow_private_urls=False))
