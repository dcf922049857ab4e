"""Admission limits: waiting jobs per owner and new anonymous owners per address, at their edges."""

from __future__ import annotations

import pytest

from jobs.core import keys
from tests.clients import Api, csrf_token

PRIMES = {"type": "primes", "params": {"limit": 1000}}


def refused(response, limit_name: str) -> None:
    """Assert the answer is the over-quota 429, naming the limit and when to try again."""
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    if response.is_json:
        error = response.get_json()["error"]
        assert error["code"] == "over_quota" and limit_name in error["message"]
    else:
        assert limit_name in response.get_data(as_text=True)


@pytest.fixture
def limited(make_app):
    """A browser allowed three waiting jobs."""
    return make_app(MAX_WAITING_PER_OWNER=3).test_client()


def test_the_last_waiting_job_allowed_is_accepted_and_the_next_refused(limited):
    ids = [Api(limited).submit("primes", limit=1000) for _ in range(3)]
    refused(limited.post("/api/jobs", json=PRIMES), "MAX_WAITING_PER_OWNER")
    assert limited.get("/api/jobs").get_json()["total"] == 3
    assert limited.delete(f"/api/jobs/{ids[0]}").status_code == 202  # one less waiting: room for one
    assert limited.post("/api/jobs", json=PRIMES).status_code == 202
    refused(limited.post("/api/jobs", json=PRIMES), "MAX_WAITING_PER_OWNER")


def test_scheduled_jobs_count_as_waiting(limited):
    for _ in range(3):
        assert limited.post("/api/jobs", json={**PRIMES, "run_in": 3600}).status_code == 202
    refused(limited.post("/api/jobs", json=PRIMES), "MAX_WAITING_PER_OWNER")


def _contents(redis) -> dict:
    """Every key's type and value."""
    read = {b"hash": redis.hgetall, b"zset": lambda k: redis.zrange(k, 0, -1, withscores=True)}
    read.update({b"set": redis.smembers, b"list": lambda k: redis.lrange(k, 0, -1), b"string": redis.get})
    return {key: read[redis.type(key)](key) for key in redis.keys()}


def test_a_refused_submit_writes_nothing_now_or_scheduled(make_app, redis):
    browser = make_app(MAX_WAITING_PER_OWNER=1).test_client()
    assert browser.post("/api/jobs", json={**PRIMES, "run_in": 3600}).status_code == 202
    before = _contents(redis)
    refused(browser.post("/api/jobs", json={**PRIMES, "run_in": 3600}), "MAX_WAITING_PER_OWNER")
    refused(browser.post("/api/jobs", json=PRIMES), "MAX_WAITING_PER_OWNER")
    assert _contents(redis) == before


def test_run_again_and_a_new_idempotency_key_count_but_a_replay_does_not(limited):
    first = limited.post("/api/jobs", json=PRIMES, headers={"Idempotency-Key": "one"}).get_json()["id"]
    Api(limited).submit("primes", limit=1000)
    assert limited.post(f"/api/jobs/{first}/retry", json={}).status_code == 202
    refused(limited.post(f"/api/jobs/{first}/retry", json={}), "MAX_WAITING_PER_OWNER")
    refused(limited.post("/api/jobs", json=PRIMES, headers={"Idempotency-Key": "two"}), "MAX_WAITING_PER_OWNER")
    replay = limited.post("/api/jobs", json=PRIMES, headers={"Idempotency-Key": "one"})
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    # The refused key was not kept: once there is room, it makes its job.
    limited.delete(f"/api/jobs/{first}")
    assert limited.post("/api/jobs", json=PRIMES, headers={"Idempotency-Key": "two"}).status_code == 202
    token = csrf_token(limited)
    refused(limited.post(f"/jobs/{first}/retry", data={"csrf_token": token}), "MAX_WAITING_PER_OWNER")


def test_the_form_says_why_it_was_refused_and_keeps_what_was_typed(make_app):
    browser = make_app(MAX_WAITING_PER_OWNER=1).test_client()
    token = csrf_token(browser)
    assert browser.post("/jobs/new/primes", data={"csrf_token": token, "limit": "1000"}).status_code == 303
    response = browser.post("/jobs/new/primes", data={"csrf_token": token, "limit": "4321"})
    refused(response, "MAX_WAITING_PER_OWNER")
    page = response.get_data(as_text=True)
    assert 'id="over-quota"' in page and 'value="4321"' in page


def test_a_finished_job_no_longer_counts(make_app, worker):
    browser = make_app(MAX_WAITING_PER_OWNER=1).test_client()
    api = Api(browser)
    api.wait_status(api.submit("primes", limit=1000), "finished")
    assert browser.post("/api/jobs", json=PRIMES).status_code == 202


def test_an_exempt_token_is_not_limited(make_app):
    from webapp import tokens

    app = make_app(MAX_WAITING_PER_OWNER=1, QUOTA_EXEMPT_OWNERS=["token:nightly"])
    with app.app_context():
        bearer = {"Authorization": f"Bearer {tokens.create('nightly')}"}
    client = app.test_client()
    assert [client.post("/api/jobs", json=PRIMES, headers=bearer).status_code for _ in range(3)] == [202] * 3


def test_an_address_gets_so_many_new_owners_an_hour(make_app, redis):
    app = make_app(MAX_NEW_OWNERS_PER_IP=2)
    for _ in range(2):
        assert app.test_client().post("/api/jobs", json=PRIMES).status_code == 202
    refused(app.test_client().post("/api/jobs", json=PRIMES), "MAX_NEW_OWNERS_PER_IP")
    assert int(app.test_client().post("/api/jobs", json=PRIMES).headers["Retry-After"]) <= 3600
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    assert elsewhere.post("/api/jobs", json=PRIMES).status_code == 202
    assert redis.exists(keys.new_owners_key("192.0.2.9"))


def test_the_form_of_a_browser_over_the_address_limit_says_so(make_app):
    app = make_app(MAX_NEW_OWNERS_PER_IP=1)
    assert app.test_client().get("/").status_code == 200
    browser = app.test_client()
    token = csrf_token(browser)  # the page still opens, without giving this browser an owner
    response = browser.post("/jobs/new/primes", data={"csrf_token": token, "limit": "4321"})
    refused(response, "MAX_NEW_OWNERS_PER_IP")
    assert 'value="4321"' in response.get_data(as_text=True)
