"""One cancellation model: a waiting job is canceled, a running one is stopped (its cleanup
runs), the jobs that wait on it never run, and the API, the socket and the worker agree."""

from pathlib import Path

from rq.registry import ScheduledJobRegistry

from jobs.core.queue import queue
from tests.environment import VAR
from tests.job_fixtures import touch


def enqueue_after(api, redis, parent_id: str, path: Path) -> str:
    """A job that depends on another, as a pipeline of jobs would enqueue it."""
    child = queue("default", redis).enqueue_call(
        touch, kwargs={"path": str(path)}, depends_on=parent_id, meta={"owner": api.owner(), "type": "touch"}
    )
    return child.id


def test_stopping_a_running_job_runs_its_cleanup_and_says_stopped(client, api, worker):
    cleaned = VAR / "cleaned-after-stop"
    job_id = api.submit("block_with_cleanup", path=str(cleaned))
    api.wait_status(job_id, "started")
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 202 and response.get_json()["status"] == "stopping"

    job = api.wait_status(job_id, "stopped", "failed", "finished")
    assert job["status"] == "stopped"
    assert job["error"]["message"] == "The job was stopped on request."
    assert job["started_at"] <= job["ended_at"]  # so the page can say when it ended and how long it ran
    assert cleaned.read_text() == f"cleaned up after {job_id}"
    assert client.delete(f"/api/jobs/{job_id}").status_code == 409
    # The worker lives on.
    assert api.wait_status(api.submit("steps", n=1), "finished")["status"] == "finished"


def test_a_queued_job_canceled_never_runs(client, api, start_worker):
    first = api.submit("parked", n=1)
    second = api.submit("parked", n=2)
    response = client.delete(f"/api/jobs/{first}")
    assert response.status_code == 202 and response.get_json()["status"] == "canceled"
    start_worker("parked")
    api.wait_status(second, "finished")
    job = client.get(f"/api/jobs/{first}").get_json()
    assert job["status"] == "canceled" and job["started_at"] is None
    assert job["error"]["message"] == "The job was canceled before it ran."


def test_a_job_waiting_for_its_retry_shows_when_and_can_be_canceled(client, api, redis, worker):
    job_id = api.submit("retry_later")
    job = api.wait_status(job_id, "scheduled")
    assert job["attempt"] == 2 and job["attempts"] == 4
    assert job["retry_at"] and job["retry_at"] == job["scheduled_for"]
    assert client.delete(f"/api/jobs/{job_id}").get_json()["status"] == "canceled"
    assert job_id not in ScheduledJobRegistry("default", connection=redis).get_job_ids()
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "canceled"


def test_the_jobs_waiting_on_a_stopped_job_are_canceled_and_never_run(client, api, redis, worker):
    parent = api.submit("block", seconds=60)
    child_ran, grandchild_ran = VAR / "child-ran", VAR / "grandchild-ran"
    child = enqueue_after(api, redis, parent, child_ran)
    grandchild = enqueue_after(api, redis, child, grandchild_ran)
    assert client.get(f"/api/jobs/{child}").get_json()["status"] == "deferred"
    api.wait_status(parent, "started")
    client.delete(f"/api/jobs/{parent}")

    api.wait_status(parent, "stopped")
    for job_id in (child, grandchild):
        job = api.wait_status(job_id, "canceled")
        assert job["error"]["message"] == "The job was canceled because a job it waited for was stopped or failed."
    assert api.wait_status(api.submit("steps", n=1), "finished")  # the queue has moved on
    assert not child_ran.exists() and not grandchild_ran.exists()


def test_the_jobs_waiting_on_a_failed_job_are_canceled(client, api, redis, start_worker):
    parent = api.submit("fail", message="bad input")
    child = enqueue_after(api, redis, parent, VAR / "after-failure-ran")
    assert client.get(f"/api/jobs/{child}").get_json()["status"] == "deferred"
    start_worker()  # only now: a parent failed before its child was enqueued would leave nothing to cancel
    assert api.wait_status(parent, "failed")["error"]["message"] == "bad input"
    api.wait_status(child, "canceled")


def test_a_job_enqueued_after_its_dependency_failed_is_canceled_at_once(client, api, redis, worker):
    parent = api.submit("fail", message="bad input")
    api.wait_status(parent, "failed")
    child = enqueue_after(api, redis, parent, VAR / "after-the-end-ran")
    job = client.get(f"/api/jobs/{child}").get_json()
    assert job["status"] == "canceled"
    assert job["error"]["message"] == "The job was canceled because a job it waited for was stopped or failed."


def test_canceling_a_queued_job_cancels_the_jobs_waiting_on_it(client, api, redis):
    parent = api.submit("parked")
    child = enqueue_after(api, redis, parent, VAR / "after-cancel-ran")
    client.delete(f"/api/jobs/{parent}")
    assert client.get(f"/api/jobs/{child}").get_json()["status"] == "canceled"


def test_a_stop_of_a_job_that_is_over_is_409(client, api, worker):
    job_id = api.submit("steps", n=1)
    api.wait_status(job_id, "finished")
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 409
    assert "already finished" in response.get_json()["error"]["message"]
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "finished"
