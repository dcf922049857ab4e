"""Finding jobs by status, type, owner, submit time and words, newest first, from the indexes
that jobs.core.index keeps: no job is read to decide whether it matches.

    found = search.find(connection, Filters(status="failed", q="timeout"), offset=0, count=20)
    found.total, found.ids

The sets a filter names are intersected in Redis (ZINTERSTORE walks the smallest and looks each
member up in the others), and the submit-time range and the page are cut from the result in the
same script, so a search is one round trip whatever it asks.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import NamedTuple

from redis.commands.core import Script

from jobs.core import index, keys


@dataclass(frozen=True)
class Filters:
    """What a search asks for; empty fields ask for nothing. `since` and `until` are Unix times."""

    status: str = ""
    type: str = ""
    owner: str = ""
    since: float | None = None
    until: float | None = None
    q: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


class Found(NamedTuple):
    total: int
    ids: list[str]


_FIND = Script(
    None,
    b"""
local base = KEYS[2]
if #KEYS > 2 then
  redis.call('ZINTERSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
  base = KEYS[1]
end
local total = redis.call('ZCOUNT', base, ARGV[1], ARGV[2])
local ids = redis.call('ZREVRANGEBYSCORE', base, ARGV[2], ARGV[1], 'LIMIT', ARGV[3], ARGV[4])
if base == KEYS[1] then redis.call('DEL', KEYS[1]) end
return {total, ids}
""",
)


def sets_for(filters: Filters) -> list[str]:
    """The index sets whose intersection holds the jobs matching the filters."""
    sets = []
    if filters.owner:
        sets.append(keys.owner_key(filters.owner))
    if filters.status and filters.type:
        sets.append(keys.index_status_keys(filters.type)[filters.status])
    elif filters.status:
        sets.append(keys.index_status_keys()[filters.status])
    elif filters.type:
        sets.append(keys.index_type_key(filters.type))
    sets += [keys.INDEX_WORD_PREFIX + w for w in index.words(filters.q)]
    # An owner's own set holds the jobs submitted before the indexes were kept as well.
    return sets or [keys.INDEX_ALL]


def find(client, filters: Filters, *, offset: int = 0, count: int = 20) -> Found:
    """The ids of one page of matching jobs, newest first, and how many match in all
    (`count=-1` for every one)."""
    low = "-inf" if filters.since is None else repr(filters.since)
    high = "+inf" if filters.until is None else repr(filters.until)
    total, ids = _FIND(
        keys=[keys.search_scratch_key(uuid.uuid4().hex), *sets_for(filters)],
        args=[low, high, offset, count],
        client=client,
    )
    return Found(int(total), [i.decode() for i in ids])
