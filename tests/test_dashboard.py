"""rq-dashboard at /rq: behind operator sign-in, reading Spool's JSON jobs, safe to use."""

from __future__ import annotations

import re

import pytest
from rq.serializers import JSONSerializer

from jobs.core.job import SpoolJob

PAYLOAD = '<img src=x onerror="document.title=1">'


def dashboard_csrf_token(operator) -> str:
    """The CSRF token rq-dashboard's page sets in its cookie, as its scripts send it back."""
    page = operator.get("/rq/")
    return re.search(r"_csrf_token=([^;]+)", page.headers["Set-Cookie"]).group(1)


def test_dashboard_redirects_to_sign_in(client, operator_password):
    response = client.get("/rq/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/ops/login?next=/rq/")
    assert client.get("/rq/0/data/queues.json").status_code == 302


def test_dashboard_post_without_sign_in_is_forbidden(client, api, operator_password):
    response = client.post("/rq/job/anything/requeue", headers={"X-CSRFToken": api.csrf_token()})
    assert response.status_code == 403


def test_wrong_password_is_refused(client, operator_login):
    assert operator_login.sign_in("not it").status_code == 401
    assert client.get("/rq/").status_code == 302


def test_sign_in_opens_the_dashboard_and_sign_out_closes_it(client, operator_login):
    response = operator_login.sign_in(next_path="/rq/")
    assert response.status_code == 303 and response.headers["Location"] == "/rq/"
    assert client.get("/rq/").status_code == 200
    operator_login.sign_out()
    assert client.get("/rq/").status_code == 302


def test_sign_in_expires(client, app, operator_login):
    app.config["OPERATOR_SESSION_SECONDS"] = 0
    assert operator_login.sign_in().status_code == 303
    assert client.get("/rq/").status_code == 302


def test_sign_in_never_redirects_off_site(operator_login):
    response = operator_login.sign_in(next_path="//evil.example/")
    assert response.headers["Location"] == "/ops/jobs"


def test_no_operator_password_means_no_operators(client, app, operator_login):
    app.config["OPERATOR_PASSWORD"] = None
    assert operator_login.sign_in("").status_code == 401
    assert client.get("/rq/").status_code == 302


def test_production_without_operator_password_refuses_to_start(monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("SPOOL_ENV", "production")
    monkeypatch.delenv("OPERATOR_PASSWORD", raising=False)
    with pytest.raises(RuntimeError, match="OPERATOR_PASSWORD is not set"):
        create_app()


def test_dashboard_shows_a_real_spool_job_with_html_inert(api, operator, worker):
    job_id = api.submit("fail", message=PAYLOAD)
    api.wait_status(job_id, "failed")

    listed = operator.get("/rq/0/data/jobs/default/failed/10/asc/1.json").get_json()
    assert job_id in [j["id"] for j in listed["jobs"]]

    response = operator.get(f"/rq/0/data/job/{job_id}.json")
    assert response.status_code == 200
    info = response.get_json()
    assert info["status"] == "failed"
    assert "&lt;img src=x onerror=&#34;document.title=1&#34;&gt;" in info["exc_info"]
    assert "<img" not in response.get_data(as_text=True)

    page = operator.get(f"/rq/0/view/job/{job_id}")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-eval' 'sha256-" in policy and "unsafe-inline" not in policy.split("style-src")[0]


def test_a_result_with_html_is_escaped_in_the_dashboard(api, operator, worker):
    job_id = api.submit("every_type", count=1, name=PAYLOAD)
    api.wait_status(job_id, "finished")
    body = operator.get(f"/rq/0/data/job/{job_id}.json").get_data(as_text=True)
    assert "<img" not in body and "&lt;img" in body


def test_a_job_requeued_in_the_dashboard_runs_again(api, operator, start_worker, redis, tmp_path):
    target = tmp_path / "not-yet" / "ran"
    worker = start_worker()
    job_id = api.submit("touch", path=str(target))
    api.wait_status(job_id, "failed")  # its directory is missing
    worker.stop()
    target.parent.mkdir()

    assert operator.post(f"/rq/job/{job_id}/requeue").status_code == 400
    assert operator.get("/rq/requeue/default").status_code == 405

    response = operator.post(f"/rq/job/{job_id}/requeue", headers={"X-CSRFToken": dashboard_csrf_token(operator)})
    assert response.status_code == 200 and response.get_json()["status"] == "OK"
    job = SpoolJob.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert job.get_status() == "queued"
    start_worker()
    api.wait_status(job_id, "finished")
    assert target.read_text() == "ran"


def test_operators_see_every_users_job(api, other_client, operator):
    job_id = api.submit("steps", n=1)
    assert other_client.get(f"/api/jobs/{job_id}").status_code == 404
    assert operator.get(f"/api/jobs/{job_id}").status_code == 200
    assert operator.get(f"/jobs/{job_id}").status_code == 200


def test_requeue_all_in_the_dashboard_keeps_jobs_readable(client, api, operator, start_worker, redis):
    worker = start_worker()
    failed = [api.submit("fail") for _ in range(2)]
    for job_id in failed:
        api.wait_status(job_id, "failed")
    worker.stop()
    response = operator.post("/rq/requeue/default", headers={"X-CSRFToken": dashboard_csrf_token(operator)})
    assert response.get_json() == {"status": "OK", "count": 2}
    assert [client.get(f"/api/jobs/{j}").get_json()["status"] for j in failed] == ["queued", "queued"]


@pytest.mark.parametrize(
    "path",
    [
        "/rq/job/x/delete",
        "/rq/job/x/requeue",
        "/rq/requeue/default",
        "/rq/queue/default/failed/empty",
        "/rq/queue/default/compact",
    ],
)
def test_every_dashboard_action_refuses_a_request_without_the_csrf_token(operator, path):
    response = operator.post(path)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
