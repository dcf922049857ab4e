"""Traces through OpenTelemetry on real web and worker processes, and nothing of it when off.

With tracing on, the processes export their spans through the tests' exporter (tests/span_file.py),
found by OpenTelemetry's entry points like any other, into one file of JSON lines read here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.environment import ROOT
from tests.helpers import wait_for

OTEL_VARIABLES = [name for name in os.environ if name.startswith("OTEL_")]


class Accept(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """A plain HTTP webhook receiver that takes every delivery (http: the suite allows it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def tracing_env(spans) -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT / "tests" / "otel"), os.environ.get("PYTHONPATH")]))
    return {
        "WEBHOOK_SECRET": "trace-test-secret",
        "OTEL_TRACES_EXPORTER": "spool_test_file",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "PYTHONPATH": path,
        "SPOOL_TEST_SPANS": str(spans),
    }


def read_spans(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_one_trace_spans_the_request_its_enqueue_and_every_run_of_the_job_and_its_webhook(
    start_web, start_worker, tmp_path, receiver
):
    pytest.importorskip("opentelemetry.instrumentation.flask", reason="pip install -r requirements-dev.txt")
    spans_file = tmp_path / "spans.jsonl"
    web = start_web(env=tracing_env(spans_file))
    worker = start_worker(env=tracing_env(spans_file))
    http = requests.Session()
    answer = http.post(
        f"{web.url}/api/jobs",
        json={"type": "attempts", "params": {"marker_dir": str(tmp_path), "fail": 1}, "webhook_url": receiver},
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    wait_for(lambda: http.get(f"{web.url}/api/jobs/{job_id}").json()["status"] == "finished", 30, "the retried job")

    def traced():
        spans = read_spans(spans_file)
        runs = [s for s in spans if s["name"] == "run attempts"]
        return len(runs) == 2 and any(s["name"] == "run send_webhook" for s in spans) and spans

    spans = wait_for(traced, 30, "both attempts' run spans and the webhook's")
    enqueue = next(s for s in spans if s["name"] == "enqueue attempts")
    request = next(s for s in spans if s["span_id"] == enqueue["parent_id"])
    runs = [s for s in spans if s["name"] == "run attempts"]
    assert (request["kind"], request["service"], request["name"]) == ("SERVER", "spool-web", "POST /api/jobs")
    assert enqueue["kind"] == "PRODUCER" and enqueue["attributes"]["spool.job.id"] == job_id
    assert {r["parent_id"] for r in runs} == {enqueue["span_id"]}
    assert {r["trace_id"] for r in runs} == {request["trace_id"]} == {enqueue["trace_id"]}
    assert all(r["service"] == "spool-worker" and r["kind"] == "CONSUMER" for r in runs)
    assert runs[0]["pid"] != runs[1]["pid"]  # each attempt in a work horse of its own
    delivery = next(s for s in spans if s["name"] == "run send_webhook")
    assert (delivery["trace_id"], delivery["parent_id"]) == (request["trace_id"], enqueue["span_id"])
    trace_id = request["trace_id"]

    def logged(process, **fields):
        lines = [json.loads(line) for line in process.output().splitlines() if line.startswith("{")]
        return [line for line in lines if fields.items() <= line.items()]

    assert logged(web, path="/api/jobs", method="POST", trace_id=trace_id)
    assert len(logged(worker, job_id=job_id, status="started", trace_id=trace_id)) == 2


def loaded_by(program: str) -> set[str]:
    """The OpenTelemetry modules a fresh interpreter has loaded after running `program`."""
    program += "\nimport sys; print(' '.join(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))"
    run = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(run.stdout.split())


def test_without_otel_variables_neither_web_nor_worker_imports_opentelemetry(api, worker):
    assert not OTEL_VARIABLES, "the suite's environment must leave tracing off"
    # redis-py 8 imports OpenTelemetry's metrics SDK by itself wherever the SDK is installed:
    # Spool may load nothing beyond that (and without the SDK, as deployed, nothing at all).
    by_redis = loaded_by("import redis")
    job_id = api.submit("modules_loaded", prefix="opentelemetry")
    in_worker = set(api.wait_status(job_id, "finished")["result"])
    # The web app, built and serving a submit and a page in an interpreter of its own (on the
    # suite's environment, which it inherits).
    in_web = loaded_by(
        "from webapp import create_app\n"
        "client = create_app().test_client()\n"
        "assert client.post('/api/jobs', json={'type': 'steps', 'params': {}}).status_code == 202\n"
        "assert client.get('/').status_code == 200"
    )
    for loaded in (in_worker, in_web):
        assert loaded <= by_redis, loaded - by_redis
        assert not {m for m in loaded if m.startswith(("opentelemetry.sdk.trace", "opentelemetry.instrumentation"))}
