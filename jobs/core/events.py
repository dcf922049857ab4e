"""The event writer: how a job's status, progress, log lines and output reach the people watching.

Every event for a job goes through `publish`, which numbers it (a `seq` that rises per
job, kept in the job's own hash so it expires with it), optionally stores the latest meta,
and publishes it on the job's channel, in one round trip. The web's hub reads the channel.
"""

from __future__ import annotations

import json

from redis import Redis
from redis.commands.core import Script

from jobs.core import keys

LOG_KEEP = 500

_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], ARGV[4], 1)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'meta', ARGV[2]) end
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
end
if ARGV[7] ~= '' then
  local out = cjson.decode(ARGV[7])
  if out.reset then redis.call('DEL', KEYS[5], KEYS[6]) end
  for _, row in ipairs(out.rows) do redis.call('RPUSH', KEYS[6], row) end
  if out.text ~= '' then
    redis.call('HSET', KEYS[5], 'text', (redis.call('HGET', KEYS[5], 'text') or '') .. out.text)
  end
  for name, value in pairs(out.values) do redis.call('HSET', KEYS[5], 'v:' .. name, value) end
  if out.columns then redis.call('HSET', KEYS[5], 'columns', out.columns) end
  if out.truncated then redis.call('HSET', KEYS[5], 'truncated', '1') end
  redis.call('HSETNX', KEYS[5], 'text', '')
  redis.call('EXPIRE', KEYS[5], out.ttl)
  if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('EXPIRE', KEYS[6], out.ttl) end
end
for i = 8, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[4], ARGV[i], ARGV[i + 1]) end
redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[1])
return seq
"""
_script = Script(None, _PUBLISH.encode())


def publish(
    connection: Redis,
    job_id: str,
    event: dict,
    *,
    meta: dict | None = None,
    log_line: str | None = None,
    log_ttl: int = 7 * 24 * 3600,
    pipeline=None,
    tally: tuple[str, dict[str, float]] | None = None,
    output: dict | None = None,
) -> None:
    """Number and publish one event; store `meta` and append `log_line` alongside; add
    `output` to what the job emitted (jobs.core.output builds it); add `tally`'s amounts to the
    fields of its hash (counters for /metrics) in the same call.

    An event for a job that no longer exists is dropped.
    """
    tally_key, amounts = tally or (keys.TOTALS, {})
    names = [
        keys.job_key(job_id),
        keys.channel(job_id),
        keys.log_key(job_id),
        tally_key,
        keys.output_key(job_id),
        keys.output_rows_key(job_id),
    ]
    args = [
        json.dumps(event, separators=(",", ":")),
        json.dumps(meta, separators=(",", ":")) if meta is not None else "",
        log_line or "",
        keys.SEQ_FIELD,
        LOG_KEEP,
        log_ttl,
        json.dumps(output, separators=(",", ":")) if output is not None else "",
        *(x for pair in amounts.items() for x in pair),
    ]
    if pipeline is None:
        _script(keys=names, args=args, client=connection)
    else:
        # EVAL with its text, not the Script: a pipeline holding a Script asks SCRIPT EXISTS
        # first, one more round trip on every execute; Redis caches the compiled text all the same.
        pipeline.eval(_PUBLISH, len(names), *names, *args)


def publish_status(connection: Redis, job_id: str, status: str, tally=None, pipeline=None) -> None:
    publish(connection, job_id, {"type": "status", "status": status}, tally=tally, pipeline=pipeline)


def parse_message(data: bytes | str) -> tuple[int, dict]:
    """Split a published message into its seq and its event."""
    if isinstance(data, bytes):
        data = data.decode()
    seq, _, body = data.partition(" ")
    return int(seq), json.loads(body)
