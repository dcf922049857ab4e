"""A job's process or its whole worker dies mid-job: the job fails with a reason or is retried
per its policy, at once for a work horse and within seconds for a worker; it never stays
"started", and it does not run twice at the same time.
"""

import os
import signal
import time

from tests.clients import read_until_closed
from tests.helpers import markers, wait_for
from tests.processes import gone


def test_a_killed_work_horse_fails_its_job_at_once_with_a_reason(api, fast_worker, marker_dir):
    worker = fast_worker()
    job_id = api.submit("attempts_once", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the job to start")
    os.kill(worker.wait_work_horse(), signal.SIGKILL)

    job = api.wait_status(job_id, "failed")
    assert "stopped unexpectedly" in job["error"]["message"]
    assert "signal 9" in job["error"]["detail"]
    assert markers(marker_dir) == ["attempt-1"]
    # The worker lives on and takes the next job.
    assert worker.process.poll() is None
    assert api.wait_status(api.submit("steps", n=1), "finished")["result"] == {"steps": 1}


def test_a_killed_work_horse_is_retried_when_its_type_allows(api, fast_worker, marker_dir):
    worker = fast_worker()
    job_id = api.submit("attempts", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the first attempt to start")
    os.kill(worker.wait_work_horse(), signal.SIGKILL)

    job = api.wait_status(job_id, "finished", "failed")
    assert job["status"] == "finished", job["error"]
    assert job["result"] == {"attempt": 2}
    assert job["attempt"] == 2
    assert markers(marker_dir) == ["attempt-1", "attempt-2", "done-2"]


def test_a_job_over_its_time_limit_fails_saying_so(api, fast_worker):
    fast_worker()
    job = api.wait_status(api.submit("overrun", seconds=30), "failed")
    assert job["error"]["message"] == "The job timed out after 1 second."
    assert "JobTimeoutException" in job["error"]["detail"]


def test_a_killed_worker_s_job_is_retried_by_a_survivor_within_seconds(browser, redis, fast_worker, marker_dir):
    doomed = fast_worker()
    job_id = browser.submit("attempts", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the first attempt to start")
    horse = doomed.wait_work_horse()
    survivor = fast_worker()
    ws = browser.socket(job_id)
    assert ws.recv()  # the first snapshot: the socket is live before the crash

    killed_at = time.monotonic()
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its scheduler, as a machine dying would
    wait_for(lambda: gone(horse), 30, "the work horse to die with its worker")

    job = browser.wait_status(job_id, "finished", "failed", timeout=30)
    recovered_in = time.monotonic() - killed_at
    print(f"\nabandoned job retried and finished {recovered_in:.1f}s after its worker was killed")
    assert job["status"] == "finished", job["error"]
    assert job["attempt"] == 2
    # The first attempt never completed, and the retry ran once.
    assert markers(marker_dir) == ["attempt-1", "attempt-2", "done-2"]
    messages = read_until_closed(ws)
    assert messages[-1]["type"] == "snapshot" and messages[-1]["status"] == "finished"
    assert survivor.process.poll() is None


def test_a_killed_worker_s_job_without_retries_fails_as_abandoned(api, fast_worker, marker_dir):
    doomed = fast_worker()
    job_id = api.submit("attempts_once", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the job to start")
    fast_worker()
    os.killpg(doomed.pid, signal.SIGKILL)

    job = api.wait_status(job_id, "failed", timeout=30)
    assert job["error"]["message"] == "The worker running this job disappeared before it finished."
    assert job["started_at"] <= job["ended_at"]  # so the page can say when it ended and how long it ran
    assert markers(marker_dir) == ["attempt-1"]


def test_a_job_asked_to_stop_after_its_worker_died_is_not_retried(client, api, fast_worker, marker_dir):
    doomed = fast_worker()
    job_id = api.submit("attempts", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the first attempt to start")
    os.killpg(doomed.pid, signal.SIGKILL)
    # Nobody can stop it now; its owner asks anyway, before the survivors notice it was abandoned.
    assert client.delete(f"/api/jobs/{job_id}").get_json()["status"] == "stopping"
    fast_worker()

    job = api.wait_status(job_id, "stopped", "finished", "failed", timeout=30)
    assert job["status"] == "stopped"
    assert job["error"]["message"] == "The job was stopped on request."
    assert markers(marker_dir) == ["attempt-1"]
