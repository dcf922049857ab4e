"""Live progress at scale: from progress() in a worker to the message at WebSocket clients,
with every socket on ONE web process (gunicorn, gevent, WEB_CONCURRENCY=1).

Fan-out: one `ticker` job in a real worker calls log() three times and progress() once,
five times a second (20 events/s, each stamped with the time of its call; the reporter
writes each tick at once, in one round trip), and 100 or 1,000 sockets watch it.
Own jobs: 1,000 sockets each watch their own job; this process publishes 5 progress
events/s for each through `jobs.core.events.publish` (the reporter's own writer), then cancels
them all. Clients run in several processes (`bench.wsclient`), whose CPU is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import requests
from rq.job import Job

from bench.harness import PYTHON, Stack, Web, children, cpu_seconds, free_port, memory_mb, wait_for
from bench.report import Figure, median, percentile
from jobs.core import events, keys
from jobs.core.queue import queue

# The most web CPU per message delivered to a socket: what the hub cost when the target was set.
MAX_US_PER_MESSAGE = 18


def _clients(
    stack: Stack, web_url: str, cookie: str, job_ids: list[str], processes: int, peer: bool = False
) -> list[subprocess.Popen]:
    ws_url = web_url.replace("http://", "ws://")
    share = -(-len(job_ids) // processes)
    procs = []
    for start in range(0, len(job_ids), share):
        argv = [PYTHON, "-m", "bench.wsclient", *(["--socketio"] if peer else []), ws_url, cookie]
        argv += job_ids[start : start + share]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            raise RuntimeError(f"a socket client did not get ready (it said {line!r})")
    return procs


def _collect(procs: list[subprocess.Popen], timeout: float) -> dict:
    merged = {"events": [], "finals": 0, "resyncs": 0, "latencies_ms": [], "cpu_s": []}
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("a socket client failed")
        data = json.loads(out.strip().splitlines()[-1])
        merged["events"] += data["events"]
        merged["finals"] += data["finals"]
        merged["resyncs"] += data["resyncs"]
        merged["latencies_ms"] += data["latencies_ms"]
        merged["cpu_s"].append(data["cpu_s"])
    return merged


def _session(web_url: str) -> requests.Session:
    session = requests.Session()
    session.post(web_url + "/api/jobs", json={"type": "parked", "params": {}}, timeout=10).raise_for_status()
    return session


def _cookie(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def _web_figures(stack: Stack, web: Web) -> tuple[int, float]:
    pid = web.workers[0]
    return pid, cpu_seconds(pid)


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
    procs = _clients(stack, web.url, _cookie(session), [job["id"]] * sockets, processes)
    pid, cpu_before = _web_figures(stack, web)
    started = time.monotonic()
    stack.redis.set(gate, 1)
    result = _collect(procs, seconds + 120)
    elapsed = time.monotonic() - started
    result["web_cpu_s"] = cpu_seconds(pid) - cpu_before
    result["elapsed_s"] = elapsed
    result["web_rss_mb"] = memory_mb(pid, "VmHWM")
    result["published"] = ticks * 4  # three lines and a progress update a tick
    result["sockets"] = sockets
    return result


def start_peer(stack: Stack) -> Web:
    """Start the Flask-SocketIO peer under gunicorn, one gevent-websocket process."""
    port = free_port()
    worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
    argv = ["gunicorn", "-k", worker_class, "-w", "1", "-b", f"127.0.0.1:{port}", "bench.socketio_peer:app"]
    master = stack.spawn(argv, name="peer")
    url = f"http://127.0.0.1:{port}"

    def up():
        if master.poll() is not None:
            raise RuntimeError("the peer exited:\n" + stack.log_of(master))
        try:
            return requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=5).ok
        except requests.RequestException:
            return False

    wait_for(up, 60, "the Flask-SocketIO peer", interval=0.1)
    return Web(url, master, children(master.pid))


def peer_fan_out(stack: Stack, web: Web, sockets: int, seconds: float, processes: int) -> dict:
    """The same load on the peer: a process emits to one room at 20 events/s through Redis."""
    from flask_socketio import SocketIO

    emitter = SocketIO(message_queue=stack.url)
    room = uuid.uuid4().hex
    procs = _clients(stack, web.url, "", [room] * sockets, processes, peer=True)
    pid, cpu_before = _web_figures(stack, web)
    started = due = time.monotonic()
    ticks = int(seconds * 5)
    for i in range(ticks):
        for _ in range(3):
            emitter.emit("log", {"line": repr(time.time())}, to=room)
        emitter.emit("progress", {"done": i + 1, "total": ticks, "message": repr(time.time())}, to=room)
        due += 0.2
        time.sleep(max(0.0, due - time.monotonic()))
    emitter.emit("done", {}, to=room)
    result = _collect(procs, 120)
    result["elapsed_s"] = time.monotonic() - started
    result["web_cpu_s"] = cpu_seconds(pid) - cpu_before
    result["web_rss_mb"] = memory_mb(pid, "VmHWM")
    result["published"] = ticks * 4
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
    procs = _clients(stack, web.url, _cookie(session), ids, processes)
    pid, cpu_before = _web_figures(stack, web)
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
    result = _collect(procs, 120)
    result["elapsed_s"] = time.monotonic() - started
    result["web_cpu_s"] = cpu_seconds(pid) - cpu_before
    result["web_rss_mb"] = memory_mb(pid, "VmHWM")
    result["published"] = rounds
    result["sockets"] = sockets
    return result


def _summary(runs: list[dict]) -> dict:
    """Medians over repetitions of each run's own figures, with the spread of the latencies."""

    def per_run(run):
        delivered = sum(run["events"])
        least = min(run["events"]) / run["published"]
        return {
            "p50": percentile(run["latencies_ms"], 50),
            "p99": percentile(run["latencies_ms"], 99),
            "least_share": least,
            "finals": run["finals"] / run["sockets"],
            "rss": run["web_rss_mb"],
            "web_us_per_msg": run["web_cpu_s"] / max(delivered, 1) * 1e6,
            "web_cores": run["web_cpu_s"] / run["elapsed_s"],
            "client_cores": sum(run["cpu_s"]) / run["elapsed_s"],
            # One client process is one gevent loop: near a whole core, it delays what it reads.
            "busiest_client": max(run["cpu_s"]) / run["elapsed_s"],
            "resyncs": run["resyncs"],
        }

    figures = [per_run(r) for r in runs]
    return {k: median(f[k] for f in figures) for k in figures[0]} | {
        "worst_share": min(f["least_share"] for f in figures),
        "worst_finals": min(f["finals"] for f in figures),
        "runs": len(figures),
        **{f"{k}_range": (min(f[k] for f in figures), max(f[k] for f in figures)) for k in ("p50", "p99")},
        "busiest_client_max": max(f["busiest_client"] for f in figures),
    }


def _spread(s: dict, key: str) -> str:
    low, high = s[f"{key}_range"]
    return f"{key} median {s[key]:.1f} ms ({low:.1f}–{high:.1f} over {s['runs']} runs)"


def _limit(s: dict) -> str:
    """Whether the clients, not the server, may be what the latencies measure."""
    used = s["web_cores"] + s["client_cores"]
    cores = os.cpu_count() or 1
    if s["busiest_client_max"] >= 0.8:
        return f"client-bound: a client process used up to {s['busiest_client_max']:.2f} of a core"
    if used < 0.5 * cores:
        # Neither the server nor a client was busy, yet the latencies are what they are: the
        # machine's other work (its load average is in the header) held both back.
        return f"neither bound: web and clients used {used:.2f} of {cores} cores; the machine was busy elsewhere"
    return f"not client-bound: the busiest client process used at most {s['busiest_client_max']:.2f} of a core"


def _figures(label: str, s: dict, p99_target: float, rss_target: float | None, processes: int) -> list[Figure]:
    note = (
        f"{_spread(s, 'p99')}; {_spread(s, 'p50')}; web used {s['web_cores']:.2f} cores, "
        f"{s['web_us_per_msg']:.1f} µs per message; {processes} client processes used "
        f"{s['client_cores']:.2f} cores ({_limit(s)}); {s['resyncs']:.0f} resyncs"
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
            peer = start_peer(stack) if _have_peer() else None
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
            spool = _summary(runs)
            figures += _figures(label, spool, p99, rss, processes)
            figures += _peer_figures(label, spool, peer_runs)
        web = stack.web(workers=1)
        runs = [own_jobs(stack, web, 1000, seconds, 5, 4) for _ in range(1 if quick else 3)]
        figures += _figures("1,000 sockets on their own jobs, 5 events/s each", _summary(runs), 100, 130, 4)
    return figures


def _have_peer() -> bool:
    try:
        import flask_socketio  # noqa: F401
    except ImportError:
        return False
    return True


def _peer_figures(label: str, spool: dict, peer_runs: list[dict]) -> list[Figure]:
    """Spool's figures beside Flask-SocketIO's under the same load, when the peer is installed."""
    if not peer_runs:
        return [Figure(f"peer {label}", float("nan"), "", note="Flask-SocketIO is not installed")]
    theirs = _summary(peer_runs)
    return [
        Figure(
            f"vs Flask-SocketIO, {label}: median p99",
            spool["p99"],
            "ms",
            theirs["p99"],
            "Flask-SocketIO",
            "≤ Flask-SocketIO's",
            spool["p99"] <= theirs["p99"],
            f"peer {_spread(theirs, 'p99')}; peer {_spread(theirs, 'p50')}; peer least-served socket "
            f"{theirs['worst_share'] * 100:.0f} %; peer clients {_limit(theirs)}",
        ),
        Figure(
            f"vs Flask-SocketIO, {label}: web CPU per delivered message",
            spool["web_us_per_msg"],
            "µs",
            theirs["web_us_per_msg"],
            "Flask-SocketIO",
            f"≤ {MAX_US_PER_MESSAGE:g} µs",
            spool["web_us_per_msg"] <= MAX_US_PER_MESSAGE,
        ),
        Figure(f"vs Flask-SocketIO, {label}: web RSS", spool["rss"], "MB", theirs["rss"], "Flask-SocketIO"),
    ]
