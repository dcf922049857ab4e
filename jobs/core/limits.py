"""Concurrency limits over all workers: how many jobs of an owner, a type or a key run at once.

    @job(title="Fetch", concurrency=4)                                  # 4 of this type at once
    @job(title="Crawl", concurrency=1, concurrency_key=lambda p: p["site"])   # 1 per site
    MAX_RUNNING_PER_OWNER=2                                             # 2 of anyone's jobs at once

A worker that takes a job from its queue first claims a slot of each limit the job is under,
in one atomic script. A job that finds a limit full does not occupy the worker: it is parked
in RQ's deferred registry (status "deferred", with `waiting_for` in its meta saying what it
waits for) and the worker takes the next job. When a job holding a slot ends, the first job
parked on that limit goes back to its queue. Slots of jobs that died without saying so are
reclaimed by the next claim (a slot counts only while its job is queued or running), and
every worker's maintenance pass wakes parked jobs whose limit has room again.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.commands.core import Script
from rq.job import Job
from rq.serializers import JSONSerializer

from jobs.core import catalogue, events, keys, status
from jobs.core.config import settings
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta
from jobs.core.queue import queue

# Owners whose jobs no one waits for in a browser (the clock) are not capped.
UNCAPPED_OWNER_PREFIX = "spool:"
SLOT_TTL = 7 * 24 * 3600

# KEYS: one slot set per limit; ARGV: job id, the job hash prefix, ttl, the two statuses in
# which a job holds its slot (queued: just taken; started), then each limit.
# Returns 0 with every slot taken, or the (1-based) index of the first limit that is full.
_CLAIM = """
for i, key in ipairs(KEYS) do
  for _, member in ipairs(redis.call('SMEMBERS', key)) do
    local state = redis.call('HGET', ARGV[2] .. member, 'status')
    if state ~= ARGV[4] and state ~= ARGV[5] then redis.call('SREM', key, member) end
  end
  if redis.call('SISMEMBER', key, ARGV[1]) == 0 and redis.call('SCARD', key) >= tonumber(ARGV[5 + i]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('SADD', key, ARGV[1])
  redis.call('EXPIRE', key, ARGV[3])
end
return 0
"""
_claim = Script(None, _CLAIM.encode())


def limits_of(job: Job) -> list[tuple[str, int]]:
    """The (limit name, how many may run) pairs that a job is under."""
    meta = Meta.of(job)
    found = []
    cap = settings.max_running_per_owner
    # A fanned-out job's parts are that one job's work: the owner's cap counts the job, not them.
    if cap > 0 and meta.owner and not meta.owner.startswith(UNCAPPED_OWNER_PREFIX) and meta.parent is None:
        found.append((f"owner:{meta.owner}", cap))
    try:
        func_name = job.func_name
    except Exception:  # an unreadable payload: RQ fails the job when it tries to run it
        return found
    job_type = catalogue.by_func_name(func_name)
    if job_type is not None and job_type.concurrency:
        name = f"type:{job_type.name}"
        if job_type.concurrency_key is not None:
            name += f":{_key_of(job_type.concurrency_key, job, meta)}"
        found.append((name, job_type.concurrency))
    return found


def _key_of(key: str | Callable[[dict], object], job: Job, meta: Meta) -> str:
    if key == "owner":
        return meta.owner or ""
    try:
        return str(key(job.kwargs))[:200]
    except Exception:  # a key function that fails on odd parameters: all such jobs share one slot set
        return "?"


def describe(limit: str, allowed: int) -> str:
    """What a parked job waits for, in words for its page."""
    kind, _, rest = limit.partition(":")
    if kind == "owner":
        return f"a free slot: at most {allowed} of your jobs run at once"
    name, _, key = rest.partition(":")
    per = f" for {key}" if key else ""
    return f"a free slot: at most {allowed} “{name}” job{'s' if allowed != 1 else ''} run at once{per}"


def claim(connection, job: Job) -> bool:
    """Take a slot of every limit the job is under; if one is full, park the job and return False."""
    limits = limits_of(job)
    if not limits:
        return True
    full = _claim(
        keys=[keys.slots_key(name) for name, _ in limits],
        args=[job.id, keys.job_key(""), SLOT_TTL, status.QUEUED, status.STARTED, *[n for _, n in limits]],
        client=connection,
    )
    if not full:
        return True
    name, allowed = limits[full - 1]
    _park(connection, job, name, allowed)
    return False


def _park(connection, job: Job, limit: str, allowed: int) -> None:
    job.meta[keys.WAITING_FOR] = describe(limit, allowed)
    job.save_meta()
    registry = queue(job.origin, connection).deferred_job_registry
    with connection.pipeline() as pipe:
        job.set_status(status.DEFERRED, pipeline=pipe)
        registry.add(job, pipeline=pipe)
        pipe.rpush(keys.held_key(limit), job.id)
        pipe.expire(keys.held_key(limit), SLOT_TTL)
        pipe.hset(keys.LIMITS, limit, allowed)
        pipe.execute()
    events.publish_status(connection, job.id, status.DEFERRED)


def release(connection, job: Job) -> None:
    """Give back the job's slots, and send the first job parked on each limit back to its queue."""
    for name, _ in limits_of(job):
        connection.srem(keys.slots_key(name), job.id)
        wake(connection, name)


def wake(connection, limit: str) -> bool:
    """Send the first job still parked on a limit back to its queue; False when none is."""
    held = keys.held_key(limit)
    while (raw := connection.lindex(held, 0)) is not None:
        job_id = raw.decode()
        # Removed after it is back in its queue: a worker dying in between leaves a stale
        # entry, which is skipped, rather than a job parked for ever.
        parked = SpoolJob.fetch_many([job_id], connection=connection, serializer=JSONSerializer)[0]
        if parked is not None and status.of(parked) == status.DEFERRED and keys.WAITING_FOR in parked.meta:
            del parked.meta[keys.WAITING_FOR]
            parked.save_meta()
            # RQ's public enqueue_job leaves a deferred job deferred (it waits on dependencies);
            # _enqueue_job is what RQ itself calls to release a deferred job into its queue.
            queue(parked.origin, connection)._enqueue_job(parked)
            events.publish_status(connection, job_id, status.QUEUED)
        connection.lrem(held, 1, job_id)
        if parked is not None:
            return True
    return False


def wake_where_room(connection) -> None:
    """Wake parked jobs whose limit has room (a slot holder that died released nothing)."""
    for limit, allowed in connection.hgetall(keys.LIMITS).items():
        limit = limit.decode()
        if not connection.exists(keys.held_key(limit)):
            connection.hdel(keys.LIMITS, limit)
            continue
        room = int(allowed) - _live(connection, limit)
        while room > 0 and wake(connection, limit):
            room -= 1


def _live(connection, limit: str) -> int:
    members = [m.decode() for m in connection.smembers(keys.slots_key(limit))]
    return sum(s in (status.QUEUED, status.STARTED) for s in keys.statuses(connection, members))
