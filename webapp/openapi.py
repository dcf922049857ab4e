"""The OpenAPI 3.1 description of the JSON API, built from the catalogue."""

from __future__ import annotations

from jobs import catalogue
from jobs.settings import settings
from webapp.store import LAST_PAGE

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
_STATUS = {
    "type": "string",
    "enum": ["queued", "scheduled", "deferred", "started", "finished", "failed", "stopped", "canceled", "stopping"],
}
_URLS = {"type": "object", "additionalProperties": {"type": "string"}}
_ACCEPTED = {
    "type": "object",
    "required": ["id", "status", "urls"],
    "properties": {"id": {"type": "string"}, "status": _STATUS, "urls": _URLS},
}
_SUMMARY = {
    "type": "object",
    "required": ["id", "type", "status", "urls"],
    "properties": {
        "id": {"type": "string"},
        "type": {"type": ["string", "null"]},
        "title": {"type": ["string", "null"]},
        "status": _STATUS,
        "progress": {"type": ["object", "null"]},
        "created_at": {"type": ["string", "null"]},
        "ended_at": {"type": ["string", "null"]},
        "urls": _URLS,
    },
}
_JOB = {
    "type": "object",
    "required": ["id", "status", "seq", "progress", "urls"],
    "properties": {
        **_SUMMARY["properties"],
        "seq": {"type": "integer"},
        "params": {"type": ["object", "null"]},
        "log": {"type": "array", "items": {"type": "string"}},
        "result": {},
        "error": {"type": ["object", "null"]},
        "attempt": {"type": "integer"},
        "enqueued_at": {"type": ["string", "null"]},
        "started_at": {"type": ["string", "null"]},
        "files": {
            "type": "array",
            "description": "Files the job attached to its result",
            "items": {
                "type": "object",
                "required": ["name", "content_type", "size", "url"],
                "properties": {
                    "name": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size": {"type": "integer"},
                    "url": {"type": "string"},
                },
            },
        },
        "scheduled_for": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When a scheduled job starts",
        },
    },
}
# Run later: one or the other; a time without a zone is UTC.
_START = {
    "run_at": {"type": "string", "format": "date-time", "description": "Start at this time (ISO 8601, UTC by default)"},
    "run_in": {"type": "number", "exclusiveMinimum": 0, "maximum": 30 * 24 * 3600, "description": "Start in seconds"},
}
_JOB_TYPE = {
    "type": "object",
    "required": ["name", "title", "description", "params"],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "params": {"type": "object"},
        "unavailable": {"type": "string", "description": "Why this job type cannot run on this server"},
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: dict, status: str = "200") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


def _email() -> dict:
    """The notify_email field, offered only where the server can send email."""
    return {"notify_email": {"type": "string", "format": "email"}} if settings.smtp_url else {}


def _json_params(job_type: catalogue.JobType) -> dict:
    """The parameters as JSON can carry them: files travel only in multipart requests."""
    schema = job_type.schema
    uploads = set(job_type.uploads)
    return {
        **schema,
        "properties": {n: p for n, p in schema["properties"].items() if n not in uploads},
        "required": [n for n in schema.get("required", []) if n not in uploads],
    }


def _json_submittable(job_type: catalogue.JobType) -> bool:
    return not set(job_type.uploads) & set(job_type.schema.get("required", []))


def _submission(job_type: catalogue.JobType) -> dict:
    params = _json_params(job_type)
    return {
        "type": "object",
        "required": ["type", "params"] if params["required"] else ["type"],
        "additionalProperties": False,
        "properties": {
            "type": {"const": job_type.name},
            "params": params,
            **_email(),
            **_START,
        },
    }


def openapi_spec() -> dict:
    job_types = list(catalogue.public().values())
    schemas = {
        "Error": _ERROR,
        "JobAccepted": _ACCEPTED,
        "JobSummary": _SUMMARY,
        "Job": _JOB,
        "JobType": _JOB_TYPE,
        **{f"Submit_{jt.name}": _submission(jt) for jt in job_types if _json_submittable(jt)},
    }
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    not_found = {"404": _error("No such job, or not yours")}
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Spool", "version": "1.0", "description": "Run long Python jobs and watch them live."},
        "paths": {
            "/api/job-types": {
                "get": {
                    "summary": "List the job types",
                    "responses": _ok("The catalogue", {"type": "array", "items": ref("JobType")}),
                }
            },
            "/api/jobs": {
                "post": {
                    "summary": "Submit a job",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "description": (
                                "Makes a retried POST safe: the same key from the same owner with the same body "
                                "(files included) answers 202 with the job it made the first time, with the header "
                                "Idempotent-Replayed: true, for as long as jobs are kept. The same key with a "
                                "different body is 409."
                            ),
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [ref(f"Submit_{jt.name}") for jt in job_types if _json_submittable(jt)]
                                }
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["type"],
                                    "properties": {
                                        "type": {"type": "string"},
                                        "params": {"type": "object", "description": "The other parameters"},
                                        **_email(),
                                        **_START,
                                    },
                                    # One file part per upload parameter, named after it.
                                    "additionalProperties": {"type": "string", "format": "binary"},
                                },
                                "encoding": {"params": {"contentType": "application/json"}},
                            },
                        },
                    },
                    "responses": {
                        **_ok("Accepted", ref("JobAccepted"), "202"),
                        "400": _error("Malformed request"),
                        "404": _error("Unknown job type"),
                        "409": _error("Idempotency-Key sent before with a different body"),
                        "413": _error("Too large"),
                        "415": _error("Unsupported content type"),
                        "422": _error("Invalid parameters"),
                        "429": _error("Over quota"),
                        "503": _error("The job type cannot run on this server (its libraries are missing)"),
                    },
                },
                "get": {
                    "summary": "List your jobs, newest first",
                    "parameters": [
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": LAST_PAGE},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {
                            "name": "status",
                            "in": "query",
                            "description": "Only jobs in this status",
                            "schema": {**_STATUS, "enum": [s for s in _STATUS["enum"] if s != "stopping"]},
                        },
                        {
                            "name": "type",
                            "in": "query",
                            "description": "Only jobs of this type",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        **_ok(
                            "A page of jobs",
                            {
                                "type": "object",
                                "required": ["jobs", "page", "per_page", "total"],
                                "properties": {
                                    "jobs": {"type": "array", "items": ref("JobSummary")},
                                    "page": {"type": "integer"},
                                    "per_page": {"type": "integer"},
                                    "total": {"type": "integer"},
                                },
                            },
                        ),
                        "400": _error("Bad paging"),
                    },
                },
            },
            "/api/jobs/{job_id}": {
                "get": {
                    "summary": "Show a job",
                    "parameters": [job_id],
                    "responses": {**_ok("The job", ref("Job")), **not_found},
                },
                "delete": {
                    "summary": "Cancel or stop a job",
                    "parameters": [job_id],
                    "responses": {
                        **_ok("Canceled or stopping", ref("JobAccepted"), "202"),
                        **not_found,
                        "409": _error("Already over"),
                    },
                },
            },
            "/api/jobs/{job_id}/files/{name}": {
                "get": {
                    "summary": "Download a file a job attached to its result",
                    "parameters": [
                        job_id,
                        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "The file", "content": {"application/octet-stream": {"schema": {}}}},
                        "404": _error("No such job or file, or not yours"),
                    },
                }
            },
            "/api/jobs/{job_id}/retry": {
                "post": {
                    "summary": "Run a job again as a new job",
                    "parameters": [job_id],
                    "responses": {
                        **_ok("Accepted", ref("JobAccepted"), "202"),
                        **not_found,
                        "409": _error("Type gone"),
                    },
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "flask tokens create NAME"}
            },
        },
        "security": [{}, {"bearer": []}],
    }
    for operation in (op for path in spec["paths"].values() for op in path.values()):
        operation["responses"].setdefault("401", _error("The bearer token is not valid"))
        # Any call may need Redis (a bearer token is looked up there): while it is away, 503.
        operation["responses"].setdefault("503", _error("Spool's database is unreachable for the moment"))
    return spec
