"""Fan-out on real workers: one job, its parts spread over the workers as RQ jobs, one result."""

from __future__ import annotations

from jobs.core import keys, parts, purge
from tests.helpers import markers, wait_for

SQUARES = [[i, i * i] for i in range(30)]


def _marks(tmp_path):
    (tmp_path / "marks").mkdir(exist_ok=True)
    return tmp_path / "marks"


def _part_statuses(api, job_id: str, count: int) -> list[str]:
    return [api.job(i)["status"] for i in parts.part_ids(job_id, count)]


def test_a_waiting_job_holds_no_worker_and_shows_its_parts_rows_and_bar(api, operator, worker, tmp_path):
    gate = tmp_path / "gate"
    job_id = api.submit("fan_squares", n=3, gate=str(gate), marker_dir=str(_marks(tmp_path)))
    # One worker: the parts can run only because the job left it while waiting for them.
    waiting = wait_for(lambda: (s := api.job(job_id))["progress"] and s, 30, "the first part to report")
    assert markers(tmp_path / "marks") == ["part-0-attempt-1"]
    assert waiting["status"] == "deferred"
    assert waiting["parts"] == {"total": 3, "done": 0, "running": 1, "waiting": 2, "failed": 0}
    assert waiting["progress"]["total"] == 3 and waiting["progress"]["percent"] == 0
    assert waiting["output"]["columns"] == ["n", "square"]
    gate.touch()
    finished = api.wait_status(job_id, "finished", "failed")
    assert finished["status"] == "finished", finished["error"]
    assert finished["result"] == {"squares": SQUARES[:3], "merges": 1}
    assert finished["parts"] == {"total": 3, "done": 3, "running": 0, "waiting": 0, "failed": 0}
    assert finished["progress"]["percent"] == 100
    assert sorted(finished["output"]["rows"]) == SQUARES[:3]  # each part emitted into the job
    # The owner has one job; its parts are not listed, though they are theirs to read.
    assert [j["id"] for j in api.client.get("/api/jobs").get_json()["jobs"]] == [job_id]
    assert api.job(parts.part_id(job_id, 0))["parent"] == job_id
    # Operators find the parts, each naming its job.
    found = operator.get("/api/ops/jobs", query_string={"type": "square"}).get_json()["jobs"]
    assert sorted(j["id"] for j in found) == parts.part_ids(job_id, 3)
    assert {j["parent"] for j in found} == {job_id}


def test_parts_ending_together_on_several_workers_merge_once_in_order(api, start_worker):
    for _ in range(3):
        start_worker()
    job_id = api.submit("fan_squares", n=30)
    finished = api.wait_status(job_id, "finished", "failed", timeout=60)
    assert finished["status"] == "finished", finished["error"]
    assert finished["result"] == {"squares": SQUARES, "merges": 1}


def test_a_part_failing_for_good_fails_the_job_naming_it_and_the_rest_are_canceled(api, worker, tmp_path, redis):
    gate = tmp_path / "gate"
    job_id = api.submit("fan_squares", n=4, bad=0, gate=str(gate), marker_dir=str(_marks(tmp_path)))
    failed = api.wait_status(job_id, "failed")
    assert failed["error"]["message"] == "part 1 of 4 failed: ValueError: 0 is a bad number"
    # The bad part was retried alone, under its own policy (at the front of the queue, so the one
    # worker took it again first); the others never ran.
    assert markers(tmp_path / "marks") == ["part-0-attempt-1", "part-0-attempt-2"]
    wait_for(lambda: _part_statuses(api, job_id, 4)[1:] == ["canceled"] * 3, 30, "the other parts to be canceled")
    assert redis.get(f"test:merges:{job_id}") is None


def test_with_partial_the_merge_runs_on_what_succeeded_and_says_what_is_missing(api, worker, redis):
    job_id = api.submit("fan_squares", n=3, bad=1, partial=True)
    finished = api.wait_status(job_id, "finished", "failed")
    assert finished["status"] == "finished", finished["error"]
    assert finished["result"] == {
        "squares": [[0, 0], None, [2, 4]],
        "merges": 1,
        "missing": [{"part": 2, "error": "ValueError: 1 is a bad number"}],
    }
    assert finished["parts"]["failed"] == 1
    # Deleting the job (the dashboard's Delete) deletes its parts with it.
    assert purge.stop_and_purge(redis, job_id)
    assert not any(keys.existing(redis, [job_id, *parts.part_ids(job_id, 3)]))


def test_canceling_a_fanned_out_job_stops_every_part_and_no_merge_runs(api, start_worker, tmp_path, redis):
    first = start_worker()
    start_worker()
    gate = tmp_path / "gate"
    job_id = api.submit("fan_squares", n=4, gate=str(gate), marker_dir=str(_marks(tmp_path)))
    wait_for(lambda: len(markers(tmp_path / "marks")) == 2, 30, "two parts to be running")
    assert api.client.delete(f"/api/jobs/{job_id}").status_code == 202
    assert api.wait_status(job_id, "canceled")["error"]["message"] == "The job was canceled; its parts were stopped."
    wait_for(
        lambda: sorted(_part_statuses(api, job_id, 4)) == ["canceled", "canceled", "stopped", "stopped"],
        30,
        "the running parts to be stopped and the waiting ones canceled",
    )
    wait_for(lambda: not first.work_horses(), 30, "no part to keep running")
    gate.touch()
    # Nothing is left to run: a job after the parts runs at once, and the merge never did.
    assert api.wait_status(api.submit("steps", n=1), "finished")["status"] == "finished"
    assert redis.get(f"test:merges:{job_id}") is None
    assert markers(tmp_path / "marks") == sorted(markers(tmp_path / "marks")) and len(markers(tmp_path / "marks")) == 2
