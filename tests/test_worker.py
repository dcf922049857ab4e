"""Real `python worker.py` processes: what they run, refuse and report."""

import json

from rq import Queue
from rq.serializers import JSONSerializer

from jobs import events
from tests.conftest import VAR, api_submit, wait_for, wait_status


def test_worker_refuses_a_function_outside_the_catalogue(client, redis, worker):
    # Whoever can write to Redis enqueues a dangerous function by name.
    victim = VAR / "should-not-exist"
    queue = Queue("default", connection=redis, serializer=JSONSerializer)
    job = queue.enqueue("os.system", f"touch {victim}", meta={"owner": "x", "type": "steps"})
    job_ok = queue.enqueue("tests.job_fixtures.touch", str(VAR / "did-run"), meta={"owner": "x"})
    client.get("/")
    for j in (job, job_ok):
        with client.session_transaction() as session:
            session["owner"] = "x"
        wait_status(client, j.id, "failed", "finished")
    refused = client.get(f"/api/jobs/{job.id}").get_json()
    assert refused["status"] == "failed"
    assert "not in the catalogue" in refused["error"]["message"]
    assert not victim.exists()
    assert (VAR / "did-run").read_text() == "ran"  # the worker lived on and ran the next job


def test_worker_refuses_a_pickled_payload(redis, worker):
    queue = Queue("default", connection=redis)  # RQ's default serializer is pickle
    job = queue.enqueue("tests.job_fixtures.touch", str(VAR / "pickled"))
    wait_for(lambda: redis.hget(job.key, "status") == b"failed", 30, "the pickled job to fail")
    assert not (VAR / "pickled").exists()
    assert worker.process.poll() is None


def test_progress_is_coalesced_and_the_last_update_lands(client, redis, worker):
    pubsub = redis.pubsub()
    pubsub.psubscribe(events.CHANNEL_PATTERN)
    job_id = api_submit(client, "spam", calls=300_000)
    job = wait_status(client, job_id, "finished", "failed")
    assert job["status"] == "finished" and job["result"] == 300_000
    assert job["progress"]["done"] == 300_000 and job["progress"]["percent"] == 100.0
    published = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "pmessage":
            published.append(events.parse_message(message["data"])[1])
    pubsub.close()
    progress = [e for e in published if e["type"] == "progress"]
    assert progress[-1]["done"] == 300_000
    # 300,000 calls became a handful of writes: one per interval of the job's run, and the last.
    # elapsed_s is rounded to a tenth of a second: the run may have lasted up to 0.05 s longer.
    assert len(progress) <= (job["progress"]["elapsed_s"] + 0.05) / 0.1 + 2


def test_a_job_keeps_its_owner_and_type_in_meta(client, redis, worker):
    job_id = api_submit(client, "steps", n=1)
    wait_status(client, job_id, "finished")
    meta = json.loads(redis.hget(f"rq:job:{job_id}", "meta"))
    assert meta["type"] == "steps"
    assert meta["owner"]
    assert meta["progress"]["done"] == 1
