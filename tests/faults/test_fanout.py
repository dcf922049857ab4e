"""A worker dies mid-part: the part is retried by a survivor and the job still merges once."""

import os
import signal

import pytest

from tests.helpers import markers, wait_for
from tests.processes import gone


def test_a_part_whose_worker_was_killed_is_retried_and_the_job_merges_once(api, redis, fast_worker, tmp_path):
    doomed, survivor = fast_worker(), fast_worker()
    gate, marks = tmp_path / "gate", tmp_path / "marks"
    marks.mkdir()
    job_id = api.submit("fan_squares", n=4, gate=str(gate), marker_dir=str(marks))
    wait_for(lambda: len(markers(marks)) == 2, 30, "a part to run on each worker")
    horse = doomed.wait_work_horse()
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its work horse, mid-part
    wait_for(lambda: gone(horse), 30, "the work horse to die with its worker")
    gate.touch()

    finished = api.wait_status(job_id, "finished", "failed", timeout=60)
    assert finished["status"] == "finished", finished["error"]
    assert finished["result"] == {"squares": [[i, i * i] for i in range(4)], "merges": 1}
    # Exactly one part ran twice: the one the dead worker held.
    retried = [m for m in markers(marks) if m.endswith("attempt-2")]
    assert len(retried) == 1 and len(markers(marks)) == 5
    assert redis.get(f"test:merges:{job_id}") == b"1"
    assert survivor.process.poll() is None


@pytest.mark.parametrize("whole_worker", [False, True], ids=["its horse", "its whole worker"])
def test_a_job_whose_worker_dies_just_after_it_fanned_out_still_waits_and_merges(api, fast_worker, whole_worker):
    doomed = fast_worker()
    job_id = api.submit("fan_then_die", n=2, whole_worker=whole_worker)
    if whole_worker:
        wait_for(lambda: doomed.process.poll() is not None, 30, "the worker to die")
        fast_worker()  # a survivor finds the job's heartbeat lapsed: it is waiting, not abandoned
    finished = api.wait_status(job_id, "finished", "failed", timeout=60)
    assert finished["status"] == "finished", finished["error"]
    assert finished["result"] == {"squares": [[0, 0], [1, 1]], "merges": 1}
