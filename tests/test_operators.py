"""Operator pages: every user's jobs searchable, the schedule, stopping any job."""

from __future__ import annotations

import re

import pytest
from rq.cron import get_cron_job_ids

from jobs.core import keys
from tests.clients import Api
from tests.helpers import wait_for


@pytest.fixture
def two_users_jobs(api, other_api, worker):
    done = api.submit("steps", n=1)
    failed = other_api.submit("fail")
    api.wait_status(done, "finished")
    other_api.wait_status(failed, "failed")
    return {"done": done, "failed": failed}


def ids_in(html: str, *job_ids: str) -> list[str]:
    return [j for j in job_ids if j in html]


def schedule_page_showing(operator, text: str, message: str) -> str:
    """The schedule page, once it shows `text`."""

    def page():
        html = operator.get("/ops/schedule").get_data(as_text=True)
        return html if text in html else None

    return wait_for(page, 30, message)


def test_operator_pages_are_not_framed_or_cached(operator):
    response = operator.get("/ops/jobs")
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


def test_operator_pages_need_sign_in(client, api):
    for path in ("/ops/jobs", "/ops/schedule"):
        assert client.get(path).status_code == 302
    assert client.post("/ops/jobs/x/stop", data={"csrf_token": api.csrf_token()}).status_code == 403


def test_search_all_users_jobs_by_status_type_id_and_owner(operator, two_users_jobs, redis):
    done, failed = two_users_jobs["done"], two_users_jobs["failed"]
    assert ids_in(operator.get("/ops/jobs").get_data(as_text=True), done, failed) == [done, failed]
    assert ids_in(operator.get("/ops/jobs?status=failed").get_data(as_text=True), done, failed) == [failed]
    assert ids_in(operator.get("/ops/jobs?type=steps").get_data(as_text=True), done, failed) == [done]
    assert ids_in(operator.get(f"/ops/jobs?job_id={failed}").get_data(as_text=True), done, failed) == [failed]
    owner = next(keys.owner_of_key(k) for k in redis.scan_iter(keys.OWNER_PREFIX + "*") if redis.zscore(k, done))
    assert ids_in(operator.get(f"/ops/jobs?owner={owner}").get_data(as_text=True), done, failed) == [done]
    assert operator.get("/ops/jobs?status=nonsense").status_code == 400


def test_all_jobs_shows_readable_times_and_status_words(operator, two_users_jobs):
    html = operator.get("/ops/jobs").get_data(as_text=True)
    assert re.search(r'<time class="local" datetime="[0-9T:-]+\.\d{3}Z" title="[^"]+ UTC">', html)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", html)  # no raw timestamp with microseconds
    assert ">Done</span>" in html and ">Failed</span>" in html and ">finished</span>" not in html
    assert '<option value="failed">Failed</option>' in html


def test_operator_stops_anyones_running_job(api, operator, worker):
    job_id = api.submit("block", seconds=60)
    api.wait_status(job_id, "started")
    response = operator.post(f"/ops/jobs/{job_id}/stop", data={"csrf_token": Api(operator).csrf_token()})
    assert response.status_code == 303
    api.wait_status(job_id, "stopped")


def test_schedule_shows_next_and_last_run(operator, worker, clock, redis):
    assert "No clock is running" not in schedule_page_showing(operator, "sweep", "the clock to register")
    wait_for(lambda: get_cron_job_ids("sweep", redis), 30, "a sweep")
    html = schedule_page_showing(operator, "badge-finished", "the sweep to finish")
    assert "every 600 s" in html and "never" not in html and " UTC" in html


def test_schedule_says_when_no_clock_runs(operator):
    assert "No clock is running" in operator.get("/ops/schedule").get_data(as_text=True)


def test_the_clocks_jobs_are_found_by_owner(operator, worker, clock, redis):
    job_id = wait_for(lambda: next(iter(get_cron_job_ids("sweep", redis)), None), 30, "a sweep")
    assert job_id in operator.get("/ops/jobs?owner=spool:clock").get_data(as_text=True)
