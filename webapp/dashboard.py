"""rq-dashboard, mounted at /rq for signed-in operators (the guard is in webapp.auth).

rq-dashboard keeps a module-global blueprint and serializer: the serializer is set to RQ's
JSON one here (its pickle default cannot read Spool's jobs), and nothing is added to the
blueprint itself, since a hook on it would be re-registered by every app a process makes.
What it lacks is added around it, on the app:

- its POST routes already need the CSRF token (flask-wtf guards every POST); its script sends
  the `_csrf_token` cookie as X-CSRFToken, so that cookie is set on its pages. Its one GET
  route that changes state (requeue all) is refused on GET.
- its requeue routes re-save a job with the pickle serializer (`rq.job.requeue_job` is called
  without one), which would make it unreadable to Spool's workers; the app answers those two
  endpoints with its own views that requeue through Spool's queue.
- its Delete and Empty call RQ's `Job.delete`, which neither stops a running job (the worker
  ran on and re-created its hash, ownerless) nor touches Spool's keys (log, files, uploads,
  the owner's index); the app answers those two endpoints with views that go through
  `jobs.core.purge`, keeping its RQ_DASHBOARD_DISABLE_DELETE switch.
- it has no roles: every request that is not a GET (requeue, delete, empty, compact) is
  refused to observers with a 403, and an admin's is written to the audit log once it is done
  (its answer's status "OK").
- its pages put job fields into the DOM unescaped (underscore's `<%= %>`), so the JSON that
  feeds them is HTML-escaped, and a Content-Security-Policy allows only its own scripts.
"""

from __future__ import annotations

import base64
import hashlib
import re

import rq_dashboard
from flask import Flask, Response, abort, current_app, json, request
from flask_wtf.csrf import generate_csrf
from markupsafe import escape
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.serializers import JSONSerializer
from rq_dashboard import web

from jobs.core import events, purge, status
from webapp import audit, auth, repository, resources

# Endpoints whose JSON its templates insert as HTML without escaping.
UNESCAPED_JSON = frozenset({"rq_dashboard.job_info", "rq_dashboard.list_workers", "rq_dashboard.list_queues"})
INLINE_SCRIPT = re.compile(rb"<script type=\"text/javascript\">(.*?)</script>", re.S)


def init_app(app: Flask) -> None:
    web.config.serializer = JSONSerializer
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 2500)
    # rq-dashboard opens its own connection from the URL with a library that knows neither
    # rediss+sentinel:// nor REDIS_CA_FILE: hand it the app's connection instead.
    web.from_url = _app_connection
    with app.app_context():
        web.setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/rq")
    app.view_functions["rq_dashboard.requeue_job_view"] = _requeue_one
    app.view_functions["rq_dashboard.requeue_all"] = _requeue_all
    app.view_functions["rq_dashboard.delete_job_view"] = _delete_one
    app.view_functions["rq_dashboard.empty_queue"] = _empty
    # Its requests only, not every request the app serves.
    # After auth's guard, which auth.init_app put first in this same list.
    app.before_request_funcs.setdefault(rq_dashboard.blueprint.name, []).extend(
        (_refuse_state_change_by_get, _refuse_changes_to_observers)
    )
    app.after_request_funcs.setdefault(rq_dashboard.blueprint.name, []).extend((_audit_change, _harden))


NO_STORE = {"Cache-Control": "no-store"}


def _app_connection(url: str, **options):
    return None, resources.redis()


def _requeue(failed_registry, job_id: str) -> bool:
    try:
        failed_registry.requeue(job_id)
    except (InvalidJobOperation, NoSuchJobError):
        return False
    events.publish_status(resources.redis(), job_id, status.QUEUED)
    return True


def _requeue_one(job_id: str):
    job = repository.fetch(job_id) or abort(404, description="There is no such job.")
    done = _requeue(resources.queue(job.origin).failed_job_registry, job_id)
    return {"status": "OK" if done else "ERROR"}, NO_STORE


def _requeue_all(queue_name: str):
    registry = resources.queue(queue_name).failed_job_registry
    count = sum(_requeue(registry, job_id) for job_id in registry.get_job_ids(cleanup=False))
    return {"status": "OK", "count": count}, NO_STORE


def _delete_one(job_id: str):
    if current_app.config.get("RQ_DASHBOARD_DISABLE_DELETE"):
        return {"status": "DISABLED"}, NO_STORE
    done = purge.stop_and_purge(resources.redis(), job_id)
    return {"status": "OK" if done else "ERROR"}, NO_STORE


def _empty(queue_name: str, registry_name: str):
    if current_app.config.get("RQ_DASHBOARD_DISABLE_DELETE"):
        return {"status": "DISABLED"}, NO_STORE
    q = resources.queue(queue_name)
    registries = resources.registries(queue_name)
    if registry_name == "queued":
        ids = q.get_job_ids()
    elif registry_name in registries:
        ids = registries[registry_name].get_job_ids(cleanup=False)
    else:
        abort(404, description=f"There is no registry {registry_name!r}.")
    connection = resources.redis()
    for job_id in ids:
        if not purge.stop_and_purge(connection, job_id) and registry_name != "queued":
            registries[registry_name].remove(job_id)  # a stale entry, as rq-dashboard drops them
    if registry_name == "queued":
        q.empty()  # entries of jobs already gone
    return {"status": "OK"}, NO_STORE


def _refuse_state_change_by_get():
    if request.endpoint == "rq_dashboard.requeue_all" and request.method != "POST":
        abort(405, description="Requeueing changes state: it takes a POST from the dashboard.")


# Its endpoints that change state, and the audit log's name for each.
CHANGES = {
    "rq_dashboard.requeue_job_view": "requeue",
    "rq_dashboard.requeue_all": "requeue",
    "rq_dashboard.delete_job_view": "delete",
    "rq_dashboard.empty_queue": "empty-queue",
    "rq_dashboard.compact_queue": "compact-queue",
}


def _changes() -> bool:
    return request.method not in ("GET", "HEAD", "OPTIONS")


def _refuse_changes_to_observers():
    # After auth's guard, so only an operator gets here; its scripts read JSON answers.
    if _changes() and auth.is_operator() and not auth.is_admin():
        return {"error": {"code": "forbidden", "message": auth.OBSERVERS_REFUSED}}, 403, NO_STORE
    return None


def _audit_change(response: Response) -> Response:
    if not (_changes() and request.endpoint in CHANGES and response.is_json):
        return response
    answer = response.get_json(silent=True)
    if isinstance(answer, dict) and answer.get("status") == "OK" and auth.is_admin():
        args = request.view_args or {}
        detail = args.get("registry_name") and f"registry {args['registry_name']}"
        audit.record(CHANGES[request.endpoint], target=args.get("job_id"), queue=args.get("queue_name"), detail=detail)
    return response


def _escaped(value):
    if isinstance(value, str):
        return str(escape(value))
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def _harden(response: Response) -> Response:
    if request.endpoint in UNESCAPED_JSON and response.is_json:
        response.set_data(json.dumps(_escaped(response.get_json())))
    if response.mimetype == "text/html":
        hashes = " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
            for body in INLINE_SCRIPT.findall(response.get_data())
        )
        # Its templates compile with underscore, which needs eval; injected markup still cannot run.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'unsafe-eval' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        response.set_cookie(
            "_csrf_token", generate_csrf(), path="/rq", samesite="Strict", secure=request.is_secure, httponly=False
        )
    return response
