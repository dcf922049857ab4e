"""Every exception the web app raises for its views to answer, in one flat module."""

from __future__ import annotations


class Conflict(Exception):
    """The job is in a state that does not allow the request (already over, say): a 409."""


class Unavailable(Exception):
    """The job type cannot run here (its libraries are missing); the message says why: a 503."""


class OverQuota(Exception):
    """The caller is over one of the admission limits: a 429, retried after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(int(retry_after), 1)


class NotCopied(Exception):
    """Redis could not copy a submit to the replicas SUBMIT_REPLICAS asks for in time: a 503.
    The job was withdrawn, so nothing of it is left to run or to be lost."""
