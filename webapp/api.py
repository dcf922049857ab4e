"""The JSON API under /api: dicts in, dicts out, errors as {"error": {...}}."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import replace

from flask import Blueprint, Response, abort, current_app, request, url_for

from jobs.core import catalogue, files, status, webhooks
from jobs.core.exceptions import ParamsError, UnsafeUrl
from webapp import audit, confirmations, idempotency, repository, resources, search, snapshots, submission
from webapp.auth import csrf, is_operator, protect_api_call
from webapp.errors import error_response
from webapp.exceptions import Conflict, Unavailable
from webapp.identity import owner_id
from webapp.openapi import openapi_spec

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)
SUBMIT_TYPES = ("application/json", "multipart/form-data")
# Stands for the job id in a job's URLs as they are built once (see _job_url).
JOB_ID_MARK = "JOB-ID-MARK"
UNSUPPORTED = "Send JSON (Content-Type: application/json) or multipart/form-data."


@bp.before_request
def refuse_unsupported_submit() -> None:
    """Answer a submit of a type it never reads with 415, before CSRF: it would change nothing."""
    if request.endpoint == "api.submit" and request.mimetype not in SUBMIT_TYPES:
        abort(415, description=UNSUPPORTED)


bp.before_request(protect_api_call)


def _job_type(name) -> catalogue.JobType:
    public = catalogue.public()
    if not isinstance(name, str) or name not in public:
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        abort(404, description=f"There is no job type {shown}; GET /api/job-types lists them.")
    return public[name]


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large for a number")
    return number


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _json(raw: bytes | str, what: str = "The body"):
    """Parse JSON strictly (no NaN or Infinity, however deeply nested), or abort 400."""
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        abort(400, description=f"{what} is not valid JSON: {reason}.")


def _submission() -> tuple[dict, dict]:
    """The request's {type, params, notify_email?} from JSON or multipart, or abort 400/415."""
    if request.mimetype == "application/json":
        raw = request.get_data()
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        # A chunked body has no length to refuse up front: it arrives cut at the limit.
        if request.content_length is None and limit and len(raw) >= limit:
            abort(413)
        body = _json(raw)
        if not isinstance(body, dict):
            abort(400, description='The body must be a JSON object like {"type": ..., "params": {...}}.')
        return body, {}
    if request.mimetype == "multipart/form-data":
        if not request.form.get("type"):
            abort(
                400,
                description="The multipart body has no 'type' field: send the job type's name in a field "
                "called type (GET /api/job-types lists them).",
            )
        params = _json(request.form.get("params", "{}"), "The 'params' field")
        body = {"type": request.form.get("type"), "params": params}
        for optional in ("notify_email", "run_at", "run_in", "webhook_url"):
            if request.form.get(optional):
                body[optional] = request.form[optional]
        return body, dict(request.files)
    abort(415, description=UNSUPPORTED)


def _page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 20))
    except ValueError:
        abort(400, description="page and per_page must be whole numbers.")
    if not 1 <= page <= repository.LAST_PAGE or not 1 <= per_page <= repository.MAX_PER_PAGE:
        abort(
            400,
            description=f"page must be between 1 and {repository.LAST_PAGE} and per_page between 1 and {repository.MAX_PER_PAGE}.",
        )
    return page, per_page


def _job_url(endpoint: str, job_id: str) -> str:
    """`url_for(endpoint, job_id=job_id)`, from that URL built once per app and script root: a
    job id's characters (letters, digits, '-' and '_') are never quoted in a URL."""
    if not repository.JOB_ID.match(job_id):
        return url_for(endpoint, job_id=job_id)
    urls = current_app.extensions["spool"].setdefault("job_urls", {})
    template = urls.get((endpoint, request.script_root))
    if template is None:
        template = urls[endpoint, request.script_root] = url_for(endpoint, job_id=JOB_ID_MARK)
    return template.replace(JOB_ID_MARK, job_id)


def _accepted(job, state: str | None = None, job_id: str | None = None):
    job_id = job_id or job.id
    own_url = _job_url("api.job", job_id)  # built once: the body and Location share it
    return (
        {
            "id": job_id,
            "status": state or status.of(job, refresh=False),
            "urls": {
                "self": own_url,
                "page": _job_url("pages.job", job_id),
                "ws": f"/ws/jobs/{job_id}",
            },
        },
        202,
        {"Location": own_url},
    )


def _replayed(prior: tuple[str, str], request_digest: str):
    """Answer a submit that repeats an Idempotency-Key: its job again, or 409 for another body."""
    found_digest, job_id = prior
    if found_digest != request_digest:
        return error_response(
            409, f"This {idempotency.HEADER} was sent before with a different request; use a new key for a new job."
        )
    job = repository.fetch(job_id)
    # No job yet: the request that claimed the key is enqueueing it this very moment.
    body, status, headers = _accepted(job, "queued" if job is None else None, job_id=job_id)
    return body, status, {**headers, "Idempotent-Replayed": "true"}


def _webhook_url(given) -> str | None:
    """The submit's webhook_url once checked (see jobs.core.webhooks); raise UnsafeUrl."""
    if given is None or given == "":
        return None
    return webhooks.check(
        given,
        secret=resources.settings().webhook_secret,
        production=current_app.config["PRODUCTION"],
        allow_private=resources.settings().allow_private_urls,
    )


@bp.get("/job-types")
def job_types():
    """List the job types with their parameters as JSON Schema."""
    return [jt.describe() for jt in catalogue.public().values()]


@bp.post("/jobs")
def submit():
    """Submit a job."""
    body, files = _submission()
    unknown = set(body) - {"type", "params", "notify_email", "run_at", "run_in", "webhook_url"}
    if unknown:
        abort(
            400,
            description=f"Unknown field(s) {', '.join(sorted(unknown))}: "
            "send type, params, notify_email, run_at, run_in or webhook_url.",
        )
    try:
        webhook_url = _webhook_url(body.get("webhook_url"))
    except UnsafeUrl as exc:
        return error_response(400, f"The webhook_url cannot be used: {exc}.", fields={"webhook_url": str(exc)})
    key = idempotency.key_of_request()
    if key is not None:
        request_digest = idempotency.digest(body, files)
        if (prior := idempotency.find(owner_id(), key)) is not None:
            return _replayed(prior, request_digest)
    job_type = _job_type(body.get("type"))
    try:
        start_at = submission.clean_start(body.get("run_at"), body.get("run_in"))
        values, email = submission.clean(job_type, body.get("params", {}), files, body.get("notify_email"))
    except ParamsError as exc:
        return error_response(422, "Some parameters are not valid.", fields=exc.fields)
    except Unavailable as exc:
        return error_response(503, str(exc), code="job_type_unavailable")
    # Before the job exists: a trusted identity's own address must be remembered before it can end.
    answer = confirmations.check(owner_id(), email) if email else None
    job_id = None
    if key is not None:
        job_id = uuid.uuid4().hex
        if (prior := idempotency.claim(owner_id(), key, request_digest, job_id)) is not None:
            return _replayed(prior, request_digest)
    try:
        job = repository.submit(
            job_type,
            values,
            owner=owner_id(),
            notify_email=email,
            start_at=start_at,
            job_id=job_id,
            claim=None if key is None else idempotency.claim_key(owner_id(), key),
            webhook_url=webhook_url,
        )
    except Exception:
        if key is not None:
            idempotency.release(owner_id(), key)
        raise
    body, status_code, headers = _accepted(job)
    if answer is not None:
        body["notify"] = answer
    return body, status_code, headers


@bp.get("/jobs")
def jobs():
    """List the caller's jobs, newest first, filtered by status, type, submit time and words."""
    page, per_page = _page_args()
    try:
        filters = search.filters_from(request.args, operator=False)
    except search.BadFilters as exc:
        return error_response(400, "Some search filters cannot be used.", fields=exc.fields)
    items, total = repository.find(replace(filters, owner=owner_id()), page=page, per_page=per_page)
    return {"jobs": search.rows(items), "page": page, "per_page": per_page, "total": total}


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """Show a job's status, progress, result or error."""
    return snapshots.snapshot(repository.get(job_id, owner_id()))


@bp.delete("/jobs/<job_id>")
def cancel(job_id: str):
    """Cancel a waiting job or stop a running one."""
    job = repository.get_to_change(job_id, owner_id(), "stop")
    try:
        heading_to = repository.cancel(job)
    except Conflict as exc:
        return error_response(409, str(exc))
    return _accepted(job, heading_to)


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str):
    """Run a job again with the same parameters, as a new job."""
    try:
        job = repository.resubmit(repository.get_to_change(job_id, owner_id(), "retry"), owner=owner_id())
    except Conflict as exc:
        return error_response(409, str(exc))
    return _accepted(job)


@bp.get("/jobs/<job_id>/files/<name>")
def job_file(job_id: str, name: str):
    """Download a file that a job attached to its result."""
    job = repository.get(job_id, owner_id())
    found = files.read(resources.redis(), job.id, name)
    if found is None:
        abort(404, description=f"This job has no file called {name!r}.")
    data, content_type = found
    # Only a chart is shown in the browser; anything else is saved, so a file cannot run as a page.
    disposition = "inline" if content_type == "image/png" else "attachment"
    response = Response(data, content_type=content_type or "application/octet-stream")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/ops/audit")
def audit_log():
    """List operators' actions, newest first, by operator, role, action and time."""
    if not is_operator():
        abort(403, description="Only operators may read the audit log: sign in, or use an operator token.")
    try:
        found = audit.filters(request.args)
    except ParamsError as exc:
        return error_response(400, "Some filters are not valid.", fields=exc.fields)
    entries, after = audit.search(**found)
    return {"entries": entries, "next": after}


@bp.get("/openapi.json")
def openapi():
    """Describe this API, job parameters included, as OpenAPI 3."""
    return openapi_spec()
