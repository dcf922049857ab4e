"""The HTML pages: catalogue, forms, the live job page and the user's job list."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from jobs import catalogue
from jobs.params import ParamsError
from webapp import store
from webapp.auth import owner_id

bp = Blueprint("pages", __name__)


def _job_type(name: str) -> catalogue.JobType:
    if name not in catalogue.CATALOGUE:
        abort(404, description=f"There is no job type called {name!r}.")
    return catalogue.CATALOGUE[name]


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


@bp.get("/")
def index():
    """Show the catalogue of job types."""
    return render_template("index.html", job_types=catalogue.CATALOGUE.values())


@bp.route("/jobs/new/<type_name>", methods=["GET", "POST"])
def new(type_name: str):
    """Show a job type's form, and submit it."""
    job_type = _job_type(type_name)
    if request.method == "GET":
        return render_template("form.html", job_type=job_type, values={}, errors={})
    values = form_values(job_type, request.form)
    try:
        clean = job_type.validate(values)
    except ParamsError as exc:
        return render_template("form.html", job_type=job_type, values=request.form, errors=exc.fields), 422
    job = store.submit(job_type, clean, owner=owner_id())
    return redirect(url_for("pages.job", job_id=job.id), code=303)


@bp.get("/jobs")
def jobs():
    """List the user's jobs, newest first."""
    page = request.args.get("page", 1, type=int)
    page = max(page, 1)
    items, total = store.list_for(owner_id(), page=page, per_page=20)
    return render_template("jobs.html", jobs=[store.summary(j) for j in items], page=page, total=total, per_page=20)


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """Show a job live: progress, log, then its result or error."""
    snapshot = store.snapshot(store.get(job_id, owner_id()))
    return render_template("job.html", job=snapshot, job_type=catalogue.CATALOGUE.get(snapshot["type"] or ""))


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str):
    """Cancel a waiting job or stop a running one."""
    try:
        store.cancel(store.get(job_id, owner_id()))
    except store.Conflict:
        pass  # it ended meanwhile; the page shows how
    return redirect(url_for("pages.job", job_id=job_id), code=303)


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str):
    """Run a job again with the same values."""
    old = store.get(job_id, owner_id())
    job_type = store.job_type_of(old)
    if job_type is None:
        abort(409, description="This job's type no longer exists, so it cannot be run again.")
    job = store.submit(job_type, job_type.validate(old.kwargs), owner=owner_id())
    return redirect(url_for("pages.job", job_id=job.id), code=303)
