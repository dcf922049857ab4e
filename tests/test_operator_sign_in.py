"""Operator sign-in: guesses slowed per client and per door; sessions kept in Redis, ended by
sign-out and by a new password, renewed at sign-in."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.clients import OperatorLogin
from tests.helpers import wait_for
from tests.test_metrics import basic

OPERATOR_PATHS = ("/ops/jobs", "/rq/", "/metrics")
# Behind the trusted proxy (the test client's 127.0.0.1), as the proxy reports them.
ATTACKER = {"X-Forwarded-For": "203.0.113.9"}
OPERATOR = {"X-Forwarded-For": "198.51.100.7"}


def opens(client) -> list[int]:
    return [client.get(path).status_code for path in OPERATOR_PATHS]


def with_cookie_of(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def raw_csrf_token(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("csrf_token")


def test_a_copied_cookie_opens_nothing_after_sign_out(app, client, operator_login):
    operator_login.sign_in()
    copied = with_cookie_of(app, client)
    assert opens(copied) == [200, 200, 200]
    operator_login.sign_out()
    assert opens(copied) == [302, 302, 401]
    assert opens(client) == [302, 302, 401]


def test_a_new_operator_password_ends_every_sign_in(app, operator):
    assert opens(operator) == [200, 200, 200]
    app.config["OPERATOR_PASSWORD"] = "another long operator password"
    assert opens(operator) == [302, 302, 401]
    assert OperatorLogin(operator, "another long operator password").sign_in().status_code == 303
    assert opens(operator) == [200, 200, 200]


def test_sign_in_renews_the_session_and_its_csrf_token(app, client, operator_login):
    client.get("/")
    planted = raw_csrf_token(client)
    operator_login.sign_in()
    client.get("/")
    assert raw_csrf_token(client) not in (None, planted)
    first = with_cookie_of(app, client)
    operator_login.sign_in()
    assert opens(first) == [302, 302, 401]  # signing in again ended the session it replaced
    assert opens(client) == [200, 200, 200]


class _DayOldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 2 * 24 * 3600


def test_csrf_tokens_expire_and_a_fresh_page_gives_a_working_one(app, client, api):
    fresh = api.csrf_token()
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token", signer=_DayOldSigner)
    stale = serializer.dumps(raw_csrf_token(client))
    form = {"n": "1", "pause": "0"}
    response = client.post("/jobs/new/steps", data={**form, "csrf_token": stale})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert client.post("/jobs/new/steps", data={**form, "csrf_token": fresh}).status_code in (302, 303)


def test_guesses_are_slowed_per_client_without_locking_the_operator_out(app, operator_password):
    attacker = OperatorLogin(app.test_client(), operator_password)
    for _ in range(10):
        assert attacker.sign_in("guess", headers=ATTACKER).status_code == 401
    refused = attacker.sign_in(headers=ATTACKER)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert OperatorLogin(app.test_client(), operator_password).sign_in(headers=OPERATOR).status_code == 303
    metrics = app.test_client().get("/metrics", headers={**basic(operator_password), **ATTACKER})
    assert metrics.status_code == 200
    # Tries within the delay do not lengthen it: once it has passed, the right password works.
    wait_for(lambda: attacker.sign_in(headers=ATTACKER).status_code == 303, 10, "the delay to pass")


def test_metrics_guesses_are_counted_apart_from_the_sign_in_page(app, client, operator_login, operator_password):
    for _ in range(10):
        assert client.get("/metrics", headers={**basic("stale"), **ATTACKER}).status_code == 401
    refused = client.get("/metrics", headers={**basic(operator_password), **ATTACKER})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert operator_login.sign_in(headers=ATTACKER).status_code == 303


def test_a_forwarded_for_header_from_an_untrusted_peer_is_not_believed(make_app, operator_password):
    app = make_app(FORWARDED_ALLOW_IPS="10.0.0.1", OPERATOR_PASSWORD=operator_password)
    login = OperatorLogin(app.test_client(), operator_password)
    for n in range(10):
        assert login.sign_in("guess", headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code == 401
    assert login.sign_in(headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429
