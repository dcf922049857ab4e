"""The audit log: sign-ins (failed ones too) and sign-outs kept with who, when and from where;
searched by operator, role, action and time, newest first and paged; refused bad filters by
name; trimmed past AUDIT_RETENTION_DAYS."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from jobs.core import keys
from tests.clients import OPERATOR_PASSWORD, OperatorLogin
from tests.test_roles import OBSERVER_PASSWORD, audit_entries

DAY_MS = 86_400_000


@pytest.fixture
def app(make_app):
    return make_app(OPERATOR_PASSWORD=OPERATOR_PASSWORD, OBSERVER_PASSWORD=OBSERVER_PASSWORD, AUDIT_RETENTION_DAYS=1)


@pytest.fixture
def admin(app):
    """An admin's browser, once a failed sign-in, an observer's sign-in and sign-out and its own
    sign-in have been recorded, each from its own address."""
    OperatorLogin(app.test_client(), "a wrong guess").sign_in(headers={"X-Forwarded-For": "203.0.113.9"})
    observer = OperatorLogin(app.test_client(), OBSERVER_PASSWORD)
    observer.sign_in(headers={"X-Forwarded-For": "198.51.100.1"})
    observer.client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.1"
    observer.sign_out()
    client = app.test_client()
    OperatorLogin(client).sign_in(headers={"X-Forwarded-For": "198.51.100.2"})
    return client


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_sign_ins_failed_ones_and_sign_outs_are_kept_with_who_and_where(admin):
    entries = audit_entries(admin)
    assert [(e["action"], e["operator"], e["role"], e["ip"]) for e in entries] == [
        ("sign-in", "admin", "admin", "198.51.100.2"),
        ("sign-out", "observer", "observer", "198.51.100.1"),
        ("sign-in", "observer", "observer", "198.51.100.1"),
        ("sign-in-failed", "unknown", None, "203.0.113.9"),
    ]
    at = datetime.fromisoformat(entries[0]["at"])
    assert abs((datetime.now(UTC) - at).total_seconds()) < 600
    html = admin.get("/ops/audit").get_data(as_text=True)
    assert '<time class="local" datetime="' in html and "203.0.113.9" in html


def test_the_log_is_searched_by_operator_role_action_and_time_and_paged(admin):
    def actions(**query) -> list[tuple[str, str]]:
        return [(e["action"], e["operator"]) for e in audit_entries(admin, **query)]

    assert actions(operator="observer") == [("sign-out", "observer"), ("sign-in", "observer")]
    assert actions(action="sign-in") == [("sign-in", "admin"), ("sign-in", "observer")]
    assert actions(role="admin") == [("sign-in", "admin")]
    now = datetime.now(UTC)
    assert actions(since=iso(now + timedelta(minutes=10))) == []
    assert actions(until=iso(now - timedelta(minutes=10))) == []
    assert len(actions(since=iso(now - timedelta(minutes=10)), until=iso(now + timedelta(minutes=10)))) == 4

    first = admin.get("/api/ops/audit", query_string={"action": "sign-in", "limit": 1}).get_json()
    assert [e["operator"] for e in first["entries"]] == ["admin"] and first["next"]
    rest = admin.get("/api/ops/audit", query_string={"action": "sign-in", "before": first["next"]}).get_json()
    assert [e["operator"] for e in rest["entries"]] == ["observer"] and rest["next"] is None

    page = admin.get("/ops/audit", query_string={"operator": "observer"}).get_data(as_text=True)
    assert "sign-out" in page and "203.0.113.9" not in page


@pytest.mark.parametrize(
    ("field", "value"),
    [("action", "reboot"), ("role", "boss"), ("since", "yesterday"), ("limit", "0"), ("before", "soon")],
)
def test_a_bad_filter_is_refused_naming_it(admin, field, value):
    answer = admin.get("/api/ops/audit", query_string={field: value})
    assert answer.status_code == 400 and list(answer.get_json()["error"]["fields"]) == [field]
    page = admin.get("/ops/audit", query_string={field: value})
    assert page.status_code == 400 and f"<b>{field}</b>" in page.get_data(as_text=True)


def test_only_operators_read_the_log(client):
    assert client.get("/api/ops/audit").status_code == 403
    assert client.get("/ops/audit").status_code == 302


def test_entries_past_the_retention_are_trimmed(app, redis):
    now_ms = int(time.time() * 1000)
    redis.xadd(keys.AUDIT, {"action": "stop", "operator": "long ago"}, id=f"{now_ms - 2 * DAY_MS}-0")
    redis.xadd(keys.AUDIT, {"action": "stop", "operator": "this morning"}, id=f"{now_ms - DAY_MS // 2}-0")
    client = app.test_client()
    OperatorLogin(client).sign_in()
    kept = [fields[b"operator"].decode() for _, fields in redis.xrange(keys.AUDIT)]
    assert kept == ["this morning", "admin"]
    assert [e["operator"] for e in audit_entries(client)] == ["admin", "this morning"]
