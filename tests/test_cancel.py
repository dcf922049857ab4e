"""One cancellation model: a waiting job is canceled, a running one is stopped (its cleanup
runs), the jobs that wait on it never run, and the API, the socket and the worker agree."""

from pathlib import Path

from rq.registry import ScheduledJobRegistry

from jobs.runtime import queue
from tests.conftest import VAR, api_submit, wait_status
from tests.job_fixtures import touch


def owner_of(client) -> str:
    client.get("/")
    with client.session_transaction() as session:
        return session["owner"]


def enqueue_after(client, redis, parent_id: str, path: Path) -> str:
    """A job that depends on another, as a pipeline of jobs would enqueue it."""
    child = queue("default", redis).enqueue_call(
        touch, kwargs={"path": str(path)}, depends_on=parent_id, meta={"owner": owner_of(client), "type": "touch"}
    )
    return child.id


def test_stopping_a_running_job_runs_its_cleanup_and_says_stopped(client, worker):
    cleaned = VAR / "cleaned-after-stop"
    job_id = api_submit(client, "block_with_cleanup", path=str(cleaned))
    wait_status(client, job_id, "started")
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 202 and response.get_json()["status"] == "stopping"

    job = wait_status(client, job_id, "stopped", "failed", "finished")
    assert job["status"] == "stopped"
    assert job["error"]["message"] == "The job was stopped on request."
    assert cleaned.read_text() == f"cleaned up after {job_id}"
    assert client.delete(f"/api/jobs/{job_id}").status_code == 409
    # The worker lives on.
    assert wait_status(client, api_submit(client, "steps", n=1), "finished")["status"] == "finished"


def test_a_queued_job_canceled_never_runs(client, start_worker):
    first = api_submit(client, "parked", n=1)
    second = api_submit(client, "parked", n=2)
    response = client.delete(f"/api/jobs/{first}")
    assert response.status_code == 202 and response.get_json()["status"] == "canceled"
    start_worker("parked")
    wait_status(client, second, "finished")
    job = client.get(f"/api/jobs/{first}").get_json()
    assert job["status"] == "canceled" and job["started_at"] is None
    assert job["error"]["message"] == "The job was canceled before it ran."


def test_a_job_waiting_for_its_retry_shows_when_and_can_be_canceled(client, redis, worker):
    job_id = api_submit(client, "retry_later")
    job = wait_status(client, job_id, "scheduled")
    assert job["attempt"] == 2 and job["attempts"] == 4
    assert job["retry_at"] and job["retry_at"] == job["scheduled_for"]
    assert client.delete(f"/api/jobs/{job_id}").get_json()["status"] == "canceled"
    assert job_id not in ScheduledJobRegistry("default", connection=redis).get_job_ids()
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "canceled"


def test_the_jobs_waiting_on_a_stopped_job_are_canceled_and_never_run(client, redis, worker):
    parent = api_submit(client, "block", seconds=60)
    child_ran, grandchild_ran = VAR / "child-ran", VAR / "grandchild-ran"
    child = enqueue_after(client, redis, parent, child_ran)
    grandchild = enqueue_after(client, redis, child, grandchild_ran)
    assert client.get(f"/api/jobs/{child}").get_json()["status"] == "deferred"
    wait_status(client, parent, "started")
    client.delete(f"/api/jobs/{parent}")

    wait_status(client, parent, "stopped")
    for job_id in (child, grandchild):
        job = wait_status(client, job_id, "canceled")
        assert job["error"]["message"] == "The job was canceled because a job it waited for was stopped or failed."
    assert wait_status(client, api_submit(client, "steps", n=1), "finished")  # the queue has moved on
    assert not child_ran.exists() and not grandchild_ran.exists()


def test_the_jobs_waiting_on_a_failed_job_are_canceled(client, redis, start_worker):
    parent = api_submit(client, "fail", message="bad input")
    child = enqueue_after(client, redis, parent, VAR / "after-failure-ran")
    assert client.get(f"/api/jobs/{child}").get_json()["status"] == "deferred"
    start_worker()  # only now: a parent failed before its child was enqueued would leave nothing to cancel
    assert wait_status(client, parent, "failed")["error"]["message"] == "bad input"
    wait_status(client, child, "canceled")


def test_a_job_enqueued_after_its_dependency_failed_is_canceled_at_once(client, redis, worker):
    parent = api_submit(client, "fail", message="bad input")
    wait_status(client, parent, "failed")
    child = enqueue_after(client, redis, parent, VAR / "after-the-end-ran")
    job = client.get(f"/api/jobs/{child}").get_json()
    assert job["status"] == "canceled"
    assert job["error"]["message"] == "The job was canceled because a job it waited for was stopped or failed."


def test_canceling_a_queued_job_cancels_the_jobs_waiting_on_it(client, redis):
    parent = api_submit(client, "parked")
    child = enqueue_after(client, redis, parent, VAR / "after-cancel-ran")
    client.delete(f"/api/jobs/{parent}")
    assert client.get(f"/api/jobs/{child}").get_json()["status"] == "canceled"


def test_a_stop_of_a_job_that_is_over_is_409(client, worker):
    job_id = api_submit(client, "steps", n=1)
    wait_status(client, job_id, "finished")
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 409
    assert "already finished" in response.get_json()["error"]["message"]
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "finished"
