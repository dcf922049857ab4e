"""Search: the indexes follow each job through submit, status changes, expiry and delete; owners
and operators filter and page by status, type, owner, submit time and words; bad filters are a
400 naming the field."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from jobs.core import index, keys, purge
from tests.clients import OPERATOR_PASSWORD
from tests.helpers import wait_for


def found(client, path: str = "/api/jobs", headers: dict | None = None, **query) -> list[str]:
    response = client.get(path, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [row["id"] for row in response.get_json()["jobs"]]


def in_sets(redis, job_id: str) -> set[str]:
    """The index sets (and owner indexes) that hold a job."""
    names = [k for p in ("spool:index:*", keys.OWNER_PREFIX + "*") for k in redis.scan_iter(match=p)]
    return {n.decode() for n in names if redis.type(n) == b"zset" and redis.zscore(n, job_id) is not None}


def test_a_job_is_found_by_each_status_it_passes_through_until_it_is_deleted(api, worker, redis):
    job_id = api.submit("block", seconds=60)
    api.wait_status(job_id, "started")
    assert found(api.client, status="started") == [job_id]
    assert api.client.delete(f"/api/jobs/{job_id}").status_code == 202
    api.wait_status(job_id, "stopped")
    assert found(api.client, status="stopped") == [job_id] and found(api.client, status="started") == []
    assert found(api.client, status="stopped", type="block") == [job_id]
    assert found(api.client, status="started", type="block") == []
    status_sets = set(keys.index_status_keys().values()) | set(keys.index_status_keys("block").values())
    assert in_sets(redis, job_id) & status_sets == {
        keys.index_status_keys()["stopped"],
        keys.index_status_keys("block")["stopped"],
    }
    assert found(api.client, q="60") == [job_id]  # a parameter's value
    assert purge.stop_and_purge(redis, job_id)
    assert in_sets(redis, job_id) == set() and not redis.exists(keys.index_terms_key(job_id))
    assert found(api.client) == []


def test_a_failed_job_is_found_by_its_error_and_an_upload_by_its_file_name(api, worker, redis):
    failed = api.submit("fail", message="the parrot is deceased")
    response = api.submit_files("echo_file", {"note": "n"}, data=("Quarterly-Report_2024.csv", b"a,b\n1,2\n"))
    uploaded = response.get_json()["id"]
    api.wait_status(failed, "failed")
    api.wait_status(uploaded, "finished")
    assert found(api.client, q="ValueError") == [failed]
    assert found(api.client, q="parrot deceased", status="failed") == [failed]
    assert found(api.client, q="parrot alive") == []
    assert found(api.client, q="quarterly-report") == [uploaded]
    row = api.client.get("/api/jobs", query_string={"q": "2024 csv"}).get_json()["jobs"][0]
    assert row["files"] == ["Quarterly-Report_2024.csv"] and row["duration_s"] is not None
    assert {"name": "note", "value": "n"} in row["params"]
    html = api.client.get("/jobs").get_data(as_text=True)
    assert "Quarterly-Report_2024.csv" in html and "message: the parrot is deceased" in html


def test_an_expired_job_leaves_every_index(api, worker, redis):
    kept, expiring = (api.submit("steps", n=n) for n in (1, 2))
    api.wait_status(kept, "finished")
    api.wait_status(expiring, "finished")
    redis.pexpire(keys.job_key(expiring), 1)  # as RQ's result TTL would, sooner
    wait_for(lambda: not redis.exists(keys.job_key(expiring)), 10, "the job to expire")
    assert index.sweep(redis) > 0
    assert in_sets(redis, expiring) == set() and not redis.exists(keys.index_terms_key(expiring))
    assert found(api.client, status="finished") == [kept]
    # A search that meets an expired id before the sweep drops it there and then.
    redis.pexpire(keys.job_key(kept), 1)
    wait_for(lambda: not redis.exists(keys.job_key(kept)), 10, "the job to expire")
    assert found(api.client, type="steps") == [] and in_sets(redis, kept) == set()


def test_owners_and_operators_filter_and_page_newest_first(api, other_api, operator, worker, redis):
    mine = [api.submit("steps", n=n) for n in (3, 4, 5)]
    theirs = other_api.submit("steps", n=3)
    for job_id in mine:
        api.wait_status(job_id, "finished")
    other_api.wait_status(theirs, "finished")
    assert found(api.client) == mine[::-1]
    assert found(api.client, per_page=2, page=2) == [mine[0]]
    assert api.client.get("/api/jobs", query_string={"per_page": 2}).get_json()["total"] == 3
    assert found(api.client, q="3") == [mine[0]]  # not the other owner's
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert found(api.client, since=future) == [] and found(api.client, since=past, until=future) == mine[::-1]
    assert found(api.client, until=datetime.now(UTC).date().isoformat()) == mine[::-1]  # to the day's end
    assert found(operator, "/api/ops/jobs", q="3") == [theirs, mine[0]]
    assert found(operator, "/api/ops/jobs", owner=other_api.owner()) == [theirs]
    basic = base64.b64encode(f"ops:{OPERATOR_PASSWORD}".encode()).decode()
    assert found(api.client, "/api/ops/jobs", headers={"Authorization": f"Basic {basic}"}, type="steps")
    page = operator.get("/ops/jobs", query_string={"q": "3", "status": "finished"}).get_data(as_text=True)
    assert theirs in page and mine[0] in page and mine[1] not in page and "2 jobs match" in page


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2030-13-45"}, "until"),
        ({"q": "x" * 201}, "q"),
        ({"status": "bogus"}, "status"),
        ({"type": "no_such_type"}, "type"),
        ({"owner": "someone"}, "owner"),
    ],
)
def test_a_bad_filter_is_400_naming_the_field(client, query, field):
    response = client.get("/api/jobs", query_string=query)
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]
    page = client.get("/jobs", query_string=query)
    assert page.status_code == 400 and field in page.get_data(as_text=True)


def test_only_operators_search_everyone_or_run_bulk_actions(client, api):
    assert client.get("/api/ops/jobs").status_code == 403
    assert client.post("/api/ops/bulk", json={"action": "delete"}).status_code == 403
    bad = base64.b64encode(b"ops:wrong").decode()
    assert client.get("/api/ops/jobs", headers={"Authorization": f"Basic {bad}"}).status_code == 403
    form = {"action": "delete", "csrf_token": api.csrf_token()}
    assert client.post("/ops/bulk", data=form).status_code == 403


def test_a_job_enqueued_again_under_its_id_is_found_by_its_new_status_only(redis):
    from jobs.core.job import SpoolJob
    from jobs.core.queue import queue

    def enqueue() -> None:  # as a fanned-out job's parts are when it runs again
        with redis.pipeline() as pipe:
            pipe.multi()
            queue("default", redis).enqueue_call("tests.job_fixtures.steps", job_id="again", pipeline=pipe)
            index.add(pipe, "again", None, "steps", {}, {}, 1.0)
            pipe.execute()

    enqueue()
    SpoolJob.fetch("again", connection=redis).set_status("failed")
    enqueue()
    status_sets = set(keys.index_status_keys().values()) | set(keys.index_status_keys("steps").values())
    assert in_sets(redis, "again") & status_sets == {
        keys.index_status_keys()["queued"],
        keys.index_status_keys("steps")["queued"],
    }
