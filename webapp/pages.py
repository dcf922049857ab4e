"""The HTML pages: catalogue, forms, the live job page and the user's job list."""

from __future__ import annotations

import time
from dataclasses import replace

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from jobs.core import catalogue, files, status
from jobs.core.exceptions import ParamsError
from jobs.core.keys import Meta
from webapp import confirmations, present, repository, resources, search, snapshots, submission
from webapp.auth import is_admin
from webapp.errors import error_response, retry_later
from webapp.exceptions import Conflict, OverQuota, Unavailable
from webapp.identity import anonymous_owner, current_owner, identity, owner_id

bp = Blueprint("pages", __name__)
PER_PAGE = 20
RECENT = 3  # latest jobs shown above the catalogue


@bp.app_context_processor
def _presenters() -> dict:
    return {
        "status_label": status.label,
        "status_vocabulary": {
            "labels": status.LABELS,
            "active": [s for s in status.ALL if s in status.ACTIVE],
            "terminal": [s for s in status.ALL if s in status.TERMINAL],
        },
        "when": present.when,
        "duration": present.duration,
        "result_view": present.result_view,
        "value_text": present.value_text,
        "active": status.ACTIVE,
        "terminal": status.TERMINAL,
    }


@bp.app_context_processor
def _submission_limits() -> dict:
    return {"email_enabled": submission.email_enabled(), "max_upload_mb": resources.settings().max_upload_mb}


def _job_type(name: str) -> catalogue.JobType:
    public = catalogue.public()
    if name not in public:
        abort(404, description=f"There is no job type called {name!r}.")
    return public[name]


def form_values(job_type: catalogue.JobType, form) -> dict:
    """Turn submitted form strings into the shapes the signature expects."""
    values: dict = {}
    for name, prop in job_type.schema["properties"].items():
        if prop.get("type") == "boolean":
            values[name] = name in form
        elif name not in form:
            continue
        elif prop.get("type") == "array":
            values[name] = [line.strip() for line in form[name].splitlines() if line.strip()]
        elif form[name] != "" or prop.get("type") == "string":
            values[name] = form[name]
    return values


def _earlier_uploads(job_type: catalogue.JobType, job_id: str | None) -> dict[str, dict]:
    """The files an earlier job of the user's was given, by parameter: its stored upload and name
    (None once expired), for a form that offers to use them again."""
    if not job_id or not job_type.uploads:
        return {}
    kwargs = repository.get(job_id, owner_id()).kwargs
    refs = {name: kwargs.get(name) for name in job_type.uploads}
    return {n: {"ref": ref, "name": files.upload_name(resources.redis(), ref)} for n, ref in refs.items()}


@bp.get("/")
def index():
    """Show the catalogue of job types, and the user's latest jobs."""
    owner = current_owner()
    recent = [snapshots.summary(j) for j in repository.list_for(owner, per_page=RECENT)[0]] if owner else []
    return render_template("index.html", job_types=catalogue.public().values(), recent=recent)


@bp.route("/jobs/new/<type_name>", methods=["GET", "POST"])
def new(type_name: str):
    """Show a job type's form, and submit it."""
    job_type = _job_type(type_name)
    if request.method == "GET":
        values = {}
        if request.args.get("from"):  # "change values and run": start from an earlier job's values
            values = repository.get(request.args["from"], owner_id()).kwargs
        earlier = _earlier_uploads(job_type, request.args.get("from"))
        return render_template(
            "form.html",
            job_type=job_type,
            values=values,
            errors={},
            earlier=earlier,
            earlier_job=request.args.get("from"),
        )
    values = form_values(job_type, request.form)
    earlier_job = request.form.get("reuse_from") or None
    earlier = _earlier_uploads(job_type, earlier_job)
    again = {n: e["ref"] if e["name"] else None for n, e in earlier.items() if request.form.get(f"reuse_{n}")}
    try:
        start_at = submission.clean_start(request.form.get("run_at"), request.form.get("run_in"))
        clean, email = submission.clean(job_type, values, request.files, request.form.get("notify_email"), again)
    except ParamsError as exc:
        page = render_template(
            "form.html",
            job_type=job_type,
            values=request.form,
            errors=exc.fields,
            earlier=earlier,
            earlier_job=earlier_job,
        )
        return page, 422
    except Unavailable as exc:
        abort(503, description=str(exc))
    if email and not (answer := confirmations.check(owner_id(), email))["confirmed"]:
        flash(answer["message"])
    try:
        job = repository.submit(job_type, clean, owner=owner_id(), notify_email=email, start_at=start_at)
    except OverQuota as exc:
        page = render_template(
            "form.html",
            job_type=job_type,
            values=request.form,
            errors={},
            refused=str(exc),
            earlier=earlier,
            earlier_job=earlier_job,
        )
        return retry_later((page, 429), exc)
    return redirect(url_for("pages.job", job_id=job.id), code=303)


@bp.get("/jobs")
def jobs():
    """List the user's jobs, newest first, filtered by status, type, submit time and words."""
    page = max(request.args.get("page", 1, type=int), 1)
    try:
        filters = search.filters_from(request.args, operator=False)
    except search.BadFilters as exc:
        return error_response(400, "Some search filters cannot be used.", fields=exc.fields)
    items, total = repository.find(replace(filters, owner=owner_id()), page=page, per_page=PER_PAGE)
    return render_template(
        "jobs.html",
        jobs=search.rows(items),
        page=page,
        total=total,
        per_page=PER_PAGE,
        query={k: request.args.get(k, "").strip() for k in search.ARGS if k != "owner"},
        searched={k: request.args[k].strip() for k in search.ARGS if k != "owner" and request.args.get(k, "").strip()},
        status=filters.status or None,
        type_name=filters.type or None,
        statuses=status.LABELS,
        job_types=catalogue.public().values(),
    )


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """Show a job live: progress, log, then its result or error."""
    job = repository.get(job_id, owner_id())
    snapshot = snapshots.snapshot(job)
    job_type = catalogue.public().get(snapshot["type"] or "")
    # An observer looking at someone else's job is shown no button it would be refused.
    may_change = Meta.of(job).owner == current_owner() or is_admin()
    params = snapshot["params"] or {}
    uploads = repository.upload_names(job_type, params) if job_type else {}
    expired = repository.expired_uploads(job_type, params, uploads) if job_type else []
    return render_template(
        "job.html",
        job=snapshot,
        job_type=job_type,
        uploads=uploads,
        expired=expired,
        now=time.time(),
        may_change=may_change,
    )


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str):
    """Cancel a waiting job or stop a running one."""
    try:
        repository.cancel(repository.get_to_change(job_id, owner_id(), "stop"))
    except Conflict:
        pass  # it ended meanwhile; the page shows how
    return redirect(url_for("pages.job", job_id=job_id), code=303)


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str):
    """Run a job again with the same values."""
    try:
        job = repository.resubmit(repository.get_to_change(job_id, owner_id(), "retry"), owner=owner_id())
    except Conflict as exc:
        abort(409, description=str(exc))
    return redirect(url_for("pages.job", job_id=job.id), code=303)


@bp.post("/keep-jobs")
def keep_jobs():
    """Keep the jobs this browser made before its user was known, as that user's."""
    who, anonymous = identity(), anonymous_owner()
    if who.name is None or anonymous is None or who.owner == anonymous:
        abort(409, description="There are no jobs of this browser's to keep: sign in first.")
    _, running = repository.give(anonymous, who.owner)
    if not running:  # a running job stays until it ends; the offer stays with it
        session.pop("owner")
    return redirect(url_for("pages.jobs"), code=303)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """Confirm an address for job emails: a page with a button, so a mail scanner's visit does not."""
    if request.method == "GET":
        _, address = confirmations.read(token)
        return render_template("confirm.html", address=address, confirmed=False)
    return render_template("confirm.html", address=confirmations.confirm(token), confirmed=True)
