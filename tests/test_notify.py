"""Email when a job ends (jobs.core.notify), through a real SMTP server (aiosmtpd) on loopback
and real workers."""

from __future__ import annotations

import ssl
from contextlib import contextmanager
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from rq.job import Job
from rq.serializers import JSONSerializer

from jobs.core import keys, notify
from jobs.core.queue import queue
from tests.clients import Api
from tests.helpers import free_port, wait_for

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


@contextmanager
def receiving(**tls):
    """An Inbox behind a real SMTP server on a free port of 127.0.0.1 (with `tls`: its TLS options)."""
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), authenticator=_login, auth_require_tls=False, **tls
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def inbox():
    with receiving() as (handler, port):
        handler.url = f"smtp://spool%40example:s3cret@127.0.0.1:{port}"
        yield handler


@pytest.fixture
def tls_inbox(tls_cert):
    """The same inbox behind implicit TLS (smtps://), with a certificate for localhost."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    with receiving(ssl_context=context, server_hostname="localhost") as (handler, port):
        handler.url = f"smtps://spool:s3cret@localhost:{port}"
        yield handler


@pytest.fixture
def mail_client(make_app, inbox):
    return make_app(SMTP_URL=inbox.url).test_client()


@pytest.fixture
def mail_api(mail_client):
    return Api(mail_client)


@pytest.fixture
def mail_worker(start_worker, inbox):
    return start_worker(env={"SMTP_URL": inbox.url, "BASE_URL": BASE_URL})


def submit(client, job_type, **params) -> str:
    """Submit a job that emails ana@example.com when it ends; return its id."""
    response = client.post("/api/jobs", json={"type": job_type, "params": params, "notify_email": "ana@example.com"})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def sent(redis, job_id: str, outcome: str) -> bool:
    return bool(redis.exists(keys.mail_key(job_id, outcome, "sent")))


def test_a_finished_job_sends_one_email_with_a_link(mail_client, mail_api, mail_worker, inbox, redis):
    job_id = submit(mail_client, "steps", n=2)
    mail_api.wait_status(job_id, "finished")
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the email job to finish")
    assert len(inbox.messages) == 1
    authenticated, message = inbox.messages[0]
    assert authenticated
    assert message["To"] == "ana@example.com"
    assert "is done" in message["Subject"]
    assert f"{BASE_URL}/jobs/{job_id}" in message.get_content()


def test_failed_and_stopped_jobs_say_so(mail_client, mail_api, mail_worker, inbox, redis):
    failed = submit(mail_client, "fail", message="the input was odd")
    wait_for(lambda: sent(redis, failed, "failed"), 30, "the failure email")
    stopped = submit(mail_client, "block", seconds=60)
    mail_api.wait_status(stopped, "started")
    assert mail_client.delete(f"/api/jobs/{stopped}").status_code == 202
    wait_for(lambda: sent(redis, stopped, "stopped"), 30, "the stop email")
    subjects = {m["Subject"]: m.get_content() for _, m in inbox.messages}
    assert len(subjects) == 2
    failure = next(body for subject, body in subjects.items() if subject.endswith("failed"))
    # The error sentence came from the submitter's data: the mail says where to read it instead.
    assert "the input was odd" not in failure and "Its page says why." in failure
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
    ended = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
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


@pytest.mark.parametrize(
    "address",
    [
        "not-an-address",
        "a@b",
        "x@example.com\r\nBcc: y@example.com",
        5,
        "anä@example.com",  # not ASCII: most mail servers refuse it, after six tries
        "moc.elpmaxe@\u202eana",  # a right-to-left override that reverses what the owner reads
        "ana\u202e@example.com",
    ],
)
def test_a_bad_address_is_422(mail_client, address):
    response = mail_client.post("/api/jobs", json={"type": "steps", "params": {}, "notify_email": address})
    assert response.status_code == 422
    assert "notify_email" in response.get_json()["error"]["fields"]


def test_the_form_offers_email_when_smtp_is_configured(mail_client):
    assert 'name="notify_email"' in mail_client.get("/jobs/new/steps").get_data(as_text=True)


def test_the_api_description_offers_email_exactly_when_the_form_does(client, mail_client):
    def offered(c) -> bool:
        schema = c.get("/api/openapi.json").get_json()["components"]["schemas"]["Submit_steps"]
        return "notify_email" in schema["properties"]

    assert not offered(client)
    assert offered(mail_client)


def test_no_email_without_an_address(mail_api, mail_worker, inbox, redis):
    job_id = mail_api.submit("steps", n=1)
    mail_api.wait_status(job_id, "finished")
    assert not redis.keys(keys.mail_key("*", "*", "*"))
    assert inbox.messages == []


def test_smtps_with_login_delivers(redis, make_app, start_worker, tls_inbox, tls_cert):
    client = make_app(SMTP_URL=tls_inbox.url).test_client()
    start_worker(env={"SMTP_URL": tls_inbox.url, "SSL_CERT_FILE": str(tls_cert[0])})
    job_id = submit(client, "steps", n=1)
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the email over smtps")
    ((authenticated, message),) = tls_inbox.messages
    assert authenticated and message["To"] == "ana@example.com"


def _email_outcomes(redis) -> list[dict]:
    """What each finished email job answered."""
    registry = queue("default", redis).finished_job_registry
    jobs = Job.fetch_many(registry.get_job_ids(), connection=redis, serializer=JSONSerializer)
    return [j.return_value() for j in jobs if j and j.func_name.endswith("send_job_email")]


def test_an_owner_and_a_recipient_get_at_most_a_few_emails_an_hour(mail_client, mail_api, start_worker, inbox, redis):
    start_worker(env={"SMTP_URL": inbox.url, "MAIL_PER_HOUR": "2"})
    for job_id in [submit(mail_client, "steps", n=1) for _ in range(3)]:
        mail_api.wait_status(job_id, "finished")
    wait_for(lambda: len(_email_outcomes(redis)) == 3, 30, "three email jobs to end")
    outcomes = _email_outcomes(redis)
    assert sorted(o["sent"] for o in outcomes) == [False, True, True]
    assert "2 emails this hour" in next(o["reason"] for o in outcomes if not o["sent"])
    assert len(inbox.messages) == 2
