"""The clock: `rq cron jobs/schedule.py` enqueues housekeeping that Spool's workers run."""

from __future__ import annotations

import time

import pytest
from rq.cron import get_cron_job_ids
from rq.serializers import JSONSerializer

from jobs.core import keys
from jobs.core.job import SpoolJob
from tests.helpers import wait_for


def test_cron_enqueued_sweep_runs_on_a_spool_worker(api, redis, worker, clock):
    kept = api.submit("steps", n=1)
    api.wait_status(kept, "finished")
    owner_key = next(k.decode() for k in redis.scan_iter(keys.OWNER_PREFIX + "*") if redis.zscore(k, kept))
    redis.zadd(owner_key, {"long-gone-job": time.time()})
    redis.rpush(keys.log_key("long-gone-job"), "an orphaned line")
    redis.hset(keys.files_key("long-gone-job"), "out.csv", b"a,b")
    redis.hset(keys.files_index_key("long-gone-job"), "out.csv", "{}")

    job_id = wait_for(lambda: next(iter(get_cron_job_ids("sweep", redis)), None), 30, "the clock to enqueue a sweep")

    def finished():
        job = SpoolJob.fetch(job_id, connection=redis, serializer=JSONSerializer)
        return job if job.get_status() in ("finished", "failed") else None

    job = wait_for(finished, 30, "the sweep to finish")
    assert job.get_status() == "finished", job.latest_result().exc_string
    assert job.return_value()["owner_entries_forgotten"] == 1
    assert job.return_value()["orphaned_keys_deleted"] == 3
    assert [m.decode() for m in redis.zrange(owner_key, 0, -1)] == [kept]
    assert not redis.exists(keys.log_key("long-gone-job"), keys.files_key("long-gone-job"))
    assert not redis.exists(keys.files_index_key("long-gone-job"))
    assert job.meta["type"] == "sweep"


def test_internal_job_types_are_hidden_from_users(client):
    assert "sweep" not in [t["name"] for t in client.get("/api/job-types").get_json()]
    assert client.post("/api/jobs", json={"type": "sweep", "params": {}}).status_code == 404
    assert client.get("/jobs/new/sweep").status_code == 404
    assert "sweep" not in client.get("/").get_data(as_text=True)
    assert "sweep" not in str(client.get("/api/openapi.json").get_json())


def test_only_catalogued_functions_can_be_scheduled():
    from jobs.schedule import every

    with pytest.raises(ValueError, match="not a catalogued job type"):
        every(print, minutes=1)
