"""The parts of a fanned-out job (see jobs.core.fanout): their ids, their progress rolled into
their parent's, and how many are done, running, waiting or failed.

    parts.part_ids(job_id, 3)                 # ["<id>-part-1", "<id>-part-2", "<id>-part-3"]
    parts.roll_up(pipe, parent_id, 0, 5, 10)  # part 1 is half done
    parts.summary(connection, job)            # {"total", "done", "running", "waiting", "failed", "progress"}
    parts.publish_counts(connection, parent_id)   # a "parts" event on the parent, after a part moved
"""

from __future__ import annotations

import json
import time

from redis.commands.core import Script
from rq.job import Job

from jobs.core import events, keys, status
from jobs.core.keys import Meta


def part_id(job_id: str, index: int) -> str:
    return f"{job_id}-part-{index + 1}"


def part_ids(job_id: str, count: int) -> list[str]:
    return [part_id(job_id, i) for i in range(count)]


# A part's progress, rolled into its parent's: each part's fraction done is kept in a hash,
# and the parent's progress (parts' fractions summed, of the number of parts) is stored and
# published as one event of the parent's, atomically, so concurrent parts never publish a
# sum out of order.
_ROLL_UP = Script(
    None,
    b"""
local ok, meta = pcall(cjson.decode, redis.call('HGET', KEYS[1], 'meta') or '')
if not ok or type(meta) ~= 'table' or type(meta['fan_out']) ~= 'table' then return 0 end
local total = tonumber(meta['fan_out']['parts'])
redis.call('HSET', KEYS[3], 'f:' .. ARGV[1], ARGV[2])
local sum, whole = 0, 0
local flat = redis.call('HGETALL', KEYS[3])
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 2) == 'f:' then
    local f = tonumber(flat[i + 1])
    sum = sum + f
    if f >= 1 then whole = whole + 1 end
  end
end
local state = {done = sum, total = total, percent = math.floor(1000 * sum / total + 0.5) / 10,
  message = whole .. ' of ' .. total .. ' parts done', eta_s = cjson.null, elapsed_s = cjson.null,
  updated_at = tonumber(ARGV[3])}
redis.call('HSET', KEYS[3], 'state', cjson.encode(state))
redis.call('EXPIRE', KEYS[3], ARGV[4])
local seq = redis.call('HINCRBY', KEYS[1], ARGV[5], 1)
state['type'] = 'progress'
redis.call('PUBLISH', KEYS[2], seq .. ' ' .. cjson.encode(state))
return seq
""",
)


def roll_up(client, parent_id: str, index: int, done: float, total: float | None, ttl: int) -> None:
    """Count a part's progress into its parent's (`client` may be a pipeline)."""
    fraction = min(max(done / total, 0.0), 1.0) if total else 0.0
    _ROLL_UP(
        keys=[keys.job_key(parent_id), keys.channel(parent_id), keys.parts_progress_key(parent_id)],
        args=[index, fraction, time.time(), ttl, keys.SEQ_FIELD],
        client=client,
    )


def counts(connection, job_id: str, count: int) -> dict:
    """How many of a job's parts are done, running, waiting and failed (or canceled, or gone)."""
    states = keys.statuses(connection, part_ids(job_id, count))
    return {
        "total": count,
        "done": sum(s == status.FINISHED for s in states),
        "running": sum(s == status.STARTED for s in states),
        "waiting": sum(s in status.WAITING for s in states),
        "failed": sum(s is None or s in status.ENDED_BADLY for s in states),
    }


def summary(connection, job: Job) -> dict | None:
    """A fanned-out job's parts by state, and its rolled-up progress: None for other jobs."""
    plan = Meta.of(job).fan_out
    if not plan:
        return None
    state = connection.hget(keys.parts_progress_key(job.id), "state")
    return {**counts(connection, job.id, plan["parts"]), "progress": json.loads(state) if state else None}


def publish_counts(connection, parent_id: str) -> None:
    """Send the parent's watchers a `{"type": "parts", ...}` event with its parts' counts, after a
    part's status changed."""
    raw = connection.hget(keys.job_key(parent_id), "meta")
    plan = (json.loads(raw) if raw else {}).get("fan_out")
    if plan:
        events.publish(connection, parent_id, {"type": "parts", **counts(connection, parent_id, plan["parts"])})
