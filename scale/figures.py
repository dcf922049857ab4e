"""What `make scale` measures on the test hosts, as bench/ figures (bench/report.py).

with Load(client, "primes", limit=1000) as load: ...     # submits one after another, in a thread
throughput(cluster, quick)   # link checks against the slow host, 1, 2 and 4 worker hosts
tls_cost(cluster, quick)     # submits and jobs over rediss:// against redis://
failover(cluster, quick)     # the primary killed under load: 503s, jobs lost; then with
                             # min-replicas-to-write, then with SUBMIT_REPLICAS
"""

from __future__ import annotations

import datetime
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.report import Figure
from scale.hosts import wait_until
from scale.redis_hosts import PASSWORD, TLS_PORT, USER, start_redis


class Load:
    """Submit jobs one after another in a thread, recording (time, status, id) of every answer."""

    def __init__(self, client, job_type: str, **params):
        self.client, self.job_type, self.params = client, job_type, params
        self.answers: list[tuple[float, int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        while not self._stop.is_set():
            answer = self.client.submit(self.job_type, **self.params)
            self.answers.append((time.monotonic(), answer.status, answer.id))
            if answer.status != 202:
                time.sleep(0.05)  # a refusal comes back at once: do not spin on it

    def acknowledged(self) -> list[str]:
        return [i for _, status, i in list(self.answers) if status == 202]

    def wait_acknowledged(self, n: int, timeout: float = 30) -> None:
        wait_until(lambda: len(self.acknowledged()) >= n, timeout, f"{n} submits answered 202")

    def refused_window(self, since: float) -> float:
        """Seconds from the first answer other than 202 after `since` to the last one."""
        refused = [t for t, status, _ in self.answers if t >= since and status != 202]
        return refused[-1] - refused[0] if refused else 0.0

    def rate(self) -> float:
        ok = [t for t, status, _ in self.answers if status == 202]
        return (len(ok) - 1) / (ok[-1] - ok[0]) if len(ok) > 1 else 0.0


def _ended(client, ids: list[str], timeout: float = 300) -> float:
    """Wait for every job to finish; the span from the first enqueue to the last end, in seconds."""
    jobs = [client.wait_status(i, "finished", "failed", timeout=timeout) for i in ids]
    failed = [j["id"] for j in jobs if j["status"] != "finished"]
    if failed:
        raise RuntimeError(f"{len(failed)} jobs failed, e.g. {failed[0]}")
    stamp = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()  # noqa: E731
    return max(stamp(j["ended_at"]) for j in jobs) - min(stamp(j["enqueued_at"]) for j in jobs)


def _submit_all(client, count: int, job_type: str, threads: int = 4, **params) -> tuple[list[str], float]:
    started = time.monotonic()
    # The first alone: its answer sets the owner's cookie that the others then share (submitted
    # at once from a cookie-less session, each would make an owner of its own).
    answers = [client.submit(job_type, **params)]
    with ThreadPoolExecutor(threads) as pool:
        answers += pool.map(lambda _: client.submit(job_type, **params), range(count - 1))
    elapsed = time.monotonic() - started
    refused = [a for a in answers if a.status != 202]
    if refused:
        raise RuntimeError(f"{len(refused)} of {count} submits were refused ({refused[0].status})")
    return [a.id for a in answers], elapsed


def _use_workers(cluster, count: int) -> None:
    """Run a worker on exactly the first `count` worker hosts."""
    for i, name in enumerate(sorted(cluster.workers), start=1):
        process = cluster.workers[name]
        if i <= count and not process.alive():
            cluster.workers[name] = cluster.start_worker(name)
        elif i > count and process.alive():
            process.stop()
    cluster.wait_workers([cluster.workers[n] for n in sorted(cluster.workers)[:count]])


def throughput(cluster, quick: bool) -> list[Figure]:
    client = cluster.client()
    urls = [f"http://{cluster.address('slow')}:8000/{i}" for i in range(4)]
    # As many jobs per host at every count, so that each count has the same ramp and the same
    # tail (the last jobs, while some hosts are already idle) against its run's length: with one
    # batch for all counts, four hosts finished in six turns and spent a turn's worth in the tail.
    per_host = 2 if quick else 6
    rates = {}
    for hosts in (1, 2, 4):
        _use_workers(cluster, hosts)
        ids, _ = _submit_all(client, per_host * hosts, "check_links", urls=urls, concurrency=1)
        rates[hosts] = len(ids) / _ended(client, ids)
    note = f"{per_host} jobs a host, each 4 sequential {cluster.slow_delay}s requests"
    return [
        Figure("link checks, 2 worker hosts", rates[2], "jobs/s", rates[1], "1 host", note=note),
        Figure(
            "link checks, 4 worker hosts",
            rates[4],
            "jobs/s",
            rates[1],
            "1 host",
            "≥ 3.6×",
            rates[4] / rates[1] >= 3.6,
            note,
        ),
    ]


def _restart_spool(cluster, url: str) -> None:
    _restart_webs(cluster, REDIS_URL=url)
    for name, process in list(cluster.workers.items()):
        process.stop()
        cluster.workers[name] = cluster.start_worker(name, REDIS_URL=url)
    cluster.wait_workers(cluster.workers.values())


def tls_cost(cluster, quick: bool) -> list[Figure]:
    n = 100 if quick else 400
    submits, jobs = {}, {}
    primary = cluster.primary()
    try:
        for tls in (False, True):
            _restart_spool(cluster, cluster.direct_url(tls=tls, host=primary))
            client = cluster.client()  # no keep-alive connection from before the restart
            ids, elapsed = _submit_all(client, n, "primes", limit=1000)
            submits[tls] = n / elapsed
            jobs[tls] = n / _ended(client, ids)
    finally:
        _restart_spool(cluster, cluster.sentinel_url)
    note = "four submitting threads through haproxy; four worker hosts"
    return [
        Figure("submits, rediss:// against redis://", submits[True], "/s", submits[False], "plain", note=note),
        Figure("jobs run, rediss:// against redis://", jobs[True], "jobs/s", jobs[False], "plain", note=note),
    ]


def _failover_once(cluster, seconds: float, promoted=None) -> tuple[float, int, int, float]:
    """Kill the primary under load, call `promoted(old)` once the replica is promoted; return
    (refusal window s, acknowledged, missing after, submit rate before)."""
    client, old = cluster.client(), cluster.primary()
    with Load(client, "primes", limit=1000) as load:
        time.sleep(seconds)  # the load runs this long before the kill: its rate is the figure
        rate = load.rate()
        killed = time.monotonic()
        cluster.redis[old].stop(signal.SIGKILL)
        wait_until(lambda: _new_primary(cluster, old), 60, "the sentinels to promote the replica")
        if promoted:
            promoted(old)
        after = len(load.acknowledged())
        wait_until(lambda: len(load.acknowledged()) > after + 20, 90, "submits answered 202 again")
    acknowledged = load.acknowledged()
    connection = cluster.observer()
    missing = sum(1 for i in acknowledged if not connection.exists(f"rq:job:{i}"))
    return load.refused_window(killed), len(acknowledged), missing, rate


def _new_primary(cluster, old: str) -> str | None:
    try:
        found = cluster.primary()
    except Exception:  # no answer from the sentinels yet
        return None
    return found if found != old else None


def _rejoin(cluster, host: str, extra: tuple = ()) -> None:
    """Start the killed server again: the sentinels make it a replica of the new primary."""
    primary = cluster.primary()
    cluster.redis[host] = start_redis(
        cluster.hosts[host], cluster.var, cluster.tls, replica_of=cluster.address(primary), extra=extra
    )
    cluster.wait_replicated(primary)


def _rate(cluster, seconds: float) -> float:
    """Submits a second from one client, one after another, over `seconds`."""
    with Load(cluster.client(), "primes", limit=1000) as load:
        time.sleep(seconds)
    return load.rate()


def failover(cluster, quick: bool) -> list[Figure]:
    seconds = 3 if quick else 10
    window, acked, missing, rate = _failover_once(cluster, seconds)
    old = next(n for n in ("redis1", "redis2") if n != cluster.primary())
    guard = ("min-replicas-to-write 1", "min-replicas-max-lag 10")
    _rejoin(cluster, old, extra=guard)
    primary = cluster.primary()
    direct = cluster.observer(f"rediss://{USER}:{PASSWORD}@{cluster.address(primary)}:{TLS_PORT}/0")
    unguarded = _rate(cluster, seconds)  # measured beside the guarded rate, on the same primary
    direct.config_set("min-replicas-max-lag", 10)
    direct.config_set("min-replicas-to-write", 1)
    guarded = _rate(cluster, seconds)
    # With the guard, the survivor refuses writes until a replica is back: bring one back at once.
    guarded_window, guarded_acked, guarded_missing, _ = _failover_once(
        cluster, seconds, promoted=lambda host: _rejoin(cluster, host, extra=guard)
    )
    # Then submits that wait for the replica's copy before their 202 (SUBMIT_REPLICAS).
    waiting_for_none = _rate(cluster, seconds)
    _restart_webs(cluster, SUBMIT_REPLICAS="1")
    copied = _rate(cluster, seconds)
    copied_window, copied_acked, copied_missing, _ = _failover_once(
        cluster, seconds, promoted=lambda host: _rejoin(cluster, host, extra=guard)
    )
    return [
        Figure("failover: submits refused for", window, "s", note=f"primary SIGKILLed under {rate:.0f} submits/s"),
        Figure("failover: acknowledged jobs missing", missing, "jobs", note=f"of {acked} answered 202"),
        Figure(
            "min-replicas-to-write 1: submits",
            guarded,
            "/s",
            unguarded,
            "without",
            note="one client, one after another",
        ),
        Figure(
            "min-replicas-to-write 1: refused for",
            guarded_window,
            "s",
            note="old primary restarted as soon as the replica was promoted",
        ),
        Figure("min-replicas-to-write 1: missing", guarded_missing, "jobs", note=f"of {guarded_acked} answered 202"),
        Figure(
            "SUBMIT_REPLICAS=1: submits",
            copied,
            "/s",
            waiting_for_none,
            "without",
            note="one client, one after another; each 202 waits for the replica's copy (WAIT)",
        ),
        Figure("SUBMIT_REPLICAS=1: a failover refused submits for", copied_window, "s"),
        Figure("SUBMIT_REPLICAS=1: missing", copied_missing, "jobs", note=f"of {copied_acked} answered 202"),
    ]


def _restart_webs(cluster, **env: str) -> None:
    for name, process in list(cluster.webs.items()):
        process.stop()
        cluster.webs[name] = cluster.start_web(name, **env)
    wait_until(lambda: all(cluster.web_up(n) for n in cluster.webs), 60, "the web hosts")
    cluster.wait_balanced()
