"""The operators' JSON API under /api/ops: every user's jobs searched, and bulk actions.

    GET  /api/ops/jobs?status=failed&q=timeout&page=1&per_page=20
    POST /api/ops/bulk {"action": "stop", "filters": {"status": "queued"}, "dry_run": true}

Any operator searches; only admins run bulk actions (signed in, an operator token, a trusted
proxy user, or HTTP Basic with a role's password, as for /metrics).
A bulk action runs as a Spool job of its own (jobs.core.bulk), owned by the operator who asked.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, request

from jobs.core import bulk as bulk_actions
from jobs.core import catalogue, search
from webapp import audit, auth, guesses, repository, resources
from webapp.api import _accepted, _page_args
from webapp.errors import error_response
from webapp.identity import owner_id
from webapp.search import BadFilters, filters_from, rows

bp = Blueprint("ops_api", __name__, url_prefix="/api/ops")
auth.csrf.exempt(bp)
bp.before_request(auth.protect_api_call)
ACTIONS = tuple(bulk_actions.ACTIONS)


def caller() -> auth.Operator | None:
    """The operator making this call: signed in, an operator token, a trusted proxy user, or
    HTTP Basic with a role's password (as for /metrics); worked out once a request."""
    if "ops_caller" not in g:
        found = auth.operator()
        credentials = request.authorization
        if found is None and credentials and credentials.password:
            role = guesses.check(credentials.password, "api")
            found = auth.Operator(role, role, "password") if role else None
        g.ops_caller = found
    return g.ops_caller


def operators_only(view):
    """Refuse the call (403) unless an operator of either role makes it."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if caller() is None:
            abort(403, description="Operators only: sign in, use an operator token, or HTTP Basic with a password.")
        return view(*args, **kwargs)

    return guarded


def admins_only(view):
    """Refuse the call (403) unless an admin makes it: it changes jobs."""

    @operators_only
    @wraps(view)
    def guarded(*args, **kwargs):
        if caller().role != auth.ADMIN:
            abort(403, description=auth.OBSERVERS_REFUSED)
        return view(*args, **kwargs)

    return guarded


def bad_filters(exc: BadFilters):
    return error_response(400, "Some search filters cannot be used.", fields=exc.fields)


@bp.get("/jobs")
@operators_only
def jobs():
    """Search every user's jobs, newest first."""
    page, per_page = _page_args()
    try:
        filters = filters_from(request.args, operator=True)
    except BadFilters as exc:
        return bad_filters(exc)
    found, total = repository.find(filters, page=page, per_page=per_page)
    return {"jobs": rows(found), "page": page, "per_page": per_page, "total": total, "filters": filters.as_dict()}


def start_bulk(action: str, filters: search.Filters):
    """Enqueue the bulk action as a job owned by the operator asking."""
    job_type = catalogue.CATALOGUE["bulk_action"]
    values = job_type.validate(
        {
            "action": action,
            "state": filters.status,
            "type_name": filters.type,
            "owner": filters.owner,
            "since": filters.since or 0,
            "until": filters.until or 0,
            "q": filters.q,
        }
    )
    job = repository.submit(job_type, values, owner=owner_id())
    given = " ".join(f"{k}={v}" for k, v in filters.as_dict().items() if v)
    audit.record("bulk", target=job.id, detail=f"{action} {given or 'every job'}", who=caller() or auth.operator())
    return job


def matching(filters: search.Filters) -> int:
    return search.find(resources.redis(), filters, count=0).total


@bp.post("/bulk")
@admins_only
def bulk():
    """Stop, retry or delete every job matching a search, as a job of its own (202), or count them."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "Send a JSON object.", fields={"body": "must be a JSON object"})
    action, raw = body.get("action"), body.get("filters", {})
    if action not in ACTIONS:
        return error_response(400, "Unknown action.", fields={"action": f"must be one of {', '.join(ACTIONS)}"})
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        return error_response(400, "Bad filters.", fields={"filters": "must be an object of strings"})
    try:
        filters = filters_from(raw, operator=True)
    except BadFilters as exc:
        return bad_filters(exc)
    count = matching(filters)
    if body.get("dry_run"):
        return {"action": action, "matching": count, "filters": filters.as_dict()}
    answer, code, headers = _accepted(start_bulk(action, filters))
    return {**answer, "action": action, "matching": count}, code, headers
