"""Admission limits, so one person (or one address minting cookies) cannot fill the queues.

    gated = quotas.admit(pipe, owner, job_id)  # first in the submit's transaction
    if not transaction.execute(connection, pipe, gated=gated): raise quotas.over_waiting()
    quotas.release(owner, job_id)              # the enqueue failed after all
    quotas.new_owner_allowed(address)  # None, or the seconds until another anonymous owner may be made

MAX_WAITING_PER_OWNER counts an owner's waiting jobs (queued, scheduled, deferred) without
scanning their jobs: each admitted job id goes into a small sorted set per owner; one Lua
script checks and adds, pruning the set of jobs no longer waiting only when it is full, so
concurrent submits cannot pass the limit together. It is the gate of the submit's own
transaction (jobs.core.transaction): the check and the job's writes are one round trip, and a
refused job writes nothing. Owners named in QUOTA_EXEMPT_OWNERS (e.g. `token:nightly`) are not
limited. Running jobs are not refused here: the scheduler lets them wait.
"""

from __future__ import annotations

import time

from flask import current_app
from redis.exceptions import RedisError

from jobs.core import keys, status, transaction
from webapp.exceptions import OverQuota
from webapp.resources import redis, settings
from webapp.submission import MAX_DELAY

# A reserved id whose job hash is not written yet (its enqueue is in flight) has no status;
# it is kept this long before being taken for a job that is gone.
IN_FLIGHT = 60
# When to try again after being refused for too many waiting jobs: about when a worker may
# have started one of them.
WAITING_RETRY_AFTER = 30
WINDOW = 3600
WAITING = sorted(status.WAITING)

# Check and add in one round trip; only an owner at the limit has their set pruned of ids no
# longer waiting (reading at most twice the limit), so a submit below it costs O(log n), and the
# set never holds more than about the limit.
# KEYS[1]: the owner's waiting set; ARGV: limit, now, job id, ttl, job hash prefix, in-flight
# cut-off, then the waiting statuses.
_ADMIT = """
local limit = tonumber(ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= limit then
  local waiting_status = {}
  for i = 7, #ARGV do waiting_status[ARGV[i]] = true end
  local members = redis.call('ZRANGE', KEYS[1], 0, 2 * limit - 1, 'WITHSCORES')
  for i = 1, #members, 2 do
    local state = redis.call('HGET', ARGV[5] .. members[i], 'status')
    local waiting = state and waiting_status[state]
    if not waiting and not (not state and tonumber(members[i + 1]) > tonumber(ARGV[6])) then
      redis.call('ZREM', KEYS[1], members[i])
    end
  end
  if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
transaction.register("quotas.admit", _ADMIT)


def exempt(owner: str) -> bool:
    return owner in current_app.config["QUOTA_EXEMPT_OWNERS"]


def admit(pipe, owner: str, job_id: str) -> bool:
    """Record, first in the submit's transaction `pipe`, the check that counts `job_id` among the
    owner's waiting jobs unless they have enough; False when no limit applies to them."""
    limit = current_app.config["MAX_WAITING_PER_OWNER"]
    if not limit or exempt(owner):
        return False
    # Kept as long as a scheduled job may wait and then be kept.
    ttl = int(MAX_DELAY.total_seconds()) + settings().result_ttl
    now = time.time()
    pipe.eval(_ADMIT, 1, keys.waiting_key(owner), limit, now, job_id, ttl, keys.job_key(""), now - IN_FLIGHT, *WAITING)
    return True


def over_waiting() -> OverQuota:
    """The refusal of a submit whose owner has as many jobs waiting as they may."""
    limit = current_app.config["MAX_WAITING_PER_OWNER"]
    return OverQuota(
        f"You already have {limit} jobs waiting, the most one person may have (MAX_WAITING_PER_OWNER); "
        f"try again in {WAITING_RETRY_AFTER} seconds, when one has started, or cancel one.",
        WAITING_RETRY_AFTER,
    )


def release(owner: str, job_id: str) -> None:
    """Best effort: a Redis that refused the submit may refuse this too; the id is pruned anyway
    once its job is found not waiting."""
    try:
        redis().zrem(keys.waiting_key(owner), job_id)
    except RedisError:
        pass


def move(old: str, new: str) -> None:
    """Count an owner's waiting jobs as another's, when the first one's jobs are given to the second."""
    connection = redis()
    entries = connection.zrange(keys.waiting_key(old), 0, -1, withscores=True)
    with connection.pipeline() as pipe:
        if entries:
            pipe.zadd(keys.waiting_key(new), dict(entries))
            pipe.expire(keys.waiting_key(new), int(MAX_DELAY.total_seconds()) + settings().result_ttl)
        pipe.delete(keys.waiting_key(old))
        pipe.execute()


def new_owner_allowed(address: str) -> int | None:
    """Count a new anonymous owner for `address`; None if allowed, else the seconds to wait."""
    limit = current_app.config["MAX_NEW_OWNERS_PER_IP"]
    if not limit:
        return None
    key = keys.new_owners_key(address)
    with redis().pipeline() as pipe:
        pipe.set(key, 0, ex=WINDOW, nx=True)  # the hour starts at the first owner made
        pipe.incr(key)
        pipe.ttl(key)
        _, made, ttl = pipe.execute()
    return None if made <= limit else max(ttl, 1)


def new_owners_refused(retry_after: int) -> OverQuota:
    limit = current_app.config["MAX_NEW_OWNERS_PER_IP"]
    return OverQuota(
        f"Your address has started {limit} anonymous sessions within the hour, the most allowed "
        f"(MAX_NEW_OWNERS_PER_IP): let your browser keep Spool's cookie, or try again in {retry_after} seconds.",
        retry_after,
    )
