"""Deleting from the dashboard goes through Spool: a running job stops, nothing it owned stays."""

from __future__ import annotations

import pytest

from jobs.core import housekeeping, keys
from tests.helpers import wait_for
from tests.test_dashboard import dashboard_csrf_token


def traces(redis, job_id: str) -> list[str]:
    """Every key named after the job, and every set, sorted set or list that holds its id."""
    found = []
    for raw in redis.scan_iter(count=1000):
        key = raw.decode()
        kind = redis.type(key).decode()
        if job_id in key:
            found.append(key)
        elif kind == "zset" and redis.zscore(key, job_id) is not None:
            found.append(f"{key} (member)")
        elif kind == "set" and redis.sismember(key, job_id):
            found.append(f"{key} (member)")
        elif kind == "list" and job_id.encode() in redis.lrange(key, 0, -1):
            found.append(f"{key} (member)")
    return found


def dashboard_post(operator, path: str) -> dict:
    response = operator.post(path, headers={"X-CSRFToken": dashboard_csrf_token(operator)})
    assert response.status_code == 200
    return response.get_json()


def test_a_running_job_deleted_in_the_dashboard_stops_and_leaves_nothing(api, operator, worker, redis):
    job_id = api.submit("block", seconds=60)
    api.wait_status(job_id, "started")
    assert dashboard_post(operator, f"/rq/job/{job_id}/delete") == {"status": "OK"}
    assert wait_for(lambda: not traces(redis, job_id), 15, "the job's keys to go") is True
    # The one worker is free again: the job was stopped, not left running.
    api.wait_status(api.submit("steps", n=1), "finished", timeout=15)
    assert traces(redis, job_id) == []


@pytest.mark.parametrize("registry", ["queued", "failed"])
def test_empty_leaves_nothing_of_the_jobs_behind(api, operator, start_worker, redis, registry):
    if registry == "failed":
        worker = start_worker()
        job_ids = [api.submit("fail") for _ in range(2)]
        for job_id in job_ids:
            api.wait_status(job_id, "failed")
        worker.stop()
    else:
        response = api.submit_files("echo_file", {"note": "x"}, data=("a.txt", b"some text\n"))
        assert response.status_code == 202
        job_ids = [response.get_json()["id"], api.submit("steps", n=1)]
    uploads = list(redis.scan_iter(keys.upload_key("*")))
    assert dashboard_post(operator, f"/rq/queue/default/{registry}/empty") == {"status": "OK"}
    assert [traces(redis, job_id) for job_id in job_ids] == [[], []]
    assert [redis.exists(u) for u in uploads] == [0] * len(uploads)


def test_housekeeping_sweeps_every_kind_of_key_a_vanished_job_left(redis):
    gone = "0123456789abcdef0123456789abcdef"
    left = [keys.log_key(gone), keys.files_index_key(gone), keys.stop_key(gone), keys.mail_key(gone, "failed", "sent")]
    for key in left:
        redis.set(key, "1")
    housekeeping.sweep()
    assert [redis.exists(key) for key in left] == [0, 0, 0, 0]
