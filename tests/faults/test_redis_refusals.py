"""Redis refusing writes (full under noeviction, a read-only replica after a failover): a
submit answers 503 with a plain sentence, leaves nothing half-written, and submits work again
by themselves once Redis accepts writes; a genuine bug is still a 500."""

import re

import pytest
import redis as redis_py

from jobs.core import keys
from tests.clients import Browser
from tests.helpers import free_port
from webapp import idempotency

REFUSED = "Spool's database is not accepting new work for the moment"


def _fill(client) -> None:
    """Cap Redis just above what it holds, refuse eviction, and write until it is full."""
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", client.info("memory")["used_memory"] + 2 * 1024 * 1024)
    with pytest.raises(redis_py.exceptions.OutOfMemoryError):
        for i in range(1000):
            client.set(f"filler:{i}", b"x" * 64 * 1024)
    # Below what it holds, so that a request buffer freed after the refusal does not make room.
    client.config_set("maxmemory", client.info("memory")["used_memory"] // 2)


def _make_read_only(client) -> None:
    # A replica of a primary that is not there keeps its data and refuses every write.
    client.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))


def _lift_oom(client) -> None:
    client.config_set("maxmemory", 0)


def _lift_read_only(client) -> None:
    client.execute_command("REPLICAOF", "NO", "ONE")


@pytest.mark.parametrize(("refuse", "lift"), [(_fill, _lift_oom), (_make_read_only, _lift_read_only)])
def test_a_refused_write_is_503_and_submits_resume_by_themselves(own_redis, own_web, refuse, lift):
    web = own_web()
    browser = Browser(web)
    first = browser.submit("steps", n=1)
    client = own_redis.client()
    (owner_index,) = client.keys(keys.OWNER_PREFIX + "*")
    refuse(client)
    before = client.dbsize()

    api = browser.http.post(f"{web.url}/api/jobs", json={"type": "steps", "params": {"n": 1}})
    assert api.status_code == 503, api.text
    error = api.json()["error"]
    assert error["code"] == "unavailable" and error["message"].startswith(REFUSED)
    form = browser.http.get(f"{web.url}/jobs/new/steps").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    page = browser.http.post(f"{web.url}/jobs/new/steps", data={"n": "1", "csrf_token": token})
    assert page.status_code == 503 and REFUSED in page.text.replace("&#39;", "'")
    assert "Something went wrong" not in page.text
    # Nothing half-written: no job, no index entry, no idempotency claim.
    keyed = browser.http.post(
        f"{web.url}/api/jobs", json={"type": "steps", "params": {"n": 1}}, headers={"Idempotency-Key": "k1"}
    )
    assert keyed.status_code == 503
    assert client.dbsize() == before
    assert client.zrange(owner_index, 0, -1) == [first.encode()]
    assert browser.job(first)["id"] == first  # reads still work

    lift(client)
    again = browser.http.post(
        f"{web.url}/api/jobs", json={"type": "steps", "params": {"n": 1}}, headers={"Idempotency-Key": "k1"}
    )
    assert again.status_code == 202, again.text
    assert "Idempotent-Replayed" not in again.headers
    # The claim, made short-lived, is kept as long as its job once the job is saved.
    (claim,) = client.keys(keys.PREFIX + "idempotency:*")
    assert client.ttl(claim) > idempotency.CLAIM_TTL
    assert client.zscore(owner_index, again.json()["id"]) is not None
    assert browser.job(again.json()["id"])["status"] == "queued"
    browser.close()


def test_a_genuine_bug_is_still_a_500(own_redis, own_web):
    web = own_web()
    browser = Browser(web)
    browser.submit("steps", n=1)
    client = own_redis.client()
    (owner_index,) = client.keys(keys.OWNER_PREFIX + "*")
    client.delete(owner_index)
    client.set(owner_index, "not a sorted set")  # WRONGTYPE for the index's ZADD
    response = browser.http.post(f"{web.url}/api/jobs", json={"type": "steps", "params": {"n": 1}})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    browser.close()
