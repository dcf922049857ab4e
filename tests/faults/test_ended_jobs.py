"""A job that has ended is never taken for abandoned and run again.

RQ keeps a running job in its queue's started registry until the transaction that records its
end takes it out. If an entry outlived its job (as RQ 2.12 left one when that transaction met a
WatchError), a worker's look for abandoned jobs would have retried or failed a finished job.
"""

from rq.registry import StartedJobRegistry

from tests.helpers import markers, wait_for


def _started(redis, job_id: str) -> list[bytes]:
    return [
        m
        for m in redis.zrange(StartedJobRegistry("default", connection=redis).key, 0, -1)
        if m.startswith(job_id.encode())
    ]


def test_a_job_whose_end_meets_a_concurrent_write_leaves_the_started_registry(api, redis, fast_worker, tmp_path):
    fast_worker()
    job_id = api.submit("ends_in_a_race", marker_dir=str(tmp_path))
    finished = api.wait_status(job_id, "finished", "failed")
    assert finished["status"] == "finished", finished["error"]
    assert "raced" in markers(tmp_path), "the end-of-job transaction did not meet the concurrent write"
    assert _started(redis, job_id) == []


def test_a_finished_job_left_in_the_started_registry_is_not_run_again(api, redis, fast_worker, tmp_path):
    fast_worker()
    job_id = api.submit("attempts", marker_dir=str(tmp_path))  # it has a retry left
    assert api.wait_status(job_id, "finished", "failed")["status"] == "finished"
    registry = StartedJobRegistry("default", connection=redis)
    redis.zadd(registry.key, {f"{job_id}:a-lost-execution": 1})  # lapsed long ago
    wait_for(lambda: not _started(redis, job_id), 30, "the worker to clear the lapsed entry")
    assert redis.hget(f"rq:job:{job_id}", "status") == b"finished"
    assert markers(tmp_path) == ["attempt-1", "done-1"]
    assert api.job(job_id)["status"] == "finished"


def test_a_lapsed_entry_beside_the_jobs_live_one_is_cleared_and_the_run_goes_on(api, redis, fast_worker, tmp_path):
    fast_worker()
    job_id = api.submit("attempts", marker_dir=str(tmp_path), block_first=60)
    api.wait_status(job_id, "started")
    registry = StartedJobRegistry("default", connection=redis)
    stale = f"{job_id}:an-earlier-run"
    redis.zadd(registry.key, {stale: 1})  # as a fan-out parent's first run leaves when woken again
    wait_for(lambda: redis.zscore(registry.key, stale) is None, 30, "the worker to clear the lapsed entry")
    assert redis.hget(f"rq:job:{job_id}", "status") == b"started"
    assert len(_started(redis, job_id)) == 1  # its live entry
    assert markers(tmp_path) == ["attempt-1"]


def test_the_clocks_sweep_leaves_a_finished_jobs_lapsed_entry_alone(api, redis, worker, tmp_path):
    from jobs.core import housekeeping

    job_id = api.submit("attempts", marker_dir=str(tmp_path))  # it has a retry left
    assert api.wait_status(job_id, "finished", "failed")["status"] == "finished"
    redis.zadd(StartedJobRegistry("default", connection=redis).key, {f"{job_id}:a-lost-execution": 1})
    housekeeping.sweep()
    assert redis.hget(f"rq:job:{job_id}", "status") == b"finished"
    assert redis.llen("rq:queue:default") == 0
