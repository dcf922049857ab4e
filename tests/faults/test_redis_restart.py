"""Redis restarts (append-only file on): queued and finished jobs survive, the web answers 503
with a clear message while it is down, and workers, the web and open sockets carry on by
themselves once it is back."""

import requests

from tests.clients import Browser, read_until_closed
from tests.helpers import wait_for


def test_jobs_survive_a_redis_restart_and_everyone_reconnects(own_redis, own_worker, own_web):
    # A generous grace: the running job's heartbeat must not lapse while Redis is down.
    worker = own_worker(env={"HEARTBEAT_GRACE": "30"})
    web = own_web()
    browser = Browser(web)
    done = browser.submit("steps", n=2)
    browser.wait_status(done, "finished")
    parked = browser.submit("parked", n=7)  # no worker takes the "parked" queue yet
    running = browser.submit("steps", n=80, pause=0.1)
    wait_for(lambda: (browser.job(running)["progress"] or {}).get("done"), 30, "the long job to report progress")
    ws = browser.socket(running)
    assert '"type":"snapshot"' in ws.recv()

    own_redis.stop()
    api = browser.http.get(f"{web.url}/api/jobs/{done}")
    assert api.status_code == 503
    assert api.json()["error"] == {
        "code": "unavailable",
        "message": "Spool's database is unreachable for the moment; try again in a few seconds.",
    }
    page = browser.http.get(f"{web.url}/jobs/{done}")
    assert page.status_code == 503 and "unreachable for the moment" in page.text
    assert "Traceback" not in page.text
    submit = browser.http.post(f"{web.url}/api/jobs", json={"type": "steps", "params": {"n": 1}})
    assert submit.status_code == 503
    assert requests.get(f"{web.url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{web.url}/readyz", timeout=10).status_code == 503
    own_redis.start()

    # What was there before survives, and the running job carries on to the end.
    assert browser.job(done)["result"] == {"steps": 2}
    assert browser.job(parked)["status"] == "queued"
    final = browser.wait_status(running, "finished", "failed", timeout=30)
    assert final["status"] == "finished", final["error"]
    # The socket opened before the restart delivers the final state, then closes.
    messages = read_until_closed(ws)
    assert messages[-1]["type"] == "snapshot" and messages[-1]["status"] == "finished"
    assert messages[-1]["result"] == {"steps": 80}
    # The worker reconnected by itself and takes new work; the parked job runs once asked to.
    assert worker.process.poll() is None
    browser.wait_status(browser.submit("steps", n=1), "finished")
    own_worker("parked")
    assert browser.wait_status(parked, "finished")["result"] == {"n": 7}
    browser.close()
