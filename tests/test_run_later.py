"""Run later: "run at" / "run in" through RQ's scheduler, shown and cancelable while waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry


def submit_later(client, **when):
    return client.post("/api/jobs", json={"type": "steps", "params": {"n": 1}, **when})


def test_a_job_run_in_seconds_waits_then_runs(client, api, start_worker):
    response = submit_later(client, run_in=1)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "scheduled"
    snapshot = client.get(body["urls"]["self"]).get_json()
    assert snapshot["status"] == "scheduled" and snapshot["scheduled_for"].endswith("Z")
    start_worker()  # only now: its scheduler would have started the job had this test been slow to look
    assert api.wait_status(body["id"], "finished")["scheduled_for"] is None


def test_run_at_is_honoured_and_shown_on_the_job_page(client, redis):
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    response = submit_later(client, run_at=start.strftime("%Y-%m-%dT%H:%M:%S"))  # no zone: UTC
    job_id = response.get_json()["id"]
    assert ScheduledJobRegistry("default", connection=redis).get_scheduled_time(job_id) == start
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    machine = start.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert f'Scheduled to start at <time class="local" datetime="{machine}"' in page


def test_a_scheduled_job_can_be_canceled_before_it_starts(client, redis):
    job_id = submit_later(client, run_in=3600).get_json()["id"]
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 202 and response.get_json()["status"] == "canceled"
    assert job_id not in ScheduledJobRegistry("default", connection=redis).get_job_ids()
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "canceled"


@pytest.mark.parametrize(
    ("when", "field"),
    [
        ({"run_in": 0}, "run_in"),
        ({"run_in": "soon"}, "run_in"),
        ({"run_in": 90 * 24 * 3600}, "run_in"),
        ({"run_at": "2001-01-01T00:00:00Z"}, "run_at"),
        ({"run_at": "next tuesday"}, "run_at"),
        ({"run_at": "2099-01-01T00:00:00Z", "run_in": 5}, "run_at"),
    ],
)
def test_a_bad_start_time_is_422_naming_the_field(client, when, field):
    response = submit_later(client, **when)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_the_form_schedules_a_job(client, api):
    response = client.post(
        "/jobs/new/steps", data={"n": "1", "pause": "0", "run_in": "600", "csrf_token": api.csrf_token()}
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "scheduled"


def test_the_form_names_a_bad_start_time(client, api):
    response = client.post("/jobs/new/steps", data={"n": "1", "run_at": "yesterday", "csrf_token": api.csrf_token()})
    assert response.status_code == 422
    assert "must be a date and time" in response.get_data(as_text=True)


def test_openapi_describes_run_later(client):
    spec = client.get("/api/openapi.json").get_json()
    properties = spec["components"]["schemas"]["Submit_steps"]["properties"]
    assert {"run_at", "run_in"} <= set(properties)
