"""Signed webhooks, on a real worker posting to a real HTTPS receiver in the test process."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import Queue

from jobs.core import keys, webhooks
from jobs.core.job import SpoolJob
from jobs.core.queue import queue
from tests.clients import Api
from tests.helpers import wait_for

SECRET = "whsec-test-0123456789"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does: the README's snippet, word for word."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    mac = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, fields["v1"]) and abs(time.time() - int(fields["t"])) <= tolerance


class Receiver(ThreadingHTTPServer):
    """An HTTPS endpoint that records every POST and answers each path from a script of statuses
    (the last one repeating); `/moved` redirects to `/landed`."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext):
        self.received: list[dict] = []
        self.answers: dict[str, list[int]] = {}
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler):  # noqa: N805 (the server is `self` here)
                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                with self.lock:
                    self.received.append({"path": handler.path, "headers": dict(handler.headers), "body": body})
                    script = self.answers.get(handler.path, [200])
                    answer = script.pop(0) if len(script) > 1 else script[0]
                handler.send_response(answer)
                if handler.path == "/moved":
                    handler.send_header("Location", "/landed")
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.url = f"https://localhost:{self.server_port}"

    def at(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.received if r["path"] == path]


@pytest.fixture
def receiver(tls_cert):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    server = Receiver(context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_SECRET=SECRET)


@pytest.fixture
def hook_worker(start_worker, tls_cert):
    return start_worker(env={"WEBHOOK_SECRET": SECRET, "SSL_CERT_FILE": str(tls_cert[0])})


def submit(client, job_type: str, url: str, **extra) -> str:
    body = {"type": job_type, "params": extra.pop("params", {}), "webhook_url": url, **extra}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def drained(redis) -> bool:
    """Whether the default queue has nothing waiting, running or scheduled (deliveries included)."""
    q = Queue("default", connection=redis)
    return not (q.count or q.started_job_registry.count or q.scheduled_job_registry.count)


def test_a_finished_job_s_snapshot_is_signed_and_reaches_a_receiver_that_failed_first(
    client, api, redis, receiver, hook_worker
):
    receiver.answers["/flaky"] = [500, 200]
    job_id = submit(client, "steps", receiver.url + "/flaky", params={"n": 3})
    first, second = wait_for(lambda: receiver.at("/flaky")[1:] and receiver.at("/flaky"), 30, "a second delivery")
    for attempt in (first, second):
        assert verify(SECRET, attempt["headers"]["Spool-Signature"], attempt["body"])
        assert not verify("another secret", attempt["headers"]["Spool-Signature"], attempt["body"])
    assert first["headers"]["Spool-Delivery"] == second["headers"]["Spool-Delivery"]
    assert json.loads(second["body"]) == api.job(job_id)  # the very snapshot the API shows
    assert json.loads(second["body"])["result"] == {"steps": 3}

    # Announced again (a restarted worker, say): nothing more is queued.
    ended = SpoolJob.fetch(job_id, connection=redis)
    webhooks.ended(redis, ended, "finished")
    assert queue("default", redis).count == 0
    # A sending job that runs again after its delivery went through sends nothing.
    again = queue("default", redis).enqueue_call(
        webhooks.send_webhook, kwargs={"job_id": job_id, "outcome": "finished"}
    )
    assert wait_for(lambda: again.get_status(refresh=True) == "finished" and again.return_value(), 20)["sent"] is False
    assert len(receiver.at("/flaky")) == 2


def test_failed_stopped_and_canceled_jobs_deliver_once_each_and_a_retried_one_only_at_its_end(
    client, api, redis, receiver, hook_worker, tmp_path
):
    failed = submit(client, "fail", receiver.url + "/ends")
    retried = submit(client, "attempts", receiver.url + "/ends", params={"marker_dir": str(tmp_path), "fail": 1})
    running = submit(client, "block", receiver.url + "/ends", params={"seconds": 60})
    waiting = submit(client, "steps", receiver.url + "/ends", run_in=600)
    api.wait_status(running, "started")
    assert client.delete(f"/api/jobs/{running}").status_code == 202
    assert client.delete(f"/api/jobs/{waiting}").status_code == 202

    def outcomes():
        return {json.loads(r["body"])["id"]: json.loads(r["body"])["status"] for r in receiver.at("/ends")}

    expected = {failed: "failed", retried: "finished", running: "stopped", waiting: "canceled"}
    wait_for(lambda: outcomes() == expected, 30, f"deliveries of {expected}, got {outcomes()}")
    wait_for(lambda: drained(redis), 30, "every delivery to be done")
    assert len(receiver.at("/ends")) == 4
    assert all(verify(SECRET, r["headers"]["Spool-Signature"], r["body"]) for r in receiver.at("/ends"))
    assert len({r["headers"]["Spool-Delivery"] for r in receiver.at("/ends")}) == 4
    assert redis.exists(keys.webhook_key(failed, "failed", "sent"))


def test_a_redirect_is_not_followed(receiver, monkeypatch, tls_cert):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cert[0]))
    receiver.answers["/moved"] = [302]
    assert webhooks.post(receiver.url + "/moved", b"{}", {"Content-Type": "application/json"}) == 302
    assert receiver.at("/moved") and not receiver.at("/landed")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://10.0.0.7/hook",
        "ftp://example.com/hook",
        "not a url",
        "https://" + "a" * 2000 + ".com/",
        42,
    ],
)
def test_a_webhook_url_to_a_private_address_or_not_a_url_is_400_naming_it(make_app, url):
    client = make_app(WEBHOOK_SECRET=SECRET, ALLOW_PRIVATE_URLS=False).test_client()
    response = client.post("/api/jobs", json={"type": "steps", "params": {}, "webhook_url": url})
    assert response.status_code == 400
    assert "webhook_url" in response.get_json()["error"]["fields"]


def test_production_takes_only_https_webhooks(make_app):
    production = dict(PRODUCTION=True, SECRET_KEY="k" + "0123456789abcdef" * 3, OPERATOR_PASSWORD="a long pass phrase")
    client = make_app(WEBHOOK_SECRET=SECRET, ALLOW_PRIVATE_URLS=False, **production).test_client()
    response = client.post("/api/jobs", json={"type": "steps", "params": {}, "webhook_url": "http://example.com/"})
    assert response.status_code == 400
    assert "https" in response.get_json()["error"]["fields"]["webhook_url"]


def test_without_a_webhook_secret_a_webhook_url_is_refused(make_app):
    client = make_app(WEBHOOK_SECRET="").test_client()
    response = client.post("/api/jobs", json={"type": "steps", "params": {}, "webhook_url": "https://example.com/"})
    assert response.status_code == 400
    assert "WEBHOOK_SECRET" in response.get_json()["error"]["fields"]["webhook_url"]


def test_a_multipart_submit_s_webhook_url_is_checked_too(make_app):
    client = make_app(WEBHOOK_SECRET=SECRET, ALLOW_PRIVATE_URLS=False).test_client()
    api = Api(client)
    data = {"type": "steps", "params": "{}", "webhook_url": "https://192.168.1.1/hook"}
    response = client.post(
        "/api/jobs", data=data, content_type="multipart/form-data", headers={"X-CSRFToken": api.csrf_token()}
    )
    assert response.status_code == 400
    assert "non-public address" in response.get_json()["error"]["fields"]["webhook_url"]
