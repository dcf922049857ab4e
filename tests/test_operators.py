"""Operator pages: every user's jobs searchable, the schedule, stopping any job."""

from __future__ import annotations

import pytest

from tests.conftest import api_submit, csrf_token, wait_for, wait_status


@pytest.fixture
def two_users_jobs(client, other_client, worker):
    done = api_submit(client, "steps", n=1)
    failed = api_submit(other_client, "fail")
    wait_status(client, done, "finished")
    wait_status(other_client, failed, "failed")
    return {"done": done, "failed": failed}


def ids_in(html: str, *job_ids: str) -> list[str]:
    return [j for j in job_ids if j in html]


def test_operator_pages_are_not_framed_or_cached(operator):
    response = operator.get("/ops/jobs")
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


def test_operator_pages_need_sign_in(client):
    for path in ("/ops/jobs", "/ops/schedule"):
        assert client.get(path).status_code == 302
    assert client.post("/ops/jobs/x/stop", data={"csrf_token": csrf_token(client)}).status_code == 403


def test_search_all_users_jobs_by_status_type_id_and_owner(operator, two_users_jobs, redis):
    done, failed = two_users_jobs["done"], two_users_jobs["failed"]
    assert ids_in(operator.get("/ops/jobs").get_data(as_text=True), done, failed) == [done, failed]
    assert ids_in(operator.get("/ops/jobs?status=failed").get_data(as_text=True), done, failed) == [failed]
    assert ids_in(operator.get("/ops/jobs?type_name=steps").get_data(as_text=True), done, failed) == [done]
    assert ids_in(operator.get(f"/ops/jobs?job_id={failed}").get_data(as_text=True), done, failed) == [failed]
    owner = next(
        k.decode().removeprefix("spool:owner:") for k in redis.scan_iter("spool:owner:*") if redis.zscore(k, done)
    )
    assert ids_in(operator.get(f"/ops/jobs?owner={owner}").get_data(as_text=True), done, failed) == [done]
    assert operator.get("/ops/jobs?status=nonsense").status_code == 400


def test_operator_stops_anyones_running_job(client, operator, worker):
    job_id = api_submit(client, "block", seconds=60)
    wait_status(client, job_id, "started")
    response = operator.post(f"/ops/jobs/{job_id}/stop", data={"csrf_token": csrf_token(operator)})
    assert response.status_code == 303
    wait_status(client, job_id, "stopped")


def test_schedule_shows_next_and_last_run(operator, worker, clock, redis):
    from rq.cron import get_cron_job_ids

    assert "No clock is running" not in wait_for(
        lambda: (lambda html: html if "sweep" in html else None)(operator.get("/ops/schedule").get_data(as_text=True)),
        30,
        "the clock to register",
    )
    wait_for(lambda: get_cron_job_ids("sweep", redis), 30, "a sweep")
    html = wait_for(
        lambda: (lambda h: h if "badge-finished" in h else None)(operator.get("/ops/schedule").get_data(as_text=True)),
        30,
        "the sweep to finish",
    )
    assert "every 600 s" in html and "never" not in html and " UTC" in html


def test_schedule_says_when_no_clock_runs(operator):
    assert "No clock is running" in operator.get("/ops/schedule").get_data(as_text=True)


def test_the_clocks_jobs_are_found_by_owner(operator, worker, clock, redis):
    from rq.cron import get_cron_job_ids

    job_id = wait_for(lambda: next(iter(get_cron_job_ids("sweep", redis)), None), 30, "a sweep")
    assert job_id in operator.get("/ops/jobs?owner=spool:clock").get_data(as_text=True)
