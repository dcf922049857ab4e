"""Live progress at scale: from progress() in a worker to the message at WebSocket clients,
with every socket on ONE web process (gunicorn, gevent, WEB_CONCURRENCY=1).

Fan-out: one `ticker` job in a real worker calls log() three times and progress() once,
five times a second (20 events/s, each stamped with the time of its call; the reporter
writes each tick at once, in one round trip), and 100 or 1,000 sockets watch it.
Own jobs: 1,000 sockets each watch their own job; this process publishes 5 progress
events/s for each through `jobs.core.events.publish` (the reporter's own writer), then cancels
them all. Clients run in several processes (`bench.wsclient`, started by `bench.live_runs`),
whose CPU is reported. Flask-SocketIO takes turns with Spool under the same fan-out
(`bench.live_peer`), when it is installed.
"""

from __future__ import annotations

import time
import uuid

import requests
from rq.job import Job

from bench.harness import Stack, cpu_seconds, memory_mb, wait_for
from bench.live_peer import have_peer, peer_fan_out, peer_figures, start_peer
from bench.live_runs import clients, collect, limit, spread, summary, web_figures
from bench.report import Figure
from jobs.core import events, keys
from jobs.core.queue import queue

# The most web CPU per message delivered to a socket: what the hub cost when the target was set.
MAX_US_PER_MESSAGE = 18


def _session(web_url: str) -> requests.Session:
    session = requests.Session()
    session.post(web_url + "/api/jobs", json={"type": "parked", "params": {}}, timeout=10).raise_for_status()
    return session


def _cookie(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def fan_out(stack: Stack, web, sockets: int, seconds: float, processes: int) -> dict:
    """One job ticking at 20 events/s, watched by `sockets` sockets."""
    session = _session(web.url)
    gate = f"bench:gate:{uuid.uuid4().hex}"
    ticks = int(seconds * 5)
    job = session.post(
        web.url + "/api/jobs",
        json={"type": "ticker", "params": {"ticks": ticks, "interval": 0.2, "lines": 3, "gate": gate}},
        timeout=10,
    ).json()
    wait_for(lambda: stack.redis.hget(keys.job_key(job["id"]), "status") == b"started", 30, "the ticker to start")
    procs = clients(stack, web.url, _cookie(session), [job["id"]] * sockets, processes)
    pid, cpu_before = web_figures(stack, web)
    started = time.monotonic()
    stack.redis.set(gate, 1)
    result = collect(procs, seconds + 120)
    elapsed = time.monotonic() - started
    result["web_cpu_s"] = cpu_seconds(pid) - cpu_before
    result["elapsed_s"] = elapsed
    result["web_rss_mb"] = memory_mb(pid, "VmHWM")
    result["published"] = ticks * 4  # three lines and a progress update a tick
    result["sockets"] = sockets
    return result


def own_jobs(stack: Stack, web, sockets: int, seconds: float, rate: float, processes: int) -> dict:
    """`sockets` sockets each watching its own job, each job publishing `rate` events/s."""
    session = _session(web.url)
    ids = [
        session.post(web.url + "/api/jobs", json={"type": "parked", "params": {}}, timeout=10).json()["id"]
        for _ in range(sockets)
    ]
    jobs = Job.fetch_many(ids, connection=stack.redis, serializer=queue("parked", stack.redis).serializer)
    procs = clients(stack, web.url, _cookie(session), ids, processes)
    pid, cpu_before = web_figures(stack, web)
    started = time.monotonic()
    # Spread the jobs' events evenly: every 10 ms, one pipeline with a slice of the jobs.
    step = 0.01
    per_step = max(1, round(sockets * rate * step))
    rounds = int(seconds * rate)
    due, position = time.monotonic(), 0
    for _ in range(rounds * sockets // per_step):
        with stack.redis.pipeline(transaction=False) as pipe:
            for _ in range(per_step):
                job = jobs[position % sockets]
                done = position // sockets + 1
                state = {"done": done, "total": rounds, "percent": round(100 * done / rounds, 1)}
                state.update(message=repr(time.time()), eta_s=None, updated_at=time.time())
                job.meta["progress"] = state
                events.publish(stack.redis, job.id, {"type": "progress", **state}, meta=job.meta, pipeline=pipe)
                position += 1
            pipe.execute()
        due += step
        time.sleep(max(0.0, due - time.monotonic()))
    for job in jobs:
        job.cancel()
        events.publish_status(stack.redis, job.id, "canceled")
    result = collect(procs, 120)
    result["elapsed_s"] = time.monotonic() - started
    result["web_cpu_s"] = cpu_seconds(pid) - cpu_before
    result["web_rss_mb"] = memory_mb(pid, "VmHWM")
    result["published"] = rounds
    result["sockets"] = sockets
    return result


def _figures(label: str, s: dict, p99_target: float, rss_target: float | None, processes: int) -> list[Figure]:
    note = (
        f"{spread(s, 'p99')}; {spread(s, 'p50')}; web used {s['web_cores']:.2f} cores, "
        f"{s['web_us_per_msg']:.1f} µs per message; {processes} client processes used "
        f"{s['client_cores']:.2f} cores ({limit(s)}); {s['resyncs']:.0f} resyncs"
    )
    figures = [
        Figure(
            f"live {label}: p99 progress() to socket",
            s["p99"],
            "ms",
            None,
            "",
            f"≤ {p99_target:g} ms",
            s["p99"] <= p99_target,
            note,
        ),
        Figure(
            f"live {label}: least-served socket's share of events",
            s["worst_share"] * 100,
            "%",
            target="100 % (none starved)",
            ok=s["worst_share"] >= 0.999,
        ),
        Figure(
            f"live {label}: sockets given the final state",
            s["worst_finals"] * 100,
            "%",
            target="100 %",
            ok=s["worst_finals"] == 1,
        ),
    ]
    if rss_target is not None:
        figures.append(
            Figure(
                f"live {label}: web RSS (peak)",
                s["rss"],
                "MB",
                target=f"≤ {rss_target:g} MB",
                ok=s["rss"] <= rss_target,
            )
        )
    return figures


def run(quick: bool) -> list[Figure]:
    # One run decides nothing here: the two servers take turns, run after run, and the figures
    # are medians with their spread.
    reps, seconds = (2, 4) if quick else (5, 10)
    figures = []
    with Stack() as stack:
        stack.worker("default")
        for sockets, p99, rss, processes in ((100, 10, None, 2), (1000, 100, 130, 4)):
            web = stack.web(workers=1)
            peer = start_peer(stack) if have_peer() else None
            # Spool and the peer take turns, so that both meet the same machine.
            runs, peer_runs = [], []
            for _ in range(reps):
                runs.append(fan_out(stack, web, sockets, seconds, processes))
                if peer:
                    peer_runs.append(peer_fan_out(stack, peer, sockets, seconds, processes))
            stack.stop(web.master)
            if peer:
                stack.stop(peer.master)
            label = f"{sockets:,} sockets on one job, 20 events/s"
            spool = summary(runs)
            figures += _figures(label, spool, p99, rss, processes)
            figures += peer_figures(label, spool, peer_runs, MAX_US_PER_MESSAGE)
        web = stack.web(workers=1)
        runs = [own_jobs(stack, web, 1000, seconds, 5, 4) for _ in range(1 if quick else 3)]
        figures += _figures("1,000 sockets on their own jobs, 5 events/s each", summary(runs), 100, 130, 4)
    return figures
