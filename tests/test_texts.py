"""The text job types (jobs.builtin.texts) with the real model, through one real worker on the "ml" queue.

The worker loads the model once before forking, so the module starts one for all its tests.
"""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import subprocess
import sys

import pytest

from tests.clients import Api
from tests.environment import ROOT
from tests.helpers import wait_for
from tests.processes import WorkerProcess

FRUIT = ["Apples and pears are fruit", "A ripe banana is a sweet fruit", "She ate fresh cherries and plums"]
VEHICLES = ["The truck drove down the motorway", "He drives his car to work", "The train left the station late"]
CODE = ["The Python function returns a list", "Compile the program and fix the bug", "The code loops over an array"]


@pytest.fixture(scope="module")
def ml_worker(redis_server):
    from jobs.builtin.texts import onnx_encoder

    onnx_encoder.ensure_export()  # a cold cache's export would outlast the wait for the worker
    worker = WorkerProcess("ml").wait_ready()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def ml_client(redis_server):
    from webapp import create_app

    return create_app({"TESTING": True, "REDIS_URL": redis_server.url}).test_client()


@pytest.fixture(scope="module")
def ml_api(ml_client):
    return Api(ml_client)


def submit(api, job_type: str, params: dict, filename: str, content: str):
    return api.submit_files(job_type, params, file=(filename, content.encode()))


def run(api, job_type: str, params: dict, filename: str, content: str) -> dict:
    response = submit(api, job_type, params, filename, content)
    assert response.status_code == 202, response.get_json()
    return api.wait_status(response.get_json()["id"], "finished", "failed", timeout=90)


def test_semantic_search_ranks_by_meaning(ml_client, ml_api, ml_worker):
    lines = "\n".join(FRUIT + VEHICLES + ["", *CODE]) + "\n"
    snapshot = run(ml_api, "semantic_search", {"query": "something tasty to eat", "top_k": 3}, "docs.txt", lines)
    assert snapshot["status"] == "finished", snapshot["error"]
    result = snapshot["result"]
    assert result["documents"] == 9
    assert {row[3] for row in result["table"]["rows"]} == set(FRUIT)
    scores = [row[1] for row in result["table"]["rows"]]
    assert scores == sorted(scores, reverse=True)
    assert result["table"]["rows"][0][2] in (1, 2, 3)  # the line number in the file
    assert snapshot["progress"]["done"] == snapshot["progress"]["total"] == 9
    (matches,) = snapshot["files"]
    table = list(csv.reader(io.StringIO(ml_client.get(matches["url"]).get_data(as_text=True))))
    assert table[0] == ["rank", "score", "line", "text"] and len(table) == 4


def test_csv_column_and_jsonl_key_are_read(ml_api, ml_worker):
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["id", "body"])
    writer.writerows([i, text] for i, text in enumerate(VEHICLES + CODE))
    from_csv = run(
        ml_api, "semantic_search", {"query": "trains", "top_k": 1, "text_column": "body"}, "d.csv", rows.getvalue()
    )
    assert from_csv["result"]["table"]["rows"][0][3] == "The train left the station late"

    jsonl = "\n".join(json.dumps({"content": text}) for text in FRUIT + CODE)
    from_jsonl = run(
        ml_api, "semantic_search", {"query": "software bug", "top_k": 1, "text_column": "content"}, "d.jsonl", jsonl
    )
    assert from_jsonl["result"]["table"]["rows"][0][3] == "Compile the program and fix the bug"


def test_a_csv_with_no_column_named_is_read_from_the_column_holding_text_and_says_so(ml_api, ml_worker):
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["id", "score", "body", "tag"])
    writer.writerows([i, i * 1.5, text, "x"] for i, text in enumerate(VEHICLES + CODE))
    snapshot = run(ml_api, "semantic_search", {"query": "trains", "top_k": 1}, "d.csv", rows.getvalue())
    assert snapshot["result"]["table"]["rows"][0][3] == "The train left the station late"
    assert snapshot["result"]["read_from"] == "column 'body' of d.csv"
    assert "read 6 documents from column 'body' of d.csv" in snapshot["log"]
    assert snapshot["progress"]["message"] == "done"


def test_a_missing_csv_column_fails_saying_which_exist(ml_api, ml_worker):
    snapshot = run(ml_api, "semantic_search", {"query": "x", "text_column": "nope"}, "d.csv", "id,body\n1,hello\n")
    assert snapshot["status"] == "failed"
    assert "no column 'nope'" in snapshot["error"]["message"] and "id, body" in snapshot["error"]["message"]


def test_cluster_texts_groups_by_topic_with_a_chart(ml_client, ml_api, ml_worker):
    snapshot = run(ml_api, "cluster_texts", {"k": 3}, "docs.txt", "\n".join(CODE + FRUIT + VEHICLES))
    assert snapshot["status"] == "finished", snapshot["error"]
    clusters = snapshot["result"]["clusters"]
    assert sorted(sorted(c["members"]) for c in clusters) == sorted(sorted(t) for t in (FRUIT, VEHICLES, CODE))
    assert all(c["representative"] in c["members"] for c in clusters)
    files = {f["name"]: f for f in snapshot["files"]}
    png = ml_client.get(files["clusters.png"]["url"])
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png.data[16:24]) == (720, 480)
    assert png.data[25] == 6  # RGBA: a transparent background, for light and dark pages alike
    (chart,) = snapshot["result"]["charts"]
    assert chart["file"] == "clusters.png" and chart["title"] == "3 clusters of 9 texts"
    assert chart["alt"].startswith("Scatter chart of 9 points in 3 clusters")
    assert [e["label"].split(":")[0] for e in chart["legend"]] == ["1", "2", "3"]
    (fruit,) = [c for c in clusters if FRUIT[0] in c["members"]]
    assert fruit["terms"] == ["fruit"]  # the one word more than one of its texts share
    assert snapshot["progress"]["message"] == "done"
    assert len(list(csv.reader(io.StringIO(ml_client.get(files["clusters.csv"]["url"]).get_data(as_text=True))))) == 10


def test_a_running_search_can_be_canceled(ml_client, ml_api, ml_worker):
    lines = "\n".join(f"note number {i} about {FRUIT[i % 3]}" for i in range(20_000))
    response = submit(ml_api, "semantic_search", {"query": "fruit"}, "many.txt", lines)
    job_id = response.get_json()["id"]

    def encoding():
        progress = ml_client.get(f"/api/jobs/{job_id}").get_json()["progress"] or {}
        return 0 < (progress.get("done") or 0) < 20_000 and progress.get("eta_s")

    wait_for(encoding, 60, "the first batches to be encoded")
    assert ml_client.delete(f"/api/jobs/{job_id}").status_code == 202
    assert ml_api.wait_status(job_id, "stopped")["status"] == "stopped"


def test_the_worker_loaded_the_model_once(ml_worker):
    assert ml_worker.output().count("loaded the embedding model") == 1


def test_the_web_never_imports_torch():
    code = (
        "import sys\n"
        "from webapp import create_app\n"
        "client = create_app({'TESTING': True}).test_client()\n"
        "assert client.get('/jobs/new/semantic_search').status_code == 200\n"
        "assert client.get('/api/job-types').status_code == 200\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=os.environ, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_without_the_ml_stack_the_form_says_so_and_the_api_refuses(ml_client, ml_api, monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if it were not installed
    page = ml_client.get("/jobs/new/cluster_texts").get_data(as_text=True)
    assert "machine-learning stack" in page and "sentence_transformers missing" in page
    response = submit(ml_api, "cluster_texts", {"k": 2}, "d.txt", "a\nb\n")
    assert response.status_code == 503
    assert "requirements-ml.txt" in response.get_json()["error"]["message"]
    assert ml_client.get("/jobs/new/steps").status_code == 200
