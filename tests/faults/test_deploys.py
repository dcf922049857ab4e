"""Deploys: SIGTERM to a worker lets its job finish (within a grace) before it exits, and
SIGTERM to the web closes its sockets at once so browsers reconnect to another process."""

import os
import signal

import websocket

from tests.clients import Browser
from tests.helpers import markers, wait_for


def test_sigterm_lets_the_running_job_finish_then_the_worker_exits(client, api, fast_worker):
    worker = fast_worker()
    job_id = api.submit("steps", n=30, pause=0.1)
    wait_for(lambda: (client.get(f"/api/jobs/{job_id}").get_json()["progress"] or {}).get("done"), 30, "progress")
    # As a container stop does: every process of the worker, its work horse included, gets SIGTERM.
    horse = worker.wait_work_horse()
    os.killpg(worker.pid, signal.SIGTERM)
    os.kill(horse, signal.SIGTERM)
    waiting = api.submit("steps", n=1)

    assert worker.process.wait(30) == 0
    job = client.get(f"/api/jobs/{job_id}").get_json()
    assert job["status"] == "finished" and job["result"] == {"steps": 30}
    # The worker took nothing new once told to stop: the next job waits for another worker.
    assert client.get(f"/api/jobs/{waiting}").get_json()["status"] == "queued"


def test_a_job_still_running_after_the_grace_is_interrupted_with_a_reason(api, fast_worker, marker_dir):
    worker = fast_worker(env={"WORKER_SHUTDOWN_GRACE": "1"})
    job_id = api.submit("attempts_once", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the job to start")
    os.killpg(worker.pid, signal.SIGTERM)

    assert worker.process.wait(30) == 0
    job = api.wait_status(job_id, "failed")
    assert job["error"]["message"] == (
        "The worker running this job was shut down (a deploy or restart) and the job did not finish "
        "within the 1 s it was given."
    )
    assert markers(marker_dir) == ["attempt-1"]


def close_code(ws) -> int:
    """Read until the server's close frame; return its status code."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big")


def test_sigterm_to_the_web_closes_its_sockets_so_browsers_reconnect_elsewhere(live_server, redis, start_web, worker):
    leaving = start_web()
    browser = Browser(leaving)
    job_id = browser.submit("block", seconds=60)
    browser.wait_status(job_id, "started")
    ws = browser.socket(job_id)
    assert ws.recv()  # the snapshot
    os.killpg(leaving.process.pid, signal.SIGTERM)

    assert close_code(ws) == 1012  # "service restart": the page reconnects at once
    assert leaving.process.wait(15) == 0
    # The same browser reconnects to another web process and carries on.
    browser.server = live_server
    again = browser.socket(job_id)
    assert '"status":"started"' in again.recv()
    browser.http.delete(f"{live_server.url}/api/jobs/{job_id}")
    browser.wait_status(job_id, "stopped")
    browser.close()
