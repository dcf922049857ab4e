"""The exceptions of the built-in job types, in one flat module."""

from __future__ import annotations


class Permanent(Exception):
    """A link failure that another try would repeat (a bad certificate, say); never retried."""


class Refused(Permanent):
    """A URL that Spool will not fetch (scheme or address)."""


class Transient(Exception):
    """A link failure worth another try: a timeout, a dropped connection, a 429/502/503/504."""
