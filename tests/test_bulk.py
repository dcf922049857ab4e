"""Bulk actions: an operator stops, retries or deletes every job a search matches, after a count
and a confirmation; the action is a job of its own, run by a worker, so it outlives the web."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import requests

from jobs.core import catalogue, keys
from jobs.core.job import SpoolJob
from tests.clients import OPERATOR_PASSWORD, Api
from tests.helpers import wait_for
from webapp import repository

MANY = 200


def operator_session(server) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{server.url}/ops/login").text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    signed_in = http.post(f"{server.url}/ops/login", data={"password": OPERATOR_PASSWORD, "csrf_token": token})
    assert signed_in.ok and "/ops/login" not in signed_in.url
    return http


def finished_bulk(http, server, job_id: str) -> dict:
    def done():
        body = http.get(f"{server.url}/api/jobs/{job_id}").json()
        return body if body["status"] in ("finished", "failed") else None

    body = wait_for(done, 60, "the bulk action to finish")
    assert body["status"] == "finished", body.get("error")
    return body


def test_a_bulk_stop_over_hundreds_of_jobs_survives_a_web_restart_and_a_bulk_delete_leaves_nothing(
    app, start_web, worker, redis
):
    env = {"OPERATOR_PASSWORD": OPERATOR_PASSWORD}
    web = start_web(env)
    steps, later = catalogue.CATALOGUE["steps"], datetime.now(UTC) + timedelta(hours=1)
    app.config["MAX_WAITING_PER_OWNER"] = MANY
    with app.test_request_context():
        for n in range(MANY):
            repository.submit(steps, steps.validate({"n": 1 + n}), owner="user:many", start_at=later)
    http = operator_session(web)
    ask = {"action": "stop", "filters": {"status": "scheduled", "type": "steps"}}
    counted = http.post(f"{web.url}/api/ops/bulk", json={**ask, "dry_run": True}).json()
    assert counted["matching"] == MANY
    response = http.post(f"{web.url}/api/ops/bulk", json=ask)
    assert response.status_code == 202 and response.json()["matching"] == MANY
    bulk_id = response.json()["id"]
    web.stop()
    web = start_web(env, port=web.port)
    body = finished_bulk(http, web, bulk_id)
    assert body["result"]["canceled"] == MANY and body["result"]["skipped"] == 0
    assert body["progress"]["done"] == MANY
    search = f"{web.url}/api/ops/jobs"
    assert http.get(search, params={"status": "scheduled", "type": "steps"}).json()["total"] == 0
    assert http.get(search, params={"status": "canceled", "type": "steps"}).json()["total"] == MANY

    response = http.post(f"{web.url}/api/ops/bulk", json={"action": "delete", "filters": {"type": "steps"}})
    assert finished_bulk(http, web, response.json()["id"])["result"]["deleted"] == MANY
    assert http.get(search, params={"type": "steps"}).json()["total"] == 0
    records = redis.scan_iter(match=keys.index_terms_key("*"))
    assert not [k for k in records if redis.sismember(k, keys.index_type_key("steps"))]
    assert redis.zcard(keys.index_type_key("steps")) == 0


def test_the_bulk_page_counts_and_confirms_then_retries_failed_jobs(api, operator, worker, redis):
    failed = [api.submit("fail", message=f"broken {n}") for n in range(2)]
    for job_id in failed:
        api.wait_status(job_id, "failed")
    query = {"action": "retry", "status": "failed", "q": "broken"}
    page = operator.get("/ops/bulk", query_string=query).get_data(as_text=True)
    assert "2 jobs match" in page and "Retry all 2?" in page
    assert operator.post("/ops/bulk", data=query).status_code == 400  # no CSRF token
    response = operator.post("/ops/bulk", data={**query, "csrf_token": Api(operator).csrf_token()})
    assert response.status_code == 303
    bulk_id = response.headers["Location"].rsplit("/", 1)[1]
    body = Api(operator).wait_status(bulk_id, "finished")
    assert body["result"]["retried"] == 2
    (entry,) = operator.get("/api/ops/audit", query_string={"action": "bulk"}).get_json()["entries"]
    assert entry["target"] == bulk_id and entry["role"] == "admin" and "retry" in entry["detail"]
    # Requeued, each runs again and fails again.
    for job_id in failed:
        job = SpoolJob.fetch(job_id, connection=redis)
        wait_for(lambda j=job: len(j.results()) >= 2, 30, "the retried job to run again")
        api.wait_status(job_id, "failed")
