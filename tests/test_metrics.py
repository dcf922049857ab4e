"""/metrics: Prometheus text read from Redis at scrape time, for operators only."""

from __future__ import annotations

import base64

import requests
from prometheus_client.parser import text_string_to_metric_families
from rq.job import Job

from tests.clients import OPERATOR_PASSWORD, Browser, read_until_closed
from tests.helpers import wait_for


def basic(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()}


def samples(response) -> dict:
    """{(name, sorted labels): value} of every sample."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def test_metrics_are_for_operators_only(client, operator_password):
    response = client.get("/metrics")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/metrics", headers=basic("wrong")).status_code == 401
    assert client.get("/metrics", headers=basic(operator_password)).status_code == 200


def test_a_signed_in_operator_reads_metrics(operator):
    assert operator.get("/metrics").status_code == 200


def test_queue_depth_and_age_of_the_oldest_job(api, operator):
    api.submit("steps", n=1)
    api.submit("steps", n=1)
    found = samples(operator.get("/metrics"))
    assert found["spool_queue_depth", (("queue", "default"),)] == 2
    assert found["spool_queue_oldest_job_age_seconds", (("queue", "default"),)] >= 0
    assert [v for (name, _), v in found.items() if name == "spool_websockets_open"] == [0]


def test_jobs_by_state_and_type_durations_and_workers(api, operator, worker):
    done = api.submit("steps", n=2)
    failed = api.submit("fail")
    api.wait_status(done, "finished")
    api.wait_status(failed, "failed")
    found = samples(operator.get("/metrics"))
    assert found["spool_jobs", (("queue", "default"), ("state", "finished"), ("type", "steps"))] == 1
    assert found["spool_jobs", (("queue", "default"), ("state", "failed"), ("type", "fail"))] == 1
    assert found["spool_job_duration_seconds_count", (("type", "steps"),)] == 1
    assert found["spool_job_duration_seconds_bucket", (("le", "+Inf"), ("type", "steps"))] == 1
    assert found["spool_queue_depth", (("queue", "default"),)] == 0
    assert sum(v for (name, _), v in found.items() if name == "spool_workers") == 1


def test_a_job_s_duration_stays_counted_once_the_job_is_gone(api, operator, worker, redis):
    job_id = api.submit("steps", n=2)
    api.wait_status(job_id, "finished")
    count = ("spool_job_duration_seconds_count", (("type", "steps"),))
    assert samples(operator.get("/metrics"))[count] == 1
    Job.fetch(job_id, connection=redis).delete()  # as expiry, or `rq empty`, would
    found = samples(operator.get("/metrics"))
    assert found[count] == 1
    assert found["spool_job_duration_seconds_bucket", (("le", "+Inf"), ("type", "steps"))] == 1
    assert ("spool_jobs", (("queue", "default"), ("state", "finished"), ("type", "steps"))) not in found


def _scrape(server) -> dict:
    response = requests.get(f"{server.url}/metrics", headers=basic(OPERATOR_PASSWORD), timeout=10)
    assert response.status_code == 200
    return {
        s.name: s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name in ("spool_websockets_open", "spool_events_delivered_total")
    }


def test_every_web_process_reports_the_same_socket_and_delivery_totals(start_web, worker):
    first, second = (start_web({"OPERATOR_PASSWORD": OPERATOR_PASSWORD}) for _ in range(2))
    watcher = Browser(first)
    read_until_closed(watcher.socket(watcher.submit("steps", n=3, pause=0.3)))  # events delivered by the first
    watcher.socket(watcher.submit("parked", n=1))  # and one socket held open there

    def agreed():
        scrapes = [_scrape(first), _scrape(second)]
        counted = scrapes[0]["spool_websockets_open"] == 1 and scrapes[0]["spool_events_delivered_total"] > 0
        return counted and scrapes[0] == scrapes[1]

    wait_for(agreed, 30, "both processes to report the same totals, the first's socket and events counted")
    watcher.close()
