"""Email when a job ends (jobs.core.notify), through a real SMTP server (aiosmtpd) on loopback
and real workers."""

from __future__ import annotations

import re
import ssl

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from rq.job import Job
from rq.serializers import JSONSerializer

from jobs.core import confirmations, keys, notify
from jobs.core.queue import queue
from tests.clients import Api, csrf_token
from tests.helpers import wait_for
from tests.mail import receiving

BASE_URL = "http://spool.example"


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


def owner_of(client) -> str:
    """The anonymous owner a test client's cookie holds (given it by its first request)."""
    client.get("/")
    with client.session_transaction() as session:
        return session["owner"]


def with_confirmed(client, redis, address: str = "ana@example.com"):
    """The client, with `address` confirmed for its owner as following the emailed link does."""
    confirmations.remember(redis, owner_of(client), address)
    return client


@pytest.fixture
def mail_client(make_app, inbox, redis):
    return with_confirmed(make_app(SMTP_URL=inbox.url).test_client(), redis)


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
    client = with_confirmed(make_app(SMTP_URL=tls_inbox.url).test_client(), redis)
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


def _email_jobs(redis, name: str) -> list[Job]:
    """Every email job of one kind enqueued so far, queued, running or done."""
    q = queue("default", redis)
    ids = q.get_job_ids() + q.started_job_registry.get_job_ids() + q.finished_job_registry.get_job_ids()
    return [
        j for j in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer) if j and j.func_name.endswith(name)
    ]


def _post_confirm(browser, path: str):
    """Press the confirmation page's button, as a browser does with the page's CSRF token."""
    page = browser.get(path)
    assert page.status_code == 200 and 'id="confirm-email"' in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return browser.post(path, data={"csrf_token": token})


def test_an_unconfirmed_address_gets_one_link_and_job_emails_only_once_it_is_followed(
    make_app, mail_worker, inbox, redis
):
    app = make_app(SMTP_URL=inbox.url, BASE_URL=BASE_URL)
    client = app.test_client()
    api = Api(client)
    first = client.post("/api/jobs", json={"type": "steps", "params": {"n": 1}, "notify_email": "ana@example.com"})
    notice = first.get_json()["notify"]
    assert (notice["address"], notice["confirmed"]) == ("ana@example.com", False)
    assert "link to confirm" in notice["message"]
    jobs = [first.get_json()["id"], submit(client, "steps", n=1)]
    for job_id in jobs:
        api.wait_status(job_id, "finished")
    wait_for(lambda: len(_email_outcomes(redis)) == 2 and inbox.messages, 30, "the email jobs and the link")
    assert _email_outcomes(redis) == [{"sent": False, "reason": "the address is not confirmed yet"}] * 2
    assert len(_email_jobs(redis, "send_confirmation_email")) == 1
    ((_, link_mail),) = inbox.messages
    assert link_mail["To"] == "ana@example.com" and "confirm" in link_mail["Subject"]
    link = re.search(rf"{re.escape(BASE_URL)}(/email/confirm/\S+)", link_mail.get_content()).group(1)
    owner = owner_of(client)
    browser = app.test_client()  # the mail may be opened anywhere: the link names the owner
    assert browser.post(link).status_code == 400  # no CSRF token: a scanner's POST does nothing
    assert not confirmations.is_confirmed(redis, owner, "ana@example.com")  # nor did the GETs
    confirmed = _post_confirm(browser, link)
    assert confirmed.status_code == 200 and 'id="confirmed"' in confirmed.get_data(as_text=True)
    assert confirmations.is_confirmed(redis, owner, "ana@example.com")
    job_id = submit(client, "steps", n=1)
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the job email, now the address is confirmed")
    assert [m["Subject"].endswith("is done") for _, m in inbox.messages] == [False, True]


def test_a_trusted_identity_s_own_address_needs_no_confirmation(make_app, mail_worker, inbox, redis):
    app = make_app(SMTP_URL=inbox.url, TRUSTED_USER_HEADER="X-Forwarded-User", TRUSTED_EMAIL_HEADER="X-Forwarded-Email")
    client = app.test_client()
    client.environ_base.update(
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_USER": "ana", "HTTP_X_FORWARDED_EMAIL": "Ana@Example.com"}
    )
    answer = client.post("/api/jobs", json={"type": "steps", "params": {"n": 1}, "notify_email": "ana@example.com"})
    assert answer.get_json()["notify"]["confirmed"] is True
    job_id = answer.get_json()["id"]
    wait_for(lambda: sent(redis, job_id, "finished"), 30, "the job email")
    assert [m["To"] for _, m in inbox.messages] == ["ana@example.com"]
    assert _email_jobs(redis, "send_confirmation_email") == []


class _LongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return super().get_timestamp() - confirmations.LINK_MAX_AGE - 60


@pytest.mark.parametrize(
    "make_token, says",
    [
        (lambda key: URLSafeTimedSerializer("another key", salt="confirm-email").dumps(PAYLOAD), "not valid"),
        (lambda key: URLSafeTimedSerializer(key, salt="confirm-email").dumps(PAYLOAD)[:-2] + "xx", "not valid"),
        (lambda key: URLSafeTimedSerializer(key, salt="confirm-email", signer=_LongAgo).dumps(PAYLOAD), "expired"),
    ],
    ids=["forged", "mangled", "expired"],
)
def test_a_forged_or_expired_link_is_refused(mail_client, redis, make_token, says):
    path = f"/email/confirm/{make_token(mail_client.application.config['SECRET_KEY'])}"
    for response in (mail_client.get(path), mail_client.post(path, data={"csrf_token": csrf_token(mail_client)})):
        assert response.status_code == 400 and says in response.get_data(as_text=True)
    assert not confirmations.is_confirmed(redis, "someone", "eve@example.com")


PAYLOAD = {"owner": "someone", "address": "eve@example.com"}


def test_the_form_says_a_link_was_sent_for_an_unconfirmed_address(make_app, inbox):
    client = make_app(SMTP_URL=inbox.url).test_client()
    form = {"csrf_token": csrf_token(client), "n": "1", "notify_email": "bo@example.com"}
    page = client.post("/jobs/new/steps", data=form, follow_redirects=True)
    assert page.status_code == 200 and "a link to confirm it was emailed to it" in page.get_data(as_text=True)
