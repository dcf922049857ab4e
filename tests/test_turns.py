"""Many owners, one queue: owners take turns, limits hold over all workers, and a waiting job
knows its place in line."""

from tests.helpers import wait_for


def positions(api, job_ids) -> list[int | None]:
    return [api.job(j)["queue_position"] for j in job_ids]


def test_one_owner_s_thousand_jobs_do_not_push_another_s_one_to_the_back(api, other_api):
    flood = [api.submit("steps", n=1) for _ in range(30)]
    mine = other_api.submit("steps", n=1)
    assert other_api.job(mine)["queue_position"] == 2  # behind the one job of the flood in its round
    assert positions(api, flood[:3]) == [1, 3, 4]


def test_three_owners_take_turns_in_arrival_order(make_app):
    from tests.clients import Api

    app = make_app()
    a, b, c = (Api(app.test_client()) for _ in range(3))
    a_jobs = [a.submit("steps", n=1) for _ in range(3)]
    b_jobs = [b.submit("steps", n=1) for _ in range(3)]
    c_job = c.submit("steps", n=1)
    order = sorted(
        [(a.job(j)["queue_position"], "a") for j in a_jobs]
        + [(b.job(j)["queue_position"], "b") for j in b_jobs]
        + [(c.job(c_job)["queue_position"], "c")]
    )
    assert "".join(owner for _, owner in order) == "abcabab"


def test_with_two_busy_workers_the_newcomer_waits_for_at_most_one_job_each(api, other_api, start_worker):
    flood = [api.submit("steps", n=1, pause=0.2) for _ in range(12)]
    mine = other_api.submit("steps", n=1)
    start_worker()
    start_worker()
    mine_started = other_api.wait_status(mine, "finished")["started_at"]
    snapshots = [api.wait_status(j, "finished", timeout=60) for j in flood]
    before = [s for s in snapshots if s["started_at"] < mine_started]
    assert len(before) <= 2


def test_a_waiting_job_s_place_moves_up_as_jobs_ahead_start(api, worker):
    first = api.submit("block", seconds=60)
    api.wait_status(first, "started")
    second, third = api.submit("steps", n=1), api.submit("steps", n=1)
    assert positions(api, [second, third]) == [1, 2]
    api.client.delete(f"/api/jobs/{first}")
    api.wait_status(third, "finished")
    assert api.job(third)["queue_position"] is None


def test_a_type_limited_to_one_at_a_time_parks_the_second_without_holding_a_worker(api, start_worker):
    running, waiting = api.submit("solo", seconds=60), api.submit("solo", seconds=60)
    start_worker()
    start_worker()
    api.wait_status(running, "started")
    parked = api.wait_status(waiting, "deferred")
    assert "at most 1 “solo” job run at once" in parked["waiting_for"]
    # Of the two workers one runs the first job; the other, which took the parked one, is free
    # again and runs another job meanwhile.
    other = api.submit("steps", n=1)
    assert api.wait_status(other, "finished")["status"] == "finished"
    assert api.job(running)["status"] == "started"
    api.client.delete(f"/api/jobs/{running}")
    assert api.wait_status(waiting, "started")["waiting_for"] is None
    api.client.delete(f"/api/jobs/{waiting}")


def test_a_keyed_limit_caps_each_key_on_its_own(api, start_worker):
    a1 = api.submit("per_site", site="a.example")
    a2 = api.submit("per_site", site="a.example")
    b1 = api.submit("per_site", site="b.example")
    for _ in range(3):
        start_worker()
    api.wait_status(a1, "started")
    api.wait_status(b1, "started")
    assert "for a.example" in api.wait_status(a2, "deferred")["waiting_for"]
    for job_id in (a1, b1):
        api.client.delete(f"/api/jobs/{job_id}")
    api.wait_status(a2, "started")
    api.client.delete(f"/api/jobs/{a2}")


def test_an_owner_s_jobs_over_the_running_cap_wait_their_turn(api, other_api, start_worker):
    env = {"MAX_RUNNING_PER_OWNER": "1"}
    mine = [api.submit("block", seconds=60), api.submit("block", seconds=60)]
    theirs = other_api.submit("steps", n=1)
    start_worker(env=env)
    start_worker(env=env)
    api.wait_status(mine[0], "started")
    assert "at most 1 of your jobs" in api.wait_status(mine[1], "deferred")["waiting_for"]
    assert other_api.wait_status(theirs, "finished")["status"] == "finished"  # others are not held up
    api.client.delete(f"/api/jobs/{mine[0]}")
    api.wait_status(mine[1], "started")
    api.client.delete(f"/api/jobs/{mine[1]}")
    wait_for(lambda: api.job(mine[1])["status"] == "stopped", 30, "the second job to stop")
