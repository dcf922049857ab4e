"""Email when a job ends, through a real SMTP server (aiosmtpd) on loopback and real workers."""

from __future__ import annotations

import os
import ssl
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from rq.job import Job

from jobs import notify
from jobs.runtime import queue
from tests.conftest import api_submit, free_port, wait_for, wait_status

BASE_URL = "http://spool.example"


class Inbox:
    """An SMTP handler that keeps what it accepts, refusing the first `refuse` messages."""

    def __init__(self):
        self.messages = []
        self.attempts = 0
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.messages.append((session.authenticated, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret")


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), authenticator=_login, auth_require_tls=False
    )
    controller.start()
    handler.url = f"smtp://spool%40example:s3cret@127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def tls_inbox(tls_cert):
    """The same inbox behind implicit TLS (smtps://), with a certificate for localhost."""
    handler = Inbox()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_login,
        auth_require_tls=False,
        ssl_context=context,
        server_hostname="localhost",
    )
    controller.start()
    handler.url = f"smtps://spool:s3cret@localhost:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def mail_client(redis, inbox):
    from webapp import create_app

    app = create_app({"TESTING": True, "REDIS_URL": os.environ["REDIS_URL"], "SMTP_URL": inbox.url})
    return app.test_client()


@pytest.fixture
def mail_worker(start_worker, inbox):
    return start_worker(env={"SMTP_URL": inbox.url, "BASE_URL": BASE_URL})


def submit(client, job_type, **params) -> str:
    response = client.post("/api/jobs", json={"type": job_type, "params": params, "notify_email": "ana@example.com"})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def sent(redis, job_id: str, outcome: str) -> bool:
    return bool(redis.exists(f"spool:mail:{job_id}:{outcome}:sent"))


def test_a_finished_job_sends_one_email_with_a_link(mail_client, mail_worker, inbox, redis):
    job_id = submit(mail_client, "steps", n=2)
    wait_status(mail_client, job_id, "finished")
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the email job to finish")
    assert len(inbox.messages) == 1
    authenticated, message = inbox.messages[0]
    assert authenticated
    assert message["To"] == "ana@example.com"
    assert "is done" in message["Subject"]
    assert f"{BASE_URL}/jobs/{job_id}" in message.get_content()


def test_failed_and_stopped_jobs_say_so(mail_client, mail_worker, inbox, redis):
    failed = submit(mail_client, "fail", message="the input was odd")
    wait_for(lambda: sent(redis, failed, "failed"), 30, "the failure email")
    stopped = submit(mail_client, "block", seconds=60)
    wait_status(mail_client, stopped, "started")
    assert mail_client.delete(f"/api/jobs/{stopped}").status_code == 202
    wait_for(lambda: sent(redis, stopped, "stopped"), 30, "the stop email")
    subjects = {m["Subject"]: m.get_content() for _, m in inbox.messages}
    assert len(subjects) == 2
    failure = next(body for subject, body in subjects.items() if subject.endswith("failed"))
    assert "the input was odd" in failure
    assert any(subject.endswith("was stopped") for subject in subjects)


def test_a_retried_job_sends_one_email_for_its_last_attempt(mail_client, mail_worker, inbox, redis):
    job_id = submit(mail_client, "fail_retried")
    wait_for(lambda: sent(redis, job_id, "failed"), 30, "the failure email")
    assert Job.fetch(job_id, connection=redis).retries_left == 0
    assert len(inbox.messages) == 1


def test_a_refusing_server_gets_the_email_on_a_retry(mail_client, mail_worker, inbox, redis):
    inbox.refuse = 1
    job_id = submit(mail_client, "steps", n=1)
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the email to get through")
    assert inbox.attempts == 2
    assert len(inbox.messages) == 1


def test_callbacks_and_sends_that_run_again_send_nothing_more(mail_client, mail_worker, inbox, redis):
    job_id = submit(mail_client, "steps", n=1)
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the first email")
    ended = Job.fetch(job_id, connection=redis, serializer=notify.JSONSerializer)
    notify.on_success(ended, redis, None)  # as a worker restarted after the callback would
    again = queue("default", redis).enqueue_call(
        notify.send_job_email, kwargs={"job_id": job_id, "outcome": "finished"}
    )
    wait_for(lambda: again.get_status(refresh=True) == "finished", 30, "the repeated send to run")
    assert again.return_value() == {"sent": False, "reason": "already sent"}
    assert len(inbox.messages) == 1


def test_without_smtp_the_option_is_hidden_and_refused(client):
    assert "notify_email" not in client.get("/jobs/new/steps").get_data(as_text=True)
    response = client.post("/api/jobs", json={"type": "steps", "params": {}, "notify_email": "ana@example.com"})
    assert response.status_code == 422
    assert "not configured" in response.get_json()["error"]["fields"]["notify_email"]


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "x@example.com\r\nBcc: y@example.com", 5])
def test_a_bad_address_is_422(mail_client, address):
    response = mail_client.post("/api/jobs", json={"type": "steps", "params": {}, "notify_email": address})
    assert response.status_code == 422
    assert "notify_email" in response.get_json()["error"]["fields"]


def test_the_form_offers_email_when_smtp_is_configured(mail_client):
    assert 'name="notify_email"' in mail_client.get("/jobs/new/steps").get_data(as_text=True)


def test_no_email_without_an_address(mail_client, mail_worker, inbox, redis):
    job_id = api_submit(mail_client, "steps", n=1)
    wait_status(mail_client, job_id, "finished")
    assert not redis.keys("spool:mail:*")
    assert inbox.messages == []


def test_smtps_with_login_delivers(redis, start_worker, tls_inbox, tls_cert):
    from webapp import create_app

    client = create_app(
        {"TESTING": True, "REDIS_URL": os.environ["REDIS_URL"], "SMTP_URL": tls_inbox.url}
    ).test_client()
    start_worker(env={"SMTP_URL": tls_inbox.url, "SSL_CERT_FILE": str(tls_cert[0])})
    job_id = submit(client, "steps", n=1)
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the email over smtps")
    ((authenticated, message),) = tls_inbox.messages
    assert authenticated and message["To"] == "ana@example.com"
