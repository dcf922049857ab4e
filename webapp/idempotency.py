"""Idempotent submissions: the same `Idempotency-Key` from the same owner gets the same job.

    key = idempotency.key_of_request()               # None when the header is absent
    prior = idempotency.find(owner, key)             # (digest, job_id) of an earlier submit, or None
    prior = idempotency.claim(owner, key, digest, job_id)   # None: the key is ours, enqueue job_id

A client that lost the answer to a POST (a timeout, a dropped connection) sends it again
with the same key and gets the job it already made, not a second one. The key is scoped
to its owner, remembered as long as jobs are, and bound to a digest of the request: the
same key with a different body is a mistake, answered 409. The claim is a SET NX, so two
racing requests with one key make one job. It is made for CLAIM_TTL seconds only and kept
as long as the job by the submit's own transaction: a claim whose job Redis refused lapses
by itself, even when releasing it fails too.
"""

from __future__ import annotations

import hashlib
import json
import re

from flask import abort, request
from redis.exceptions import RedisError

from jobs.core import keys
from webapp.resources import redis

HEADER = "Idempotency-Key"
# Visible ASCII, as HTTP header values are; long enough for a UUID or a client's own scheme.
VALID = re.compile(r"^[\x21-\x7e]{1,200}$")
# Long enough to enqueue the claimed job; repository.submit extends it with the job's TTL.
CLAIM_TTL = 60


def key_of_request() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not VALID.match(raw):
        abort(400, description=f"The {HEADER} header must be 1 to 200 visible ASCII characters (a UUID, say).")
    return raw


def digest(body: dict, files: dict) -> str:
    """A fingerprint of what was asked for: the JSON fields and every uploaded file's bytes."""
    sha = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(files):
        upload = files[name]
        sha.update(f"\0{name}\0{upload.filename}\0".encode())
        for chunk in iter(lambda upload=upload: upload.stream.read(1 << 16), b""):
            sha.update(chunk)
        upload.stream.seek(0)
    return sha.hexdigest()


def _parse(raw: bytes | None) -> tuple[str, str] | None:
    if raw is None:
        return None
    found_digest, _, job_id = raw.decode().partition(" ")
    return found_digest, job_id


def claim_key(owner: str, key: str) -> str:
    return keys.idempotency_key(owner, key)


def find(owner: str, key: str) -> tuple[str, str] | None:
    return _parse(redis().get(keys.idempotency_key(owner, key)))


def claim(owner: str, key: str, request_digest: str, job_id: str) -> tuple[str, str] | None:
    """Bind the key to `job_id`; if another request bound it first, return what it bound."""
    redis_key = keys.idempotency_key(owner, key)
    if redis().set(redis_key, f"{request_digest} {job_id}", nx=True, ex=CLAIM_TTL):
        return None
    return find(owner, key)


def release(owner: str, key: str) -> None:
    """Forget a claim whose job could not be enqueued, so that the client may try again.

    Best effort: when Redis refuses this as well, the claim lapses after CLAIM_TTL.
    """
    try:
        redis().delete(keys.idempotency_key(owner, key))
    except RedisError:
        pass
