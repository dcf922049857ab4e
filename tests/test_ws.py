"""The live progress socket, over a real socket to gunicorn, fed by a real worker."""

import json

import pytest
import websocket
from rq import Queue

from jobs.core import keys
from tests.clients import Browser, read_until_closed
from tests.helpers import wait_for


@pytest.fixture
def stranger(live_server):
    browser = Browser(live_server)
    yield browser
    browser.close()


def test_socket_streams_snapshot_events_and_final_state(browser, start_worker):
    job_id = browser.submit("steps", n=5, pause=0.15)
    ws = browser.socket(job_id)
    first = json.loads(ws.recv())
    assert first["status"] == "queued"
    start_worker()  # only now: every event of the run comes after the first snapshot
    got = [first, *read_until_closed(ws)]
    assert got[0]["type"] == "snapshot"
    assert got[-1]["type"] == "snapshot" and got[-1]["status"] == "finished"
    assert got[-1]["result"] == {"steps": 5}
    # A waiting job's snapshot may be sent again as its place or its workers change: not events.
    events = [m for m in got[1:-1] if m["type"] != "snapshot"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] > got[0]["seq"]
    assert {"status", "progress", "log"} <= {e["type"] for e in events}
    assert events[-1] == {"type": "status", "status": "finished", "seq": seqs[-1]}
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["done"] == 5 and progress[-1]["percent"] == 100.0
    logs = [e["line"] for e in events if e["type"] == "log"]
    assert logs[-1] == "did step 5"


def test_a_late_socket_gets_the_final_snapshot_at_once(browser, worker, redis):
    job_id = browser.submit("steps", n=2)
    wait_for(lambda: redis.hget(keys.job_key(job_id), "status") == b"finished", 30, "the job to finish")
    got = read_until_closed(browser.socket(job_id))
    assert len(got) == 1
    assert got[0]["type"] == "snapshot" and got[0]["status"] == "finished" and got[0]["result"] == {"steps": 2}


def test_a_canceled_job_ends_the_stream(browser):
    job_id = browser.submit("steps", n=2)  # no worker: stays queued
    ws = browser.socket(job_id)
    assert json.loads(ws.recv())["status"] == "queued"
    assert browser.http.delete(f"{browser.server.url}/api/jobs/{job_id}").status_code == 202
    rest = read_until_closed(ws)
    assert rest[0]["type"] == "status" and rest[0]["status"] == "canceled"
    assert rest[-1]["type"] == "snapshot" and rest[-1]["status"] == "canceled"


def test_a_deleted_job_ends_the_stream_with_a_last_message_saying_so(browser, redis):
    job_id = browser.submit("parked", n=1)  # nothing takes "parked": it stays queued
    ws = browser.socket(job_id)
    assert json.loads(ws.recv())["status"] == "queued"
    Queue("parked", connection=redis).empty()  # what `rq empty parked` does
    assert read_until_closed(ws) == [
        {"type": "gone", "message": "This job no longer exists: it was deleted or has expired."}
    ]


def test_a_stopped_job_ends_the_stream(browser, worker):
    job_id = browser.submit("block", seconds=60)
    ws = browser.socket(job_id)
    while json.loads(ws.recv()).get("status") != "started":
        pass
    assert browser.http.delete(f"{browser.server.url}/api/jobs/{job_id}").json()["status"] == "stopping"
    final = read_until_closed(ws)[-1]
    assert final["type"] == "snapshot" and final["status"] == "stopped"


def test_another_owners_socket_is_404(browser, stranger, live_server):
    job_id = browser.submit("steps", n=1)
    stranger.http.get(live_server.url + "/")  # has a session of its own
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        stranger.socket(job_id)
    assert exc.value.status_code == 404


def test_a_foreign_origin_is_refused(browser):
    job_id = browser.submit("steps", n=1)
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        browser.socket(job_id, origin="https://evil.example")
    assert exc.value.status_code == 403


def test_the_origin_s_scheme_and_port_must_match_too(browser):
    job_id = browser.submit("steps", n=1)
    for origin in (f"https://127.0.0.1:{browser.server.port}", "http://127.0.0.1:1"):
        with pytest.raises(websocket.WebSocketBadStatusException) as exc:
            browser.socket(job_id, origin=origin)
        assert exc.value.status_code == 403, origin
    browser.socket(job_id).close()  # the page's own origin still opens it


def test_plain_http_to_the_socket_url_is_an_error(browser):
    job_id = browser.submit("steps", n=1)
    response = browser.http.get(f"{browser.server.url}/ws/jobs/{job_id}")
    assert response.status_code == 400
