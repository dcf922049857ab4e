"""The names of the search indexes' keys (see jobs.core.index, which writes them, and
jobs.core.search, which reads them)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from jobs.core.keys.names import PREFIX, escape
from jobs.core.status import ALL as STATUSES

__all__ = [
    "INDEX_ALL",
    "INDEX_FILES_FIELD",
    "INDEX_WORD_PREFIX",
    "index_status_keys",
    "index_terms_key",
    "index_type_key",
    "search_scratch_key",
]


# The search indexes (see jobs.core.index): every indexed job, and each status's, type's and
# word's jobs, all sorted sets scored by submit time; each job's record of the sets it is in.
INDEX_ALL = PREFIX + "index:all"
# What comes before a word in the name of that word's set (words are [a-z0-9]+, safe as they are).
INDEX_WORD_PREFIX = PREFIX + "index:word:"
# The names of a job's uploaded files, kept in RQ's job hash so that they expire with it.
INDEX_FILES_FIELD = "spool_files"


@lru_cache(maxsize=256)  # every submit and status change names them all
def index_status_keys(type_name: str | None = None) -> Mapping[str, str]:
    """Each status's set of indexed jobs, by status; with a type, those of that type only (so a
    search by both reads one set rather than intersecting two large ones)."""
    if type_name is None:
        return MappingProxyType({s: f"{PREFIX}index:status:{s}" for s in STATUSES})
    return MappingProxyType({s: f"{PREFIX}index:status-type:{s}:{escape(type_name)}" for s in STATUSES})


def index_type_key(type_name: str) -> str:
    return f"{PREFIX}index:type:{escape(type_name)}"


def index_terms_key(job_id: str) -> str:
    """The owner's, type's and words' sets one job is in, so it can leave them once it is gone."""
    return f"{PREFIX}index:terms:{job_id}"


def search_scratch_key(token: str) -> str:
    """Where one search intersects its sets; deleted by the same script that made it."""
    return f"{PREFIX}index:scratch:{token}"
