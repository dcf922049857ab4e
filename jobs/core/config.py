"""Spool's one configuration source, read once from the environment by web and workers alike.

    from jobs.core.config import settings
    settings.result_ttl

Each has a safe default for a laptop; production values come from the environment. The web
app derives its Flask config from these (see webapp.config), so the two never disagree; a
test or an embedding app that overrides one (`create_app({"SMTP_URL": ...})`) gets a copy
with that value changed, used by every part of that app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

DEV_REDIS_URL = "redis://127.0.0.1:6379/0"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    redis_url: str = DEV_REDIS_URL
    # The CA that signed the Redis servers' (and sentinels') certificates, for rediss:// URLs
    # when it is not among the system's; and the sentinels' own password, when they have one.
    redis_ca_file: str = ""
    sentinel_password: str = ""
    # A worker serves these unless given queue names; "ml" makes it preload the model first.
    queues: tuple[str, ...] = ("default", "ml")
    result_ttl: int = 7 * 24 * 3600
    max_upload_mb: int = 20
    smtp_url: str = ""
    # Signs the webhooks sent when jobs end (jobs.core.webhooks); without it none are taken.
    webhook_secret: str = ""
    mail_from: str = "spool@localhost"
    base_url: str = "http://localhost:5000"
    allow_private_urls: bool = False
    # The most URLs one link check may be given.
    max_links: int = 500
    # A text job of more documents than this encodes them in parts of half as many (or about
    # four a worker), spread over the workers, when more than one serves "ml" (0: never).
    # Spreading costs about a second (`python -m bench spread`); 1,024 documents take a worker
    # a few seconds.
    text_fan_out_over: int = 2048
    # How many job emails one owner, and one recipient, may be sent an hour (0: no limit).
    mail_per_hour: int = 5
    # How many of one owner's jobs run at once over all workers (0: no limit); the rest wait.
    max_running_per_owner: int = 2
    # How often progress may reach Redis per job.
    progress_interval: float = 0.1
    # How fast a dead worker's job is noticed: a running job's heartbeat is renewed every
    # `job_monitoring_interval` seconds and lapses `heartbeat_grace` seconds after a missed one;
    # every worker, busy or idle, looks for lapsed jobs every `maintenance_interval` seconds, and an
    # idle one wakes at least every `worker_ttl - 15` seconds (RQ's rule) to do so. The defaults
    # notice a SIGKILLed worker's job within about 25 seconds.
    worker_ttl: int = 20
    job_monitoring_interval: int = 5
    heartbeat_grace: int = 10
    maintenance_interval: int = 5
    # On SIGTERM a worker lets its current job run this long, then interrupts it and exits.
    shutdown_grace: int = 20

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            redis_url=os.environ.get("REDIS_URL") or DEV_REDIS_URL,
            redis_ca_file=os.environ.get("REDIS_CA_FILE", ""),
            sentinel_password=os.environ.get("SENTINEL_PASSWORD", ""),
            queues=tuple(q.strip() for q in os.environ.get("QUEUES", ",".join(cls.queues)).split(",") if q.strip()),
            result_ttl=_int("RESULT_TTL", cls.result_ttl),
            max_upload_mb=_int("MAX_UPLOAD_MB", cls.max_upload_mb),
            smtp_url=os.environ.get("SMTP_URL", ""),
            webhook_secret=os.environ.get("WEBHOOK_SECRET", ""),
            mail_from=os.environ.get("MAIL_FROM", cls.mail_from),
            base_url=os.environ.get("BASE_URL", cls.base_url).rstrip("/"),
            allow_private_urls=_flag("SPOOL_ALLOW_PRIVATE_URLS"),
            max_links=_int("MAX_LINKS", cls.max_links),
            text_fan_out_over=_int("TEXT_FAN_OUT_OVER", cls.text_fan_out_over),
            max_running_per_owner=_int("MAX_RUNNING_PER_OWNER", cls.max_running_per_owner),
            mail_per_hour=_int("MAIL_PER_HOUR", cls.mail_per_hour),
            worker_ttl=_int("WORKER_TTL", cls.worker_ttl),
            job_monitoring_interval=_int("JOB_MONITORING_INTERVAL", cls.job_monitoring_interval),
            heartbeat_grace=_int("HEARTBEAT_GRACE", cls.heartbeat_grace),
            maintenance_interval=_int("MAINTENANCE_INTERVAL", cls.maintenance_interval),
            shutdown_grace=_int("WORKER_SHUTDOWN_GRACE", cls.shutdown_grace),
        )

    def overridden(self, config: dict) -> Settings:
        """A copy with each field whose upper-case name is a key of `config` set to its value."""
        given = {f.name: config[f.name.upper()] for f in fields(self) if f.name.upper() in config}
        return replace(self, **given) if given else self


settings = Settings.from_env()
