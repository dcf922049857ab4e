"""A large upload's encoding spread over the "ml" workers (jobs.builtin.texts.spread), on real
workers with the real model; past 64 documents here (TEXT_FAN_OUT_OVER), so parts of 32."""

from __future__ import annotations

import pytest
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from jobs.core import keys, parts
from tests.helpers import wait_for

SMALL_PARTS = {"TEXT_FAN_OUT_OVER": "64"}
TOPICS = [
    "ripe pears and apples from the orchard",
    "the late train to the coast",
    "a bug in the compiler's loop",
    "fresh bread from the bakery",
    "the storm closed the harbour",
]


@pytest.fixture(scope="module", autouse=True)
def model_exported():
    from jobs.builtin.texts import onnx_encoder

    onnx_encoder.ensure_export()  # a cold cache's export would outlast the wait for the workers


def lines(n: int) -> str:
    # Of many lengths, so that the model's shortest-first order is far from the file's.
    return "\n".join(f"note {i}: {' and '.join(TOPICS[j % 5] for j in range(i, i + 1 + i % 4))}" for i in range(n))


def run(api, job_type: str, params: dict, content: str) -> dict:
    response = api.submit_files(job_type, params, file=("notes.txt", content.encode()))
    assert response.status_code == 202, response.get_json()
    snapshot = api.wait_status(response.get_json()["id"], "finished", "failed", timeout=120)
    assert snapshot["status"] == "finished", snapshot["error"]
    return snapshot


def test_with_two_ml_workers_a_large_upload_is_encoded_in_parts_and_ranks_as_on_one(api, start_worker, redis):
    start_worker("ml", env=SMALL_PARTS)
    second = start_worker("ml", env=SMALL_PARTS)
    content = lines(200)
    search = {"query": "something to eat", "top_k": 20}
    spread = run(api, "semantic_search", search, content)
    assert spread["parts"] == {"total": 7, "done": 7, "running": 0, "waiting": 0, "failed": 0}
    assert spread["progress"]["done"] == spread["progress"]["total"] == 200
    assert [line for line in spread["log"] if line.startswith("read ")] == [
        "read 200 documents from the lines of notes.txt"
    ]
    clustered = run(api, "cluster_texts", {"k": 5}, content)
    assert clustered["parts"]["done"] == 7
    # The merges read the parts' vectors and dropped them.
    part_ids = parts.part_ids(spread["id"], 7) + parts.part_ids(clustered["id"], 7)
    assert not any(redis.exists(keys.files_key(i)) for i in part_ids)

    second.stop()
    # A worker that died without unregistering is still in RQ's registry for the queue: not counted.
    redis.sadd(WORKERS_BY_QUEUE_KEY % "ml", "rq:worker:gone")
    alone = run(api, "semantic_search", search, content)
    assert alone["parts"] is None
    assert alone["result"]["table"] == spread["result"]["table"]
    clustered_alone = run(api, "cluster_texts", {"k": 5}, content)
    assert clustered_alone["parts"] is None
    assert clustered_alone["result"]["clusters"] == clustered["result"]["clusters"]


def test_a_small_upload_is_encoded_on_one_worker_though_two_serve_ml(api, start_worker):
    start_worker("ml", env=SMALL_PARTS)
    start_worker("ml", env=SMALL_PARTS)
    snapshot = run(api, "semantic_search", {"query": "trains"}, lines(64))
    assert snapshot["parts"] is None
    assert snapshot["result"]["documents"] == 64


def test_canceling_a_spread_search_stops_its_parts_and_no_merge_runs(api, start_worker):
    workers = [start_worker("ml", env=SMALL_PARTS), start_worker("ml", env=SMALL_PARTS)]
    response = api.submit_files("semantic_search", {"query": "bread"}, file=("many.txt", lines(4000).encode()))
    job_id = response.get_json()["id"]
    wait_for(lambda: (api.job(job_id)["parts"] or {}).get("running"), 120, "parts to be encoding")
    assert api.client.delete(f"/api/jobs/{job_id}").status_code == 202
    assert api.wait_status(job_id, "canceled")["status"] == "canceled"
    count = api.job(job_id)["parts"]["total"]
    assert count == 8  # about four parts a worker, of 512 documents

    def settled():
        states = [api.job(i)["status"] for i in parts.part_ids(job_id, count)]
        return not {"queued", "started", "deferred", "scheduled"} & set(states) and states

    states = wait_for(settled, 60, "every part to be stopped or canceled")
    assert states.count("finished") < count and "canceled" in states
    wait_for(lambda: not any(w.work_horses() for w in workers), 30, "no part to keep running")
    assert api.job(job_id)["result"] is None
