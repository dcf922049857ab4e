"""A worker that died alone: nobody is left to retry its job, so the snapshot, the socket and
the page say that the worker stopped responding, until a worker comes back and retries it."""

import json
import signal
from datetime import datetime

from tests.helpers import wait_for


def test_a_lone_dead_worker_s_job_is_shown_stalled_until_a_worker_retries_it(browser, fast_worker, marker_dir):
    doomed = fast_worker()
    job_id = browser.submit("attempts", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the first attempt to start")
    assert browser.job(job_id)["stalled"] is False
    ws = browser.socket(job_id)
    assert json.loads(ws.recv())["stalled"] is False

    doomed.stop(signal.SIGKILL)  # its whole process group: no worker is left
    stalled = wait_for(lambda: browser.job(job_id)["stalled"] and browser.job(job_id), 30, "the job to be stalled")
    assert stalled["status"] == "started"
    assert datetime.fromisoformat(stalled["stalled_since"]).tzinfo is not None
    # The socket says so too, without an event from anyone.
    while not (message := json.loads(ws.recv()))["type"] == "snapshot" or not message["stalled"]:
        pass
    page = browser.http.get(f"{browser.server.url}/jobs/{job_id}").text
    assert "The worker running this job stopped responding. The job will run again" in page

    fast_worker()
    finished = browser.wait_status(job_id, "finished", "failed", timeout=60)
    assert finished["status"] == "finished" and finished["attempt"] == 2
    assert finished["stalled"] is False
