"""Work horses forked before their job: each job runs in a horse that was already waiting,
one job per horse, and a waiting horse never outlives its worker or takes its job down."""

import os
import signal

from tests.helpers import wait_for
from tests.processes import gone


def _idle_horse(worker) -> int:
    return wait_for(lambda: next(iter(worker.idle_horses()), None), 30, "a work horse waiting for a job")


def test_each_job_runs_in_a_horse_forked_before_it_was_submitted_and_only_that_job(api, worker):
    ran = []
    for _ in range(2):
        waiting = _idle_horse(worker)
        job = api.wait_status(api.submit("own_process"), "finished", "failed")
        assert job["status"] == "finished", job["error"]
        ran.append(job["result"]["pid"])
        assert ran[-1] == waiting
        assert job["result"]["group"] == waiting  # it led its own group, as RQ's horse does
        wait_for(lambda: gone(ran[-1]), 30, "the horse to exit after its job")
    assert ran[0] != ran[1]


def test_a_horse_killed_while_it_waits_does_not_cost_the_next_job(api, worker):
    waiting = _idle_horse(worker)
    os.kill(waiting, signal.SIGKILL)
    job = api.wait_status(api.submit("own_process"), "finished", "failed")
    assert job["status"] == "finished", job["error"]
    assert job["result"]["pid"] != waiting
    assert worker.process.poll() is None


def test_a_waiting_horse_ends_with_its_worker_stopped_or_killed(start_worker):
    stopped, killed = start_worker(), start_worker()
    horses = [_idle_horse(stopped), _idle_horse(killed)]
    stopped.stop()  # SIGTERM to its whole group: the waiting horse ignores it, the worker ends it
    os.kill(killed.pid, signal.SIGKILL)  # the worker alone: the kernel takes its horse along
    for horse in horses:
        wait_for(lambda horse=horse: gone(horse), 30, f"the waiting horse {horse} to end")
