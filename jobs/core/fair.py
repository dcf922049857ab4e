"""Fair turns within a queue: owners take turns, however many jobs one of them has waiting.

    fair.push(pipe_or_conn, queue, job_id)     # instead of RPUSH, as SpoolQueue.push_job_id
    fair.dequeued(connection, queue, job_id)   # once a worker has taken the job

The waiting jobs stay in RQ's own list for the queue, so RQ's workers, `rq info` and
rq-dashboard see them as usual; Spool only chooses where in the list a job goes. Each job is
given a round, as in fair queuing: an owner's first waiting job is in the current round, their
next in the round after, and so on. The list is kept ordered by (round, arrival), so a job of
owner B waits behind at most one job per owner ahead of it in its round, not behind all of
owner A's thousand. The current round is that of the last job a worker took.

Cost: a push is one Lua script (a ZADD, a ZRANK, and an LINSERT that walks the list to the job
after it, so O(jobs waiting) in the worst case); a dequeue is one more script (a ZREM). A job
pushed to the front (RQ's at_front) or by plain RQ code keeps its place and is simply passed over.
"""

from __future__ import annotations

from redis.commands.core import Script

from jobs.core import keys, transaction

_PUSH = """
local queue, order, last, clock, seq, job = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local owner = ''
local meta = redis.call('HGET', job, 'meta')
if meta then
  local ok, decoded = pcall(cjson.decode, meta)
  if ok and type(decoded) == 'table' and type(decoded.owner) == 'string' then owner = decoded.owner end
end
local round = math.max(tonumber(redis.call('GET', clock) or '0'), tonumber(redis.call('HGET', last, owner) or '-1') + 1)
redis.call('HSET', last, owner, round)
local member = string.format('%015d', redis.call('INCR', seq)) .. ':' .. ARGV[1]
redis.call('ZADD', order, round, member)
redis.call('HSET', job, ARGV[2], member)
for _, key in ipairs({order, last, clock, seq}) do redis.call('EXPIRE', key, ARGV[3]) end
local rank = redis.call('ZRANK', order, member)
while true do
  local after = redis.call('ZRANGE', order, rank + 1, rank + 1)[1]
  if not after then return redis.call('RPUSH', queue, ARGV[1]) end
  local pivot = string.sub(after, string.find(after, ':', 1, true) + 1)
  local placed = redis.call('LINSERT', queue, 'BEFORE', pivot, ARGV[1])
  if placed > 0 then return placed end
  redis.call('ZREM', order, after)  -- that job left the queue (canceled, deleted): forget it
end
"""
transaction.register("fair.push", _PUSH)
_DEQUEUED = """
local member = redis.call('HGET', KEYS[3], ARGV[1])
if not member then return 0 end
local round = redis.call('ZSCORE', KEYS[1], member)
redis.call('ZREM', KEYS[1], member)
if round and tonumber(round) > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], round, 'EX', ARGV[2])
end
return 1
"""
_dequeued = Script(None, _DEQUEUED.encode())
# The bookkeeping of a queue no one uses for a day goes away.
TTL = 24 * 3600


def push(client, queue_key: str, queue_name: str, job_id: str) -> None:
    """Put a job in its queue's list at its fair place (`client` may be a pipeline).

    Sent as EVAL with its text, not as a Script: in a pipeline redis-py asks SCRIPT EXISTS
    for every Script first, one more round trip on every submit; Redis caches the compiled
    script by its text all the same.
    """
    client.eval(_PUSH, 6, queue_key, *keys.fair_keys(queue_name), keys.job_key(job_id), job_id, keys.FAIR_FIELD, TTL)


def dequeued(client, queue_name: str, job_id: str) -> None:
    """Note that a worker took the job: its round becomes the current one."""
    order, _last, clock, _seq = keys.fair_keys(queue_name)
    _dequeued(keys=[order, clock, keys.job_key(job_id)], args=[keys.FAIR_FIELD, TTL], client=client)
