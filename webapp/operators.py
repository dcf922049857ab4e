"""Operator pages under /ops: sign-in, every user's jobs (search, stop), the periodic schedule,
the audit log.

Everything here but the sign-in page needs an operator (see auth._guard_operator_pages), and
what changes anything an admin (`@auth.admin_required`); rq-dashboard at /rq covers queues,
workers and requeueing failed jobs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from rq import Queue
from rq.cron import CronScheduler, get_cron_job_ids
from rq.serializers import JSONSerializer
from werkzeug.exceptions import HTTPException

from jobs.core import status
from jobs.core.exceptions import ParamsError
from jobs.core.job import SpoolJob
from jobs.core.keys import Meta
from webapp import audit, auth, guesses, repository, resources, snapshots
from webapp.errors import error_response
from webapp.exceptions import Conflict

bp = Blueprint("ops", __name__, url_prefix="/ops")

# How many of the newest ids are read from each registry when searching.
SCAN = 500
SHOWN = 200


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


def _candidate_ids(state: str | None) -> list[str]:
    """Ids of the jobs RQ still knows, from every queue's registries (or those of one status)."""
    connection = resources.redis()
    ids: list[str] = []
    for name in sorted({q.name for q in Queue.all(connection=connection)}):
        q = resources.queue(name)
        registries = resources.registries(name)
        registries["stopped"] = registries["failed"]  # RQ files stopped jobs with the failed ones
        if state in (None, status.QUEUED):
            ids += q.get_job_ids(0, SCAN)
        for registry in {id(r): r for s, r in registries.items() if state in (None, s)}.values():
            ids += registry.get_job_ids(-SCAN, -1, cleanup=False)
    return list(dict.fromkeys(ids))


def search(*, job_id: str = "", type_name: str = "", owner: str = "", state: str = "") -> list[SpoolJob]:
    """Jobs matching every filter given, newest first."""
    if job_id:
        job = repository.fetch(job_id)
        found = [job] if job else []
    elif owner:
        found, _ = repository.list_for(owner, page=1, per_page=SCAN)
    else:
        ids = _candidate_ids(state or None)
        found = [j for j in SpoolJob.fetch_many(ids, connection=resources.redis(), serializer=JSONSerializer) if j]
    matches = [
        j
        for j in found
        if (not type_name or Meta.of(j).type == type_name)
        and (not owner or Meta.of(j).owner == owner)
        and (not state or status.of(j, refresh=False) == state)
    ]
    matches.sort(key=lambda j: j.created_at or 0, reverse=True)
    return matches[:SHOWN]


@bp.get("/")
def home():
    """Go to the jobs search."""
    return redirect(url_for("ops.jobs"))


@bp.get("/jobs")
def jobs():
    """Search every user's jobs by id, type, owner and status."""
    filters = {k: request.args.get(k, "").strip() for k in ("job_id", "type_name", "owner", "status")}
    if filters["status"] and filters["status"] not in status.ALL:
        abort(400, description=f"status must be one of {', '.join(status.ALL)}.")
    found = search(
        job_id=filters["job_id"], type_name=filters["type_name"], owner=filters["owner"], state=filters["status"]
    )
    rows = [{**snapshots.summary(j), "owner": Meta.of(j).owner} for j in found]
    return render_template("ops/jobs.html", jobs=rows, filters=filters, statuses=status.ALL, shown=SHOWN)


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
