"""The search indexes' writer: which sets a job is in, kept as it is submitted, changes status,
fails, is deleted or expires. jobs.core.search reads them.

    index.add(pipe, job_id, owner, type_name, values, upload_refs)   # in the submit's transaction
    index.set_status(pipe, job_id, "started", type_name)             # in RQ's own status write
    index.remove(connection, job_ids)                                # a deleted or expired job

Every set is a sorted set scored by submit time (see keys.INDEX_ALL), so any intersection of
them is still newest first. Each status has a set, and one per type as well, so that a search
by status and type reads one set instead of intersecting two large ones. Free text is indexed as words (runs of ASCII letters and digits,
lowercased) of the parameters, the upload file names and the error sentence: a search for
"report 2024" finds the jobs holding both words, by set intersection, with no job read.

Each job's record (`keys.index_terms_key`) names the sets it is in, so a job that vanished
leaves them: at once when Spool deletes it, by `sweep` (the housekeeping job) when RQ's TTL
expired it, and lazily when a search reads an id whose job is gone.
"""

from __future__ import annotations

import re

from redis import Redis

from jobs.core import keys, transaction

WORD = re.compile(r"[a-z0-9]+")
MAX_WORD = 40
MAX_WORDS = 64
BATCH = 500

# Sent as EVAL with their text, not as Scripts: in a pipeline redis-py would first ask
# SCRIPT EXISTS, a round trip more on the submit and on every status change.
_ADD = """
local id, score = ARGV[1], ARGV[2]
local again = redis.call('ZADD', KEYS[1], score, id) == 0
local terms, seen, names = {KEYS[4], KEYS[5]}, {}, {}
for i = 14, 21 do table.insert(terms, KEYS[i]) end
local function word(w)
  if #w <= tonumber(ARGV[5]) and not seen[w] and #terms < tonumber(ARGV[6]) then
    seen[w] = true
    table.insert(terms, ARGV[3] .. w)
  end
end
for i = 15, #ARGV do word(ARGV[i]) end
for i = 22, #KEYS do
  local name = redis.call('HGET', KEYS[i], 'name')
  if name then
    table.insert(names, name)
    for w in string.gmatch(string.lower(name), '%w+') do word(w) end
  end
end
if #names > 0 then redis.call('HSET', KEYS[2], ARGV[4], cjson.encode(names)) end
for i, key in ipairs(terms) do
  if i < 3 or i > 10 then redis.call('ZADD', key, score, id) end
end
redis.call('SADD', KEYS[3], unpack(terms))
local state = redis.call('HGET', KEYS[2], 'status')
for i = 1, 8 do
  if ARGV[6 + i] == state then
    redis.call('ZADD', KEYS[5 + i], score, id)
    redis.call('ZADD', KEYS[13 + i], score, id)
  elseif again then
    redis.call('ZREM', KEYS[5 + i], id)
    redis.call('ZREM', KEYS[13 + i], id)
  end
end
"""
transaction.register("index.add", _ADD)

# KEYS: the set of all, then each status's sets (of all types, then of the job's type, if known).
_MOVE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
local target, per = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 2, #KEYS do
  if (i - 2) % per + 2 ~= target then redis.call('ZREM', KEYS[i], ARGV[1]) end
end
for i = target, #KEYS, per do redis.call('ZADD', KEYS[i], score, ARGV[1]) end
return 1
"""
transaction.register("index.move", _MOVE)

_ADD_WORDS = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
for i = 3, #ARGV do
  redis.call('ZADD', ARGV[2] .. ARGV[i], score, ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[2] .. ARGV[i])
end
return 1
"""

_REMOVE = """
local removed = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local record = ARGV[1] .. id
  for _, key in ipairs(redis.call('SMEMBERS', record)) do redis.call('ZREM', key, id) end
  redis.call('DEL', record)
  for k = 1, #KEYS do removed = removed + redis.call('ZREM', KEYS[k], id) end
end
return removed
"""


def words(text: str) -> list[str]:
    """The words of a text as the index keeps them: lowercased ASCII letters and digits, each once."""
    return list(dict.fromkeys(w for w in WORD.findall(str(text).lower()) if len(w) <= MAX_WORD))


def _values_text(values: dict, skip: tuple[str, ...]) -> str:
    parts = []
    for name, value in values.items():
        if name in skip or value is None:
            continue
        parts.extend(str(v) for v in value) if isinstance(value, list | tuple) else parts.append(str(value))
    return " ".join(parts)


def add(pipe, job_id: str, owner: str | None, type_name: str, values: dict, upload_refs: dict[str, str], score: float):
    """Index a job being submitted, in the caller's transaction (after the job's hash is written),
    under the status its hash holds; a job indexed before (a part fanned out again) leaves the
    other statuses' sets.

    `upload_refs` maps upload parameters to their stored files: their names are read there. A
    job with no owner (a fanned-out part) stays out of every owner's list: the set of all jobs
    takes the owner set's place, where adding it again changes nothing.
    """
    uploads = [keys.upload_key(ref) for ref in upload_refs.values() if isinstance(ref, str)]
    found = words(_values_text(values, tuple(upload_refs)))[:MAX_WORDS]
    statuses = keys.index_status_keys()
    pipe.eval(
        _ADD,
        21 + len(uploads),
        keys.INDEX_ALL,
        keys.job_key(job_id),
        keys.index_terms_key(job_id),
        keys.owner_key(owner) if owner else keys.INDEX_ALL,
        keys.index_type_key(type_name),
        *statuses.values(),
        *keys.index_status_keys(type_name).values(),
        *uploads,
        job_id,
        score,
        keys.INDEX_WORD_PREFIX,
        keys.INDEX_FILES_FIELD,
        MAX_WORD,
        MAX_WORDS + 10,
        *statuses,
        *found,
    )


def set_status(client, job_id: str, status: str, type_name: str | None) -> None:
    """Move an indexed job to its new status's sets (a job that was never indexed is left out)."""
    statuses = keys.index_status_keys()
    if status not in statuses:
        return
    sets = [*statuses.values(), *(keys.index_status_keys(type_name).values() if type_name else ())]
    target = list(statuses).index(status) + 2
    client.eval(_MOVE, 1 + len(sets), keys.INDEX_ALL, *sets, job_id, target, len(statuses))


def reown(pipe, job_ids: list, old: str, new: str) -> None:
    """Record that jobs moved from one owner's set to another's (the sets themselves are the
    caller's to change)."""
    for job_id in job_ids:
        record = keys.index_terms_key(job_id.decode() if isinstance(job_id, bytes) else job_id)
        pipe.srem(record, keys.owner_key(old))
        pipe.sadd(record, keys.owner_key(new))


def add_error(client, job_id: str, sentence: str) -> None:
    """Make a failed job findable by the words of its error sentence."""
    found = words(sentence)[:MAX_WORDS]
    if found:
        client.eval(_ADD_WORDS, 2, keys.INDEX_ALL, keys.index_terms_key(job_id), job_id, keys.INDEX_WORD_PREFIX, *found)


def remove(client, job_ids: list[str]) -> int:
    """Take jobs out of every index (each job's own record says which sets it is in)."""
    if not job_ids:
        return 0
    return client.eval(
        _REMOVE,
        1 + len(keys.index_status_keys()),
        keys.INDEX_ALL,
        *keys.index_status_keys().values(),
        keys.index_terms_key(""),
        *job_ids,
    )


def sweep(connection: Redis) -> int:
    """Take the jobs that expired out of every index; return how many entries went."""
    forgotten = 0
    cursor = 0
    while True:
        cursor, members = connection.zscan(keys.INDEX_ALL, cursor, count=BATCH)
        ids = [m.decode() for m, _ in members]
        gone = [i for i, exists in zip(ids, keys.existing(connection, ids), strict=True) if not exists]
        forgotten += remove(connection, gone)
        if cursor == 0:
            return forgotten
