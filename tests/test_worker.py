"""Real `python worker.py` processes: what they run, refuse and report."""

import json
import zlib

from rq import Queue
from rq.serializers import JSONSerializer

from jobs.core import keys
from tests.environment import VAR
from tests.helpers import RunsOnUnpickle, drain_events, wait_for


def test_worker_refuses_a_function_outside_the_catalogue(client, api, redis, worker):
    # Whoever can write to Redis enqueues a dangerous function by name.
    victim = VAR / "should-not-exist"
    queue = Queue("default", connection=redis, serializer=JSONSerializer)
    job = queue.enqueue("os.system", f"touch {victim}", meta={"owner": "x", "type": "steps"})
    job_ok = queue.enqueue("tests.job_fixtures.touch", str(VAR / "did-run"), meta={"owner": "x"})
    client.get("/")
    for j in (job, job_ok):
        with client.session_transaction() as session:
            session["owner"] = "x"
        api.wait_status(j.id, "failed", "finished")
    refused = client.get(f"/api/jobs/{job.id}").get_json()
    assert refused["status"] == "failed"
    assert "not in the catalogue" in refused["error"]["message"]
    assert not victim.exists()
    assert (VAR / "did-run").read_text() == "ran"  # the worker lived on and ran the next job


def test_worker_refuses_a_pickled_payload_that_names_a_global(redis, worker):
    queue = Queue("default", connection=redis)  # RQ's default serializer is pickle
    job = queue.enqueue("tests.job_fixtures.touch", RunsOnUnpickle(f"touch {VAR / 'pickled-global'}"))
    wait_for(lambda: redis.hget(job.key, "status") == b"failed", 30, "the pickled job to fail")
    assert not (VAR / "pickled-global").exists()
    assert worker.process.poll() is None


def test_a_pickled_payload_of_plain_values_runs_as_json(redis, worker):
    queue = Queue("default", connection=redis)  # as RQ's CLI without Spool's classes saves a job
    job = queue.enqueue("tests.job_fixtures.touch", str(VAR / "pickled-plain"))
    wait_for(lambda: redis.hget(job.key, "status") == b"finished", 30, "the pickled job to run")
    assert (VAR / "pickled-plain").read_text() == "ran"
    assert json.loads(zlib.decompress(redis.hget(job.key, "data")))[0] == "tests.job_fixtures.touch"


def test_progress_is_coalesced_and_the_last_update_lands(api, redis, worker):
    pubsub = redis.pubsub()
    pubsub.psubscribe(keys.CHANNEL_PATTERN)
    job_id = api.submit("spam", calls=300_000)
    job = api.wait_status(job_id, "finished", "failed")
    assert job["status"] == "finished" and job["result"] == 300_000
    assert job["progress"]["done"] == 300_000 and job["progress"]["percent"] == 100.0
    published = drain_events(pubsub)
    progress = [e for e in published if e["type"] == "progress"]
    assert progress[-1]["done"] == 300_000
    # 300,000 calls became a handful of writes: one per interval of the job's run, the one the
    # first call's burst may take at once (jobs.core.reporter), and the last.
    # elapsed_s is rounded to a tenth of a second: the run may have lasted up to 0.05 s longer.
    assert len(progress) <= (job["progress"]["elapsed_s"] + 0.05) / 0.1 + 3


def test_a_job_keeps_its_owner_and_type_in_meta(api, redis, worker):
    job_id = api.submit("steps", n=1)
    api.wait_status(job_id, "finished")
    meta = json.loads(redis.hget(keys.job_key(job_id), "meta"))
    assert meta["type"] == "steps"
    assert meta["owner"]
    assert meta["progress"]["done"] == 1


def test_a_huge_progress_message_and_log_line_are_cut_visibly_in_the_worker(api, worker, redis):
    job_id = api.submit("chatter", size=1_000_000)
    snapshot = api.wait_status(job_id, "finished", "failed")
    message = snapshot["progress"]["message"]
    assert len(message) <= 500 and message.endswith("… [cut]")
    (line,) = snapshot["log"]
    assert len(line) <= 2000 and line.endswith("… [cut]")
    # What sockets and the API get comes from the meta: it holds the cut message, not the megabyte.
    assert len(redis.hget(keys.job_key(job_id), "meta")) < 10_000
