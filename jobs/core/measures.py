"""What workers and web processes count as it happens, for /metrics to read from Redis.

    events.publish_status(..., tally=measures.duration_tally("primes", 2.5))   # a worker
    measures.add(pipe, "events_delivered", 40)     # a web process, on its heartbeat
    measures.durations(connection)                 # {type: (cumulative buckets, sum, count)}
    measures.totals(connection)                    # {"events_delivered": 1234, ...}

Counted in Redis as events happen, not recomputed from the jobs still kept, so the counts
are the whole cluster's and never fall when jobs expire or a process restarts (Prometheus
would read a fall as a counter reset). Each duration falls in one bucket field; the
cumulative counts Prometheus expects are summed when read.
"""

from __future__ import annotations

from redis import Redis

from jobs.core import keys

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)
INF = "+Inf"
SEP = "\t"  # between a job type's name and what the field counts; names are identifiers


def duration_tally(type_name: str, seconds: float) -> tuple[str, dict[str, float]]:
    """What counts one finished job's run time, for the status event that announces it."""
    bucket = next((str(b) for b in DURATION_BUCKETS if seconds <= b), INF)
    return keys.DURATIONS, {f"{type_name}{SEP}{bucket}": 1, f"{type_name}{SEP}sum": seconds}


def add(pipe, name: str, amount: int) -> None:
    if amount:
        pipe.hincrby(keys.TOTALS, name, amount)


def totals(connection: Redis) -> dict[str, int]:
    return {k.decode(): int(float(v)) for k, v in connection.hgetall(keys.TOTALS).items()}


def durations(connection: Redis) -> dict[str, tuple[list[tuple[str, int]], float, int]]:
    """Per job type: the cumulative (le, count) of every bucket, +Inf last; the sum; the count."""
    per_type: dict[str, dict[str, float]] = {}
    for field, value in connection.hgetall(keys.DURATIONS).items():
        type_name, _, what = field.decode().partition(SEP)
        per_type.setdefault(type_name, {})[what] = float(value)
    out = {}
    for type_name, counted in sorted(per_type.items()):
        running, buckets = 0, []
        for le in [*map(str, DURATION_BUCKETS), INF]:
            running += round(counted.get(le, 0))
            buckets.append((le, running))
        out[type_name] = (buckets, counted.get("sum", 0.0), running)
    return out
