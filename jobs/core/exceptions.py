"""Every exception the framework raises, in one flat module (as RQ keeps its own)."""

from __future__ import annotations


class NotInCatalogue(PermissionError):
    """A job names a function (or callback) that is not in the catalogue; it is refused unrun."""


class ParamsError(ValueError):
    """Parameters that do not fit the signature; `fields` maps each name to what is wrong."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class FileTooLarge(ValueError):
    """A file over the configured `max_upload_mb`."""


class UnsafeUrl(ValueError):
    """A URL Spool will not send a request to: its scheme, or an address that is not public."""


class WaitingForParts(Exception):  # noqa: N818 (a signal to the worker, not an error)
    """Raised by `fan_out` in a job's first run, once its parts are enqueued: the job now waits."""


class PartFailed(Exception):
    """A part of a fanned-out job failed for good, so the job cannot be merged."""
