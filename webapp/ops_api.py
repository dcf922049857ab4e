"""The operators' JSON API under /api/ops: every user's jobs searched, and bulk actions.

    GET  /api/ops/jobs?status=failed&q=timeout&page=1&per_page=20
    POST /api/ops/bulk {"action": "stop", "filters": {"status": "queued"}, "dry_run": true}

A signed-in operator, or a program with HTTP Basic and the operator password (as for /metrics).
A bulk action runs as a Spool job of its own (jobs.core.bulk), owned by the operator who asked.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, request

from jobs.core import bulk as bulk_actions
from jobs.core import catalogue, search
from webapp import auth, guesses, repository, resources
from webapp.api import _accepted, _page_args
from webapp.errors import error_response
from webapp.identity import owner_id
from webapp.search import BadFilters, filters_from, rows

bp = Blueprint("ops_api", __name__, url_prefix="/api/ops")
auth.csrf.exempt(bp)
bp.before_request(auth.protect_api_call)
ACTIONS = tuple(bulk_actions.ACTIONS)


def is_operator_call() -> bool:
    """A signed-in operator, or HTTP Basic with the operator password."""
    if auth.is_operator():
        return True
    credentials = request.authorization
    return bool(credentials and credentials.password and guesses.check(credentials.password, "api"))


def operators_only(view):
    """Refuse the call (403) unless an operator makes it: the one check each route here passes."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not is_operator_call():
            abort(403, description="Operators only: sign in, or use HTTP Basic with the operator password.")
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
    return repository.submit(job_type, values, owner=owner_id())


def matching(filters: search.Filters) -> int:
    return search.find(resources.redis(), filters, count=0).total


@bp.post("/bulk")
@operators_only
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
