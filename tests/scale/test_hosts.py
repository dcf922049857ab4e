"""Spool on several hosts: two web hosts behind haproxy, four worker hosts, a clock, Redis over
TLS behind three Sentinels; clients reach Spool only through haproxy. The tests run in file
order on one cluster: the ones that cut hosts off, and the failover, come last.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from rq import Worker

from scale.client import messages
from scale.hosts import wait_until

pytestmark = pytest.mark.scale
WORKER_HOSTS = {"worker1", "worker2", "worker3", "worker4"}


def worker_host(cluster, job_id: str) -> str | None:
    """The host of the worker that ran a job."""
    connection = cluster.observer()
    name = connection.hget(f"rq:job:{job_id}", "worker_name")
    pids = {w.name: w.pid for w in Worker.all(connection=connection)}
    return cluster.host_of(pids.get(name.decode())) if name else None


def test_jobs_submitted_through_either_web_host_run_on_every_worker_host(cluster, client):
    answers = [client.submit("steps", n=10, pause=0.1) for _ in range(8)]
    assert {a.status for a in answers} == {202}
    assert {a.web for a in answers} == {"web1", "web2"}
    for answer in answers:
        assert client.wait_status(answer.id, "finished", "failed")["status"] == "finished"
    assert {worker_host(cluster, a.id) for a in answers} == WORKER_HOSTS


def test_a_socket_through_one_web_host_gets_every_event_of_a_job_submitted_through_the_other(client):
    answer = client.submit_through("web1", "steps", n=20, pause=0.1)
    ws, web = client.socket(answer.id, through="web2")
    got = messages(ws)
    first, events = got[0], [m for m in got[1:] if m["type"] != "snapshot" and m["seq"] > got[0]["seq"]]
    assert first["type"] == "snapshot"
    assert got[-1]["type"] == "snapshot" and got[-1]["status"] == "finished"
    final = client.job(answer.id)
    assert [e["seq"] for e in events] == list(range(first["seq"] + 1, final["seq"] + 1))


def test_a_page_reloaded_onto_the_other_web_host_resumes_from_its_snapshot(client):
    answer = client.submit("steps", n=30, pause=0.1)
    ws, web = client.socket(answer.id, through="web1")
    seen = messages(ws, until=lambda m: m["type"] == "progress" and m["done"] >= 5)
    ws.close()
    assert seen[-1]["type"] == "progress", seen
    ws, web = client.socket(answer.id, through="web2")
    resumed = messages(ws)
    assert resumed[0]["type"] == "snapshot"
    assert resumed[0]["seq"] >= seen[-1]["seq"] and resumed[0]["progress"]["done"] >= seen[-1]["done"]
    assert resumed[-1]["type"] == "snapshot" and resumed[-1]["status"] == "finished"


def test_a_job_on_a_cut_off_worker_host_is_retried_on_another_within_30s(cluster, client):
    marker_dir = Path(cluster.var) / "attempts-cut"
    answer = client.submit("attempts", marker_dir=str(marker_dir), block_first=60)
    first = wait_until(lambda: _pid(marker_dir / "attempt-1"), 30, "the first attempt to start")
    doomed = cluster.host_of(first)
    assert doomed in WORKER_HOSTS
    cluster.hosts[doomed].cut()
    try:
        wait_until(lambda: _pid(marker_dir / "attempt-2"), 30, "the job to be retried")
        job = client.wait_status(answer.id, "finished", "failed")
        assert (job["status"], job["attempt"]) == ("finished", 2)
        assert worker_host(cluster, answer.id) in WORKER_HOSTS - {doomed}
    finally:
        cluster.hosts[doomed].kill_all()
        cluster.hosts[doomed].mend()
        cluster.workers[doomed] = cluster.start_worker(doomed)
    cluster.wait_workers([cluster.workers[doomed]])


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def test_a_cut_off_web_host_s_sockets_reconnect_through_the_other_and_resume(cluster, client):
    answer = client.submit("steps", n=40, pause=0.1)
    ws, _ = client.socket(answer.id, through="web1")
    before = messages(ws, until=lambda m: m["type"] == "progress")
    cluster.hosts["web1"].cut()
    try:
        messages(ws)  # haproxy marks web1 down and cuts its sockets; this one ends
        ws, web = client.socket(answer.id)
        assert web == "web2"
        resumed = messages(ws)
        assert resumed[0]["type"] == "snapshot" and resumed[0]["seq"] >= before[-1]["seq"]
        assert resumed[-1]["type"] == "snapshot" and resumed[-1]["status"] == "finished"
        assert {client.submit("steps", n=1).web for _ in range(4)} == {"web2"}
    finally:
        cluster.hosts["web1"].mend()
    wait_until(lambda: client.submit("steps", n=1).web == "web1", 30, "haproxy to send requests to web1 again")


BAD = {
    "wrong password": ({"REDIS_URL": "sentinel_url_wrong_password"}, "invalid username-password"),
    "untrusted certificate": ({"REDIS_CA_FILE": "rogue_ca"}, "certificate verify failed"),
    "no sentinel": ({"REDIS_URL": "sentinel_url_nobody"}, "Connection refused"),
}


def _bad_env(cluster, env: dict) -> dict:
    values = {
        "sentinel_url_wrong_password": cluster.sentinel_url.replace(":scale-run-password@", ":wrong@"),
        "rogue_ca": str(cluster.rogue_ca.cert),
        "sentinel_url_nobody": f"rediss+sentinel://spool:x@{cluster.address('slow')}:26379/mymaster/0",
    }
    return {k: values[v] for k, v in env.items()}


def test_bad_redis_settings_are_said_in_one_line_and_retried_with_backoff(cluster):
    started = []
    for problem, (env, reason) in BAD.items():
        started.append((problem, reason, cluster.start_worker("worker1", **_bad_env(cluster, env))))
    env, reason = BAD["wrong password"]
    started.append(("web: wrong password", reason, cluster.start_web("web1", PORT="5001", **_bad_env(cluster, env))))
    started.append(("clock: wrong password", reason, cluster.start_clock(**_bad_env(cluster, env))))
    try:
        for problem, reason, process in started:
            wait_until(lambda p=process: len(_pauses(p.output())) >= 3 or not p.alive(), 90, f"retries ({problem})")
            out = process.output()
            said = [line for line in out.splitlines() if "cannot use Redis at" in line]
            assert len(said) == 1 and reason in said[0], f"{problem}:\n{out[-3000:]}"
            assert "***" in said[0] and "wrong@" not in said[0]  # the password is not logged
            pauses = _pauses(out)
            assert pauses == sorted(pauses) and pauses[0] < pauses[-1], f"{problem}: {pauses}"
            assert process.alive(), f"{problem}: exited\n{out[-3000:]}"
    finally:
        for _, _, process in started:
            process.stop(signal.SIGKILL)


def _pauses(output: str) -> list[float]:
    return [float(s) for s in re.findall(r"next attempt in ([\d.]+)s", output)]


def test_web_and_workers_carry_on_by_themselves_through_a_sentinel_failover(cluster, client):
    from scale.figures import Load

    with Load(cluster.client(), "steps", n=1) as load:
        load.wait_acknowledged(10)
        cluster.redis["redis1"].stop(signal.SIGKILL)
        wait_until(lambda: _primary(cluster) == "redis2", 60, "the sentinels to promote the replica")
        acknowledged = len(load.acknowledged())
        wait_until(lambda: len(load.acknowledged()) > acknowledged + 10, 60, "submits to be answered 202 again")
    answer = client.submit("steps", n=10, pause=0.05)
    assert answer.status == 202
    ws, _ = client.socket(answer.id)
    assert messages(ws)[-1]["status"] == "finished"
    assert all(p.alive() for p in [*cluster.webs.values(), *cluster.workers.values(), cluster.clock])


def _primary(cluster) -> str | None:
    try:
        return cluster.primary()
    except Exception:  # the sentinels have no answer yet
        return None
