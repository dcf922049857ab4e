"""Operator pages under /ops: sign-in, every user's jobs (search, stop, bulk actions), the
periodic schedule, the audit log.

Everything here but the sign-in page needs an operator (see auth._guard_operator_pages), and
what changes anything an admin (`@auth.admin_required`); rq-dashboard at /rq covers queues,
workers and requeueing failed jobs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from rq.cron import CronScheduler, get_cron_job_ids
from werkzeug.exceptions import HTTPException

from jobs.core import catalogue, status
from jobs.core.exceptions import ParamsError
from jobs.core.keys import Meta
from webapp import audit, auth, guesses, repository, resources, snapshots
from webapp.errors import error_response
from webapp.exceptions import Conflict
from webapp.ops_api import matching, start_bulk
from webapp.search import ARGS, BadFilters, filters_from, rows

bp = Blueprint("ops", __name__, url_prefix="/ops")

PER_PAGE = 50
# What each bulk action is called on its button.
BULK_ACTIONS = {"stop": "Stop or cancel", "retry": "Retry", "delete": "Delete"}


@bp.app_context_processor
def operator_flag():
    try:
        return {"is_operator": auth.is_operator(), "is_admin": auth.is_admin()}
    except HTTPException:  # a bad bearer token, while its 401 page is drawn
        return {"is_operator": False, "is_admin": False}


@bp.after_request
def not_cached(response):
    # Operator pages show everyone's jobs: no copies in shared caches (framing is refused app-wide).
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a sign-in link must not bounce operators elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("ops.jobs")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in as an operator with OPERATOR_PASSWORD (admin) or OBSERVER_PASSWORD (observer)."""
    enabled = any(current_app.config[name] for name in auth.PASSWORDS.values())
    if request.method == "POST":
        role = guesses.check(request.form.get("password", ""), "sign-in")
        if role:
            auth.sign_in_operator(role)
            audit.record("sign-in", who=auth.Operator(role, role, "password"))
            return redirect(_safe_next(request.form.get("next")), code=303)
        audit.record("sign-in-failed", who=None)
        return render_template("ops/login.html", enabled=enabled, failed=True, next=request.form.get("next")), 401
    return render_template("ops/login.html", enabled=enabled, failed=False, next=request.args.get("next"))


@bp.post("/logout")
def logout():
    """Sign out of the operator pages."""
    audit.record("sign-out")
    auth.sign_out_operator()
    return redirect(url_for("pages.index"), code=303)


@bp.get("/")
def home():
    """Go to the jobs search."""
    return redirect(url_for("ops.jobs"))


def _search():
    """The jobs the query asks for (one id, or a search), how many match, and the filters."""
    page = max(request.args.get("page", 1, type=int), 1)
    job_id = request.args.get("job_id", "").strip()
    filters = filters_from(request.args, operator=True)
    if job_id:
        job = repository.fetch(job_id)
        return ([job] if job else []), int(job is not None), filters, page
    found, total = repository.find(filters, page=page, per_page=PER_PAGE)
    return found, total, filters, page


@bp.get("/jobs")
def jobs():
    """Search every user's jobs by id, status, type, owner, submit time and words."""
    try:
        found, total, filters, page = _search()
    except BadFilters as exc:
        return error_response(400, "Some search filters cannot be used.", fields=exc.fields)
    query = {k: request.args.get(k, "").strip() for k in (*ARGS, "job_id")}
    return render_template(
        "ops/jobs.html",
        jobs=[{**row, "owner": Meta.of(j).owner} for j, row in zip(found, rows(found), strict=True)],
        total=total,
        page=page,
        per_page=PER_PAGE,
        query=query,
        searched={k: v for k, v in query.items() if v},
        statuses=status.ALL,
        job_types=sorted(catalogue.CATALOGUE),
        actions=BULK_ACTIONS,
    )


@bp.route("/bulk", methods=["GET", "POST"])
@auth.admin_required
def bulk():
    """Count the jobs a search matches and, once confirmed, stop, retry or delete them all."""
    action = request.values.get("action", "")
    if action not in BULK_ACTIONS:
        return error_response(400, "Unknown action.", fields={"action": f"must be one of {', '.join(BULK_ACTIONS)}"})
    try:
        filters = filters_from(request.values, operator=True)
    except BadFilters as exc:
        return error_response(400, "Some search filters cannot be used.", fields=exc.fields)
    if request.method == "POST":
        job = start_bulk(action, filters)
        return redirect(url_for("pages.job", job_id=job.id), code=303)
    given = {k: request.args[k].strip() for k in ARGS if request.args.get(k, "").strip()}
    return render_template(
        "ops/bulk.html", action=action, label=BULK_ACTIONS[action], count=matching(filters), filters=given
    )


@bp.post("/jobs/<job_id>/stop")
@auth.admin_required
def stop(job_id: str):
    """Cancel a waiting job or stop a running one, whoever owns it."""
    job = repository.fetch(job_id) or abort(404, description="There is no such job.")
    try:
        repository.cancel(job)
    except Conflict as exc:
        abort(409, description=str(exc))
    audit.record("stop", target=job.id, queue=job.origin)
    return redirect(url_for("ops.jobs", job_id=job_id), code=303)


def _when(dt) -> str | None:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else None


def schedule_entries() -> list[dict]:
    """Each periodic entry of each running clock, with its next and last run."""
    connection = resources.redis()
    entries = []
    for scheduler in CronScheduler.all(connection=connection):
        for cron_job in scheduler.get_jobs():
            last_ids = get_cron_job_ids(cron_job.name, connection, 0, 0)
            last = repository.fetch(last_ids[0]) if last_ids else None
            entries.append(
                {
                    "name": cron_job.name,
                    "clock": scheduler.name,
                    "queue": cron_job.queue_name,
                    "every": f"every {cron_job.interval} s" if cron_job.interval else cron_job.cron,
                    "last_run": _when(cron_job.latest_enqueue_time),
                    "next_run": _when(cron_job.next_enqueue_time),
                    "last_job": snapshots.summary(last) if last else None,
                }
            )
    return entries


@bp.get("/schedule")
def schedule():
    """Show the periodic schedule with each entry's next and last run."""
    return render_template("ops/schedule.html", entries=schedule_entries())


@bp.get("/audit")
def audit_log():
    """Show what operators did, newest first, searchable by operator, role, action and time."""
    try:
        found = audit.filters(request.args)
    except ParamsError as exc:
        return error_response(400, "Some filters are not valid.", fields=exc.fields)
    entries, after = audit.search(**found)
    shown = {k: request.args.get(k, "").strip() for k in ("operator", "role", "action", "since", "until")}
    older = url_for("ops.audit_log", **{k: v for k, v in shown.items() if v}, before=after) if after else None
    return render_template(
        "ops/audit.html", entries=entries, filters=shown, actions=audit.ACTIONS, roles=audit.ROLES, older=older
    )
