"""RQ's own command line, as an operator runs it, on Spool's jobs: nothing it does loses a job."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import zlib

import pytest

from jobs.core import keys, payloads
from tests.environment import REDIS_URL, ROOT
from tests.helpers import RunsOnUnpickle

RQ = str(ROOT / ".venv" / "bin" / "rq")
# The environment the project ships for operators (honcho reads it).
SHIPPED = dict(
    line.split("=", 1) for line in (ROOT / ".env").read_text().splitlines() if "=" in line and not line.startswith("#")
)


def rq_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `rq <args> --url <the suite's Redis>` from the project root, as an operator would."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RQ_")}
    return subprocess.run(
        [RQ, *args, "--url", REDIS_URL],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def failed_job(api, start_worker, tmp_path):
    """A failed job (its directory is missing) and the worker stopped, so nothing runs it."""
    worker = start_worker()
    job_id = api.submit("touch", path=str(tmp_path / "not-yet" / "ran"))
    api.wait_status(job_id, "failed")
    worker.stop()
    return job_id


def stored_as_json(redis, job_id: str) -> bool:
    meta, data = redis.hmget(keys.job_key(job_id), "meta", "data")
    try:
        json.loads(meta)
        json.loads(zlib.decompress(data))
    except ValueError:
        return False
    return True


def requeue(*extra: str, env: dict | None = None) -> None:
    done = rq_cli("requeue", "--all", "--queue", "default", *extra, env=env)
    assert done.returncode == 0, done.stderr


def test_rq_requeue_without_the_environment_damages_nothing_spool_cannot_repair(
    client, api, failed_job, start_worker, redis
):
    requeue()  # RQ's default classes: the job is saved back pickled
    assert not stored_as_json(redis, failed_job)
    assert api.job(failed_job)["status"] == "queued"  # its owner still sees it...
    assert failed_job in [j["id"] for j in client.get("/api/jobs").get_json()["jobs"]]
    assert stored_as_json(redis, failed_job)  # ...and reading it repaired it
    worker = start_worker()
    api.wait_status(failed_job, "failed")  # a worker ran it again (its directory is still missing)
    worker.stop()
    requeue("-S", "rq.serializers.JSONSerializer")
    assert api.job(failed_job)["status"] == "queued" and stored_as_json(redis, failed_job)


def test_rq_requeue_with_the_shipped_environment_keeps_the_job_json(api, failed_job, redis):
    assert SHIPPED == {"RQ_JOB_CLASS": "jobs.core.job.SpoolJob", "RQ_QUEUE_CLASS": "jobs.core.queue.SpoolQueue"}
    requeue(env=SHIPPED)
    assert stored_as_json(redis, failed_job)
    assert api.job(failed_job)["status"] == "queued"


def test_a_pickled_payload_that_calls_a_global_is_refused_and_never_runs(api, redis, tmp_path):
    marker = tmp_path / "ran"
    evil = pickle.dumps({"unserialized": RunsOnUnpickle(f"touch {marker}")})
    with pytest.raises(payloads.UnsafePayload):
        payloads.loads(evil)
    assert payloads.loads(pickle.dumps({"owner": "x", "n": [1, 2.5, None, True]})) == {
        "owner": "x",
        "n": [1, 2.5, None, True],
    }
    job_id = api.submit("steps", n=1)
    redis.hset(keys.job_key(job_id), "meta", evil)
    assert api.client.get(f"/api/jobs/{job_id}").status_code == 404  # its owner is unreadable
    assert not marker.exists() and redis.hget(keys.job_key(job_id), "meta") == evil
