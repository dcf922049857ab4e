"""Structured logs: a JSON line per request and per job transition, joined by a request id."""

from __future__ import annotations

import json

from rq.serializers import JSONSerializer

from jobs.core.job import SpoolJob
from tests.helpers import wait_for


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def test_each_response_carries_a_request_id(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = client.get("/healthz", headers={"traceparent": traceparent})
    assert response.headers["X-Request-ID"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    forged = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert forged != "bad id <script>" and len(forged) == 32


def test_request_and_job_lines_share_the_request_id(browser, live_server, worker):
    server = live_server
    response = browser.http.post(
        server.url + "/api/jobs",
        json={"type": "steps", "params": {"n": 1}},
        headers={"X-Request-ID": "req-from-proxy-1"},
        timeout=10,
    )
    assert response.status_code == 202 and response.headers["X-Request-ID"] == "req-from-proxy-1"
    job_id = response.json()["id"]
    browser.wait_status(job_id, "finished")
    request_lines = wait_for(
        lambda: [
            line
            for line in json_lines(server.output())
            if line.get("event") == "request" and line.get("request_id") == "req-from-proxy-1"
        ],
        30,
        "the web's request line",
    )
    assert request_lines[0]["method"] == "POST" and request_lines[0]["path"] == "/api/jobs"
    assert request_lines[0]["status"] == 202 and request_lines[0]["duration_ms"] >= 0

    def job_lines():
        lines = [line for line in json_lines(worker.output()) if line.get("job_id") == job_id]
        return lines if any(line["status"] == "finished" for line in lines) else None

    lines = wait_for(job_lines, 30, "the worker's job lines")
    assert [line["status"] for line in lines] == ["started", "finished"]
    assert all(line["request_id"] == "req-from-proxy-1" and line["type"] == "steps" for line in lines)


def test_the_request_id_is_kept_in_the_jobs_meta(client, redis):
    response = client.post(
        "/api/jobs", json={"type": "steps", "params": {"n": 1}}, headers={"X-Request-ID": "trace-me"}
    )
    job = SpoolJob.fetch(response.get_json()["id"], connection=redis, serializer=JSONSerializer)
    assert job.meta["request_id"] == "trace-me"
