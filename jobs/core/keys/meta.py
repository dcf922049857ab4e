"""The job-meta schema: the fields Spool keeps in RQ's job meta, and the progress dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from rq.job import Job

WAITING_FOR = "waiting_for"


class Progress(TypedDict):
    """What `progress()` stores in the meta and sends in a progress event."""

    done: float
    total: float | None
    percent: float | None
    message: str | None
    eta_s: float | None
    elapsed_s: float
    updated_at: float


@dataclass(frozen=True)
class Meta:
    """The fields Spool keeps in RQ's job meta. Written at enqueue, except `progress` (and `owner`
    when an anonymous owner's jobs are kept by the user they signed in as)."""

    type: str | None = None
    owner: str | None = None
    request_id: str | None = None
    notify_email: str | None = None
    # Where the job's final snapshot is POSTed when it ends (jobs.core.webhooks).
    webhook_url: str | None = None
    # The W3C trace context of the span that enqueued the job, when tracing is on (jobs.core.tracing).
    traceparent: str | None = None
    progress: Progress | None = None
    # What a job parked by a concurrency limit waits for, in words (see jobs.core.limits).
    waiting_for: str | None = None
    # A part of a fanned-out job: its parent's id and its index among the parts; and on the
    # parent, once it has fanned out, {"parts": how many, "partial": merge what succeeded}
    # (see jobs.core.fanout).
    parent: str | None = None
    part: int | None = None
    fan_out: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    FIELDS = (
        "type",
        "owner",
        "request_id",
        "notify_email",
        "webhook_url",
        "traceparent",
        "progress",
        "waiting_for",
        "parent",
        "part",
        "fan_out",
    )

    @classmethod
    def of(cls, job: Job) -> Meta:
        meta = job.meta if isinstance(job.meta, dict) else {}
        return cls(
            **{name: meta.get(name) for name in cls.FIELDS},
            extra={k: v for k, v in meta.items() if k not in cls.FIELDS},
        )

    @staticmethod
    def set_owner(job: Job, owner: str) -> None:
        """Give a job to another owner (its meta's one field that may change after enqueue)."""
        job.meta["owner"] = owner
        job.save_meta()

    def as_dict(self) -> dict[str, Any]:
        """The meta to enqueue with: fields left None are not stored."""
        return {**self.extra, **{n: getattr(self, n) for n in self.FIELDS if getattr(self, n) is not None}}
