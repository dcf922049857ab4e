"""Operator sessions: kept in Redis, ended by sign-out and by a new password, renewed at sign-in."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.clients import OperatorLogin

OPERATOR_PATHS = ("/ops/jobs", "/rq/", "/metrics")


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
