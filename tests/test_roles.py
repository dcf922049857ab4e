"""Operator roles: observers read every operator page, /rq, /metrics and every job, and are
refused every change; admins may change; each role by its password, its tokens, or a trusted
proxy's user listed in OPERATOR_USERS or OBSERVER_USERS."""

from __future__ import annotations

import re

import pytest
import requests

from tests.clients import OPERATOR_PASSWORD, Api, OperatorLogin
from tests.test_dashboard import dashboard_csrf_token
from tests.test_tokens import bearer

OBSERVER_PASSWORD = "a long observer password"
REFUSED = "Observers may look but not change anything"
PROXY = {"TRUSTED_USER_HEADER": "X-Forwarded-User", "OPERATOR_USERS": ["ann"], "OBSERVER_USERS": ["obi"]}
# rq-dashboard's POST routes, each of which changes something.
DASHBOARD_CHANGES = (
    "/rq/job/{failed}/requeue",
    "/rq/job/{failed}/delete",
    "/rq/requeue/default",
    "/rq/queue/default/failed/empty",
    "/rq/queue/default/compact",
)


@pytest.fixture
def app(make_app):
    return make_app(OPERATOR_PASSWORD=OPERATOR_PASSWORD, OBSERVER_PASSWORD=OBSERVER_PASSWORD, **PROXY)


def signed_in(app, password: str):
    client = app.test_client()
    assert OperatorLogin(client, password).sign_in().status_code == 303
    return client


def as_user(app, user: str, address: str = "198.51.100.7"):
    """A browser behind the trusted proxy (the test client's 127.0.0.1), which names `user`."""
    client = app.test_client()
    client.environ_base.update({"HTTP_X_FORWARDED_USER": user, "HTTP_X_FORWARDED_FOR": address})
    return client


def scheduled(api) -> str:
    """A job of `api`'s owner that waits ten minutes to start: cancelable with no worker."""
    response = api.client.post("/api/jobs", json={"type": "block", "params": {"seconds": 1}, "run_in": 600})
    assert response.status_code == 202
    return response.get_json()["id"]


def audit_entries(client, **query) -> list[dict]:
    response = client.get("/api/ops/audit", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["entries"]


def test_an_observer_reads_everything_and_is_refused_every_change(app, api, worker):
    failed = api.submit("fail")
    api.wait_status(failed, "failed")
    running = api.submit("block", seconds=60)
    api.wait_status(running, "started")
    watcher = signed_in(app, OBSERVER_PASSWORD)
    reads = ("/ops/jobs", "/ops/schedule", "/ops/audit", "/rq/", "/rq/0/data/queues.json", "/metrics")
    for path in (*reads, f"/jobs/{running}", f"/api/jobs/{running}", "/api/ops/audit", "/api/ops/jobs"):
        assert watcher.get(path).status_code == 200, path
    assert running in (listed := watcher.get("/ops/jobs").get_data(as_text=True))
    assert f"/ops/jobs/{running}/stop" not in listed  # no button it would be refused
    assert '<div class="actions" hidden>' in watcher.get(f"/jobs/{running}").get_data(as_text=True)

    form = {"csrf_token": Api(watcher).csrf_token()}
    assert "/ops/bulk" not in listed
    pages = (f"/ops/jobs/{running}/stop", f"/jobs/{running}/cancel", f"/jobs/{failed}/retry", "/ops/bulk")
    for path in pages:
        page = watcher.post(path, data={**form, "action": "delete"})
        assert page.status_code == 403 and page.mimetype == "text/html" and REFUSED in page.get_data(as_text=True)
    for call in (
        watcher.delete(f"/api/jobs/{running}"),
        watcher.post(f"/api/jobs/{failed}/retry", json={}),
        watcher.post("/api/ops/bulk", json={"action": "delete", "filters": {}}),
    ):
        assert call.status_code == 403 and REFUSED in call.get_json()["error"]["message"]
    rq_token = dashboard_csrf_token(watcher)
    for path in DASHBOARD_CHANGES:
        answer = watcher.post(path.format(failed=failed), headers={"X-CSRFToken": rq_token})
        assert answer.status_code == 403 and REFUSED in answer.get_json()["error"]["message"], path
    assert api.job(running)["status"] == "started" and api.job(failed)["status"] == "failed"
    assert {e["action"] for e in audit_entries(watcher)} == {"sign-in"}
    api.client.delete(f"/api/jobs/{running}")  # its owner may
    api.wait_status(running, "stopped")


def test_an_admin_named_by_the_proxy_changes_and_each_change_is_audited(app, api, worker):
    admin = as_user(app, "ann")
    failed = api.submit("fail")
    api.wait_status(failed, "failed")
    rq_token = dashboard_csrf_token(admin)
    requeued = admin.post(f"/rq/job/{failed}/requeue", headers={"X-CSRFToken": rq_token})
    assert requeued.get_json()["status"] == "OK"
    api.wait_status(failed, "failed")  # it ran again, and failed again
    retried = admin.post(f"/jobs/{failed}/retry", data={"csrf_token": Api(admin).csrf_token()})
    assert retried.status_code == 303
    assert admin.post(f"/rq/job/{failed}/delete", headers={"X-CSRFToken": rq_token}).get_json()["status"] == "OK"
    assert api.client.get(f"/api/jobs/{failed}").status_code == 404
    again = retried.headers["Location"].rsplit("/", 1)[-1]
    Api(admin).wait_status(again, "failed")

    running = api.submit("block", seconds=60)
    api.wait_status(running, "started")
    assert admin.delete(f"/api/jobs/{running}").status_code == 202
    api.wait_status(running, "stopped")
    waiting = scheduled(api)
    stopped = admin.post(f"/ops/jobs/{waiting}/stop", data={"csrf_token": Api(admin).csrf_token()})
    assert stopped.status_code == 303 and api.job(waiting)["status"] == "canceled"

    done = [(e["action"], e["target"]) for e in audit_entries(admin, operator="ann")]
    assert done == [("stop", waiting), ("stop", running), ("delete", failed), ("retry", failed), ("requeue", failed)]
    entry = audit_entries(admin, operator="ann", action="requeue")[0]
    assert (entry["role"], entry["via"], entry["ip"]) == ("admin", "proxy", "198.51.100.7")
    # The owner acting on their own jobs is not an operator action.
    assert api.client.delete(f"/api/jobs/{scheduled(api)}").status_code == 202
    assert len(audit_entries(admin)) == len(done)


def test_operator_tokens_have_roles_and_an_unknown_role_is_refused(app, api):
    def cli(*args: str):
        return app.test_cli_runner().invoke(args=["tokens", *args])

    unknown = cli("create", "--role", "boss", "someone")
    assert unknown.exit_code == 2 and "--role" in unknown.output and "'observer'" in unknown.output
    issued = {role: cli("create", "--role", role, f"{role}-bot").output.strip() for role in ("observer", "admin")}
    plain = cli("create", "reports").output.strip()  # role "user" unless given
    assert re.search(r"^reports\tuser\t", cli("list").output, re.M)

    someones = scheduled(api)
    client = app.test_client()
    assert client.get(f"/api/jobs/{someones}", headers=bearer(plain)).status_code == 404
    assert client.get("/api/ops/audit", headers=bearer(plain)).status_code == 403
    assert client.get(f"/api/jobs/{someones}", headers=bearer(issued["observer"])).status_code == 200
    refused = client.delete(f"/api/jobs/{someones}", headers=bearer(issued["observer"]))
    assert refused.status_code == 403 and REFUSED in refused.get_json()["error"]["message"]
    assert client.delete(f"/api/jobs/{someones}", headers=bearer(issued["admin"])).status_code == 202

    entries = client.get("/api/ops/audit", headers=bearer(issued["observer"])).get_json()["entries"]
    assert [(e["action"], e["operator"], e["target"]) for e in entries] == [
        ("stop", "token:admin-bot", someones),
        ("token-create", entries[1]["operator"], "reports"),
        ("token-create", entries[1]["operator"], "admin-bot"),
        ("token-create", entries[1]["operator"], "observer-bot"),
    ]
    assert entries[1]["operator"].startswith("cli:") and entries[1]["via"] == "cli"
    assert cli("revoke", "observer-bot").exit_code == 0
    assert client.get("/api/ops/audit", headers=bearer(issued["observer"])).status_code == 401
    assert audit_entries(signed_in(app, OPERATOR_PASSWORD), action="token-revoke")[0]["target"] == "observer-bot"


def test_a_real_server_maps_proxy_users_to_roles(start_web, redis):
    server = start_web(
        env={"TRUSTED_USER_HEADER": "X-Forwarded-User", "OPERATOR_USERS": "ann", "OBSERVER_USERS": "obi"}
    )

    def browser(user: str) -> requests.Session:
        session = requests.Session()
        session.headers["X-Forwarded-User"] = user
        return session

    def requeue_all(session: requests.Session) -> requests.Response:
        page = session.get(f"{server.url}/rq/")
        assert page.status_code == 200
        token = session.cookies.get("_csrf_token", path="/rq")
        return session.post(f"{server.url}/rq/requeue/default", headers={"X-CSRFToken": token})

    assert browser("carl").get(f"{server.url}/ops/jobs", allow_redirects=False).status_code == 302
    assert browser("obi").get(f"{server.url}/ops/jobs").status_code == 200
    assert requeue_all(browser("obi")).status_code == 403
    assert requeue_all(browser("ann")).json()["status"] == "OK"
    entries = browser("obi").get(f"{server.url}/api/ops/audit").json()["entries"]
    assert [(e["action"], e["operator"], e["role"], e["queue"]) for e in entries] == [
        ("requeue", "ann", "admin", "default")
    ]


def test_a_new_observer_password_ends_only_the_observers_sign_ins(app):
    watcher, admin = signed_in(app, OBSERVER_PASSWORD), signed_in(app, OPERATOR_PASSWORD)
    app.config["OBSERVER_PASSWORD"] = "another long observer password"
    assert watcher.get("/ops/jobs").status_code == 302
    assert admin.get("/ops/jobs").status_code == 200
