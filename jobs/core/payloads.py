"""Reading a job's `meta` and `data` that RQ's pickle serializer rewrote, without running code.

    payloads.loads(raw)       # JSON, else plain values from a pickle; UnsafePayload otherwise
    payloads.meta(raw)        # a job's meta, out of RQ's `unserialized` wrappers
    payloads.repaired(hash)   # the hash's damaged fields re-encoded as JSON, or {} if none

RQ's command line used without Spool's job class (`rq requeue` without `.env`, see README)
fetches a job with RQ's default pickle serializer: JSON meta fails to load, so RQ keeps it
as `{"unserialized": <the JSON bytes>}` and saves that back pickled (data it touched is
pickled too). Spool's owner lived in that meta. Such a pickle is read here by an unpickler
that refuses every global, so only dicts, lists, tuples, strings, bytes, numbers, booleans and
None load: a payload naming a function or class (`os.system`) is refused, never called.
"""

from __future__ import annotations

import io
import json
import pickle
import zlib
from typing import Any

# RQ's wrapper for meta it could not load; unwrapped at most this many times.
UNSERIALIZED = "unserialized"
MAX_WRAPS = 8


class UnsafePayload(ValueError):
    """A payload that is neither JSON nor a pickle of plain values."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise UnsafePayload(f"refused to load {module}.{name} from a job payload")


def _plain_pickle(raw: bytes) -> Any:
    try:
        return _PlainUnpickler(io.BytesIO(raw)).load()
    except UnsafePayload:
        raise
    except Exception as exc:
        raise UnsafePayload("a job payload is neither JSON nor a pickle") from exc


def loads(raw: bytes) -> Any:
    """The value of a JSON payload, or of a pickle of plain values."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _plain_pickle(raw)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _json(value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except (TypeError, ValueError) as exc:
        raise UnsafePayload("a job payload holds values JSON cannot keep") from exc


def meta(raw: bytes) -> dict:
    """A job's meta, unwrapped from RQ's `unserialized` wrappers."""
    value = loads(raw)
    for _ in range(MAX_WRAPS):  # a job requeued twice without `.env` is wrapped twice
        if not (isinstance(value, dict) and set(value) == {UNSERIALIZED}):
            break
        inner = value[UNSERIALIZED]
        value = loads(inner.encode() if isinstance(inner, str) else inner)
    if not isinstance(value, dict):
        raise UnsafePayload("a job's meta is not a mapping")
    return value


def _decompressed(raw: bytes) -> bytes:
    try:
        return zlib.decompress(raw)
    except zlib.error:  # RQ reads uncompressed data too
        return raw


def repaired(fields: dict) -> dict:
    """The job hash's `meta` and `data` that are not JSON, re-encoded as JSON (RQ's layout:
    meta plain, data compressed); {} when both are JSON already.

    Raises:
        UnsafePayload: a field is neither JSON nor a pickle of plain values.
    """
    fixed = {}
    raw_meta = fields.get("meta")
    if raw_meta and not _is_json(raw_meta):
        fixed["meta"] = _json(meta(raw_meta))
    data = _decompressed(fields["data"]) if fields.get("data") else None
    if data and not _is_json(data):
        fixed["data"] = zlib.compress(_json(loads(data)))
    return fixed
