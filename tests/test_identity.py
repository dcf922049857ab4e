"""Who owns a job: a trusted proxy's user header, an embedding app's loader, else the browser."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from rq.serializers import JSONSerializer

from jobs.core import keys
from jobs.core.job import SpoolJob
from tests.clients import Api, csrf_token

HEADERS = {"TRUSTED_USER_HEADER": "X-Forwarded-User", "TRUSTED_EMAIL_HEADER": "X-Forwarded-Email"}


def as_user(app, user: str, address: str = "127.0.0.1", email: str | None = None):
    """A fresh browser whose requests come through a proxy at `address` that names `user`."""
    environ = {"REMOTE_ADDR": address, "HTTP_X_FORWARDED_USER": user}
    if email is not None:
        environ["HTTP_X_FORWARDED_EMAIL"] = email
    client = app.test_client()
    client.environ_base.update(environ)
    return client


def owner_of(redis, job_id: str) -> str:
    return keys.Meta.of(SpoolJob.fetch(job_id, connection=redis, serializer=JSONSerializer)).owner


def test_a_trusted_proxy_s_user_is_the_same_owner_on_every_browser(make_app, redis):
    app = make_app(**HEADERS)
    job_id = Api(as_user(app, "ann", email="ann@example.com")).submit("primes", limit=1000)
    other_browser = as_user(app, "ann")
    assert other_browser.get(f"/api/jobs/{job_id}").status_code == 200
    assert owner_of(redis, job_id) == "user:ann"
    assert "Signed in as <strong>ann</strong>" in other_browser.get("/").get_data(as_text=True)
    assert as_user(app, "bob").get(f"/api/jobs/{job_id}").status_code == 404


def test_the_user_header_from_an_untrusted_address_is_ignored(make_app, redis):
    app = make_app(FORWARDED_ALLOW_IPS="10.0.0.1", **HEADERS)
    job_id = Api(as_user(app, "ann", address="192.0.2.7")).submit("primes", limit=1000)
    assert owner_of(redis, job_id) != "user:ann"
    assert as_user(app, "ann", address="192.0.2.7").get(f"/api/jobs/{job_id}").status_code == 404
    assert "This browser only" in as_user(app, "ann", address="192.0.2.7").get("/").get_data(as_text=True)


def test_a_real_server_believes_the_header_only_from_its_proxies(start_web):
    trusting = start_web(env={"FORWARDED_ALLOW_IPS": "127.0.0.1", "TRUSTED_USER_HEADER": "X-Forwarded-User"})
    mine = requests.post(
        f"{trusting.url}/api/jobs",
        json={"type": "primes", "params": {"limit": 1000}},
        headers={"X-Forwarded-User": "ann"},
    )
    assert mine.status_code == 202
    seen = requests.get(f"{trusting.url}/api/jobs/{mine.json()['id']}", headers={"X-Forwarded-User": "ann"})
    assert seen.status_code == 200 and seen.json()["id"] == mine.json()["id"]


@pytest.mark.parametrize(
    ("header", "value", "says"),
    [
        ("X-Forwarded-User", "ann\x01", "control"),
        ("X-Forwarded-User", "a" * 201, "at most 200"),
        ("X-Forwarded-User", "ann smith", "not a user name"),
        ("X-Forwarded-User", "<script>", "not a user name"),
        ("X-Forwarded-Email", "not an address", "not an email address"),
    ],
)
def test_a_malformed_identity_header_is_refused(make_app, header, value, says):
    client = make_app(**HEADERS).test_client()
    headers = {"X-Forwarded-User": "ann", header: value}
    response = client.get("/api/jobs", headers=headers)
    assert response.status_code == 400
    assert header in response.get_json()["error"]["message"] and says in response.get_json()["error"]["message"]


def test_an_embedding_app_names_the_owner(make_app, redis):
    current = {"user": ("42", "ann@example.com")}
    app = make_app(OWNER_LOADER=lambda: current["user"])
    job_id = Api(app.test_client()).submit("primes", limit=1000)
    assert owner_of(redis, job_id) == "user:42"
    assert app.test_client().get(f"/api/jobs/{job_id}").status_code == 200
    current["user"] = None  # signed out: back to the browser's own owner
    assert app.test_client().get(f"/api/jobs/{job_id}").status_code == 404


def test_an_owner_is_escaped_in_every_key(make_app, redis):
    app = make_app(OWNER_LOADER=lambda: ("ann *smith", None))
    Api(app.test_client()).submit("primes", limit=1000)
    written = [k.decode() for k in redis.keys("spool:*")]
    assert keys.owner_key("user:ann *smith") in written and keys.waiting_key("user:ann *smith") in written
    assert not [k for k in written if "*" in k or " " in k]


def test_a_token_keeps_its_own_owner_behind_a_proxy(make_app, redis):
    from webapp import tokens

    app = make_app(**HEADERS)
    with app.app_context():
        token = tokens.create("nightly")
    response = as_user(app, "ann").post(
        "/api/jobs", json={"type": "primes", "params": {"limit": 1000}}, headers={"Authorization": f"Bearer {token}"}
    )
    assert owner_of(redis, response.get_json()["id"]) == "token:nightly"


@pytest.mark.parametrize("first", ["/", "/api/job-types", "/jobs"])
def test_the_first_page_or_api_call_gives_the_browser_its_owner(client, first):
    client.get(first)
    with client.session_transaction() as session:
        assert session.get("owner")


def test_parallel_first_submits_of_a_browser_share_one_owner(live_server, redis):
    http = requests.Session()
    assert http.get(f"{live_server.url}/").ok
    cookies = http.cookies.get_dict()

    def submit(_):
        return requests.post(
            f"{live_server.url}/api/jobs", json={"type": "primes", "params": {"limit": 1000}}, cookies=cookies
        )

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(submit, range(40)))
    assert [a.status_code for a in answers] == [202] * 40
    listed = http.get(f"{live_server.url}/api/jobs", params={"per_page": 100}).json()
    assert listed["total"] == 40
    assert {j["id"] for j in listed["jobs"]} == {a.json()["id"] for a in answers}


def test_a_signed_in_user_keeps_the_jobs_of_their_browser(make_app, redis):
    app = make_app(**HEADERS)
    browser = app.test_client()
    before = [Api(browser).submit("primes", limit=1000) for _ in range(2)]
    anonymous = Api(browser).owner()
    browser.environ_base["HTTP_X_FORWARDED_USER"] = "ann"
    page = browser.get("/").get_data(as_text=True)
    assert "2 jobs made on this browser before you signed in" in page and "Keep them as ann" in page
    assert browser.post("/keep-jobs", data={"csrf_token": csrf_token(browser)}).status_code == 303
    listed = browser.get("/api/jobs").get_json()
    assert sorted(j["id"] for j in listed["jobs"]) == sorted(before)
    assert {owner_of(redis, job_id) for job_id in before} == {"user:ann"}
    assert redis.zcard(keys.waiting_key("user:ann")) == 2
    assert not redis.exists(keys.owner_key(anonymous), keys.waiting_key(anonymous))
    assert "Keep them" not in browser.get("/").get_data(as_text=True)


def test_a_cookie_read_before_still_expires_and_a_forged_one_is_still_refused(make_app):
    app = make_app()
    browser = app.test_client()
    job_id = Api(browser).submit("primes", limit=1000)
    cookie = browser.get_cookie("session").value
    for _ in range(2):  # the second read is of a cookie whose signature held before
        assert browser.get(f"/api/jobs/{job_id}").status_code == 200
    forged = app.test_client()
    # One character of the payload changed (the signature's last one may only carry padding).
    forged.set_cookie("session", cookie[:5] + ("A" if cookie[5] != "A" else "B") + cookie[6:])
    assert forged.get(f"/api/jobs/{job_id}").status_code == 404
    app.permanent_session_lifetime = timedelta(seconds=-1)  # shorter than any cookie has lived
    assert browser.get(f"/api/jobs/{job_id}").status_code == 404
