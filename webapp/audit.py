"""The operators' audit log: who did what to which job or queue, when, and from where.

    audit.record("stop", target=job.id, queue=job.origin)    # by the request's operator
    audit.record_cli("token-create", target="reports")       # from the command line
    entries, after = audit.search(**audit.filters(request.args))

Entries live in one Redis stream (keys.AUDIT) whose ids are the milliseconds they were written
at, so a time range is a range of ids and XREVRANGE gives the newest first. Each write trims
what is older than AUDIT_RETENTION_DAYS (and reads never show it, however long since the last
write), and the stream never holds more than CAP entries, so a flood of failed sign-ins cannot
fill Redis. Searches by operator, role and action filter a bounded scan of that range: a page
may come back short with a cursor to scan on from.
"""

from __future__ import annotations

import getpass
import re
import socket
import time
from datetime import UTC, datetime

from flask import current_app, has_request_context

from jobs.core import keys
from jobs.core.exceptions import ParamsError
from webapp import proxies, resources

ACTIONS = (
    "sign-in",
    "sign-in-failed",
    "sign-out",
    "stop",
    "retry",
    "requeue",
    "delete",
    "empty-queue",
    "compact-queue",
    "bulk",
    "token-create",
    "token-revoke",
)
ROLES = ("observer", "admin")
CAP = 100_000
SCAN = 5_000  # entries read at most for one page
BATCH = 500
MAX_LIMIT = 200
CURSOR = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
FIELDS = ("operator", "role", "via", "ip", "target", "queue", "detail")


def _oldest_kept_ms() -> int:
    return int((time.time() - current_app.config["AUDIT_RETENTION_DAYS"] * 86400) * 1000)


def _write(action: str, fields: dict) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = {"action": action, **{k: str(v) for k, v in fields.items() if v is not None}}
    with resources.redis().pipeline(transaction=False) as pipe:
        pipe.xadd(keys.AUDIT, entry, minid=_oldest_kept_ms(), approximate=False)
        pipe.xtrim(keys.AUDIT, maxlen=CAP, approximate=True)
        pipe.execute()


def record(action: str, *, target: str | None = None, queue: str | None = None, detail: str | None = None, who=None):
    """Write that the request's operator (or `who`, an auth.Operator) did `action`.

    Without an operator (a failed sign-in) the entry names the proxy's user, else "unknown".
    """
    from webapp import auth, identity  # both reach this module through tokens

    who = who or auth.operator()
    if who is None:
        who = auth.Operator(identity.proxy_user() or "unknown", None, "password")
    fields = {"operator": who.name, "role": who.role, "via": who.via, "ip": proxies.client_address()}
    _write(action, {**fields, "target": target, "queue": queue, "detail": detail})


def record_cli(action: str, *, target: str | None = None, detail: str | None = None) -> None:
    """Write an action taken on the command line, by the system user on this host."""
    if has_request_context():
        return record(action, target=target, detail=detail)
    fields = {"operator": f"cli:{getpass.getuser()}", "role": "admin", "via": "cli", "ip": socket.gethostname()}
    _write(action, {**fields, "target": target, "detail": detail})


def _instant_ms(name: str, text: str, errors: dict) -> int | None:
    try:
        moment = datetime.fromisoformat(text.upper())
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # Before 1970 is before any entry: a stream id cannot be negative.
        return max(int(moment.timestamp() * 1000), 0)
    except (ValueError, OverflowError):
        errors[name] = "An ISO 8601 time, like 2026-01-31T09:30:00Z."
        return None


def filters(args) -> dict:
    """The search filters of a query string, or ParamsError naming each bad one."""
    errors: dict[str, str] = {}
    found: dict = {}
    for name in ("operator", "action", "role"):
        value = args.get(name, "").strip()
        if value:
            found[name] = value
    if found.get("action", ACTIONS[0]) not in ACTIONS:
        errors["action"] = f"One of {', '.join(ACTIONS)}."
    if found.get("role", ROLES[0]) not in ROLES:
        errors["role"] = f"One of {', '.join(ROLES)}."
    for name in ("since", "until"):
        if args.get(name, "").strip():
            found[f"{name}_ms"] = _instant_ms(name, args[name].strip(), errors)
    before = args.get("before", "").strip()
    if before:
        parts = [int(part) for part in before.split("-")] if CURSOR.match(before) else [2**64]
        if all(part < 2**64 for part in parts):
            found["before"] = "-".join(map(str, parts))
        else:
            errors["before"] = "The next cursor of an earlier page."
    try:
        found["limit"] = int(args.get("limit", 50))
        if not 1 <= found["limit"] <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        errors["limit"] = f"A whole number from 1 to {MAX_LIMIT}."
    if errors:
        raise ParamsError(errors)
    return found


def _entry(entry_id: bytes, raw: dict) -> dict:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    ms = int(entry_id.split(b"-")[0])
    at = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"id": entry_id.decode(), "at": at, "action": fields.get("action")} | {
        name: fields.get(name) for name in FIELDS
    }


def search(
    *,
    operator: str | None = None,
    action: str | None = None,
    role: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    before: str | None = None,
    limit: int = 50,
) -> tuple[list[dict], str | None]:
    """Matching entries, newest first, and the cursor (`before`) of the next page, or None."""
    if before == "0-0":  # nothing comes before the first id there can be
        return [], None
    connection = resources.redis()
    low = str(max(since_ms or 0, _oldest_kept_ms(), 0))
    high = f"({before}" if before else ("+" if until_ms is None else str(until_ms))
    wanted = {"operator": operator, "action": action, "role": role}
    found: list[dict] = []
    scanned = 0
    while scanned < SCAN:
        batch = connection.xrevrange(keys.AUDIT, max=high, min=low, count=BATCH)
        for entry_id, raw in batch:
            scanned += 1
            entry = _entry(entry_id, raw)
            if all(value is None or entry[name] == value for name, value in wanted.items()):
                found.append(entry)
                if len(found) == limit:
                    return found, entry["id"]
        if len(batch) < BATCH:
            return found, None
        high = f"({batch[-1][0].decode()}"
    return found, high[1:]
