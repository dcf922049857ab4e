"""The OpenAPI 3.1 description of the JSON API, built from the catalogue.

The shapes it names are in webapp.openapi_schemas; the limits it states (pages, delays,
email) are read from where they are enforced, so the description cannot drift from them.
"""

from __future__ import annotations

from jobs.core import catalogue, status, webhooks
from webapp.openapi_operators import AUDIT_ENTRY, operator_paths
from webapp.openapi_schemas import (
    ACCEPTED,
    ERROR,
    JOB,
    JOB_TYPE,
    SEARCH_DESCRIPTION,
    SEARCH_PARAMETERS,
    START,
    SUMMARY,
    error,
    ok,
    over_quota,
)
from webapp.repository import LAST_PAGE, MAX_PER_PAGE
from webapp.resources import settings

# What a job may attach (jobs.attach takes any type): the built-in jobs' tables and charts, and
# the default for a file attached without a type.
FILE_TYPES = ("text/csv", "image/png", "application/octet-stream", "*/*")


def _email() -> dict:
    """The notify_email field, offered only where the server can send email."""
    described = {
        "type": "string",
        "format": "email",
        "description": "Email this address when the job ends; an address not yet confirmed for the caller "
        "is first sent a confirmation link (see the answer's notify).",
    }
    return {"notify_email": described} if settings().smtp_url else {}


def _webhook() -> dict:
    """The webhook_url field, offered only where the server can sign webhooks."""
    described = {
        "type": "string",
        "format": "uri",
        "maxLength": webhooks.MAX_URL,
        "description": "POST the job's final snapshot here when it ends, signed in the Spool-Signature header.",
    }
    return {"webhook_url": described} if settings().webhook_secret else {}


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
            **_webhook(),
            **START,
        },
    }


def openapi_spec() -> dict:
    job_types = list(catalogue.public().values())
    schemas = {
        "Error": ERROR,
        "JobAccepted": ACCEPTED,
        "JobSummary": SUMMARY,
        "Job": JOB,
        "JobType": JOB_TYPE,
        "AuditEntry": AUDIT_ENTRY,
        **{f"Submit_{jt.name}": _submission(jt) for jt in job_types if _json_submittable(jt)},
        # What a multipart submit of a job type with files carries: the file parts, named after
        # their parameters, and the rest as the JSON of `params`.
        **{f"Multipart_{jt.name}": jt.schema for jt in job_types if jt.uploads},
    }
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    not_found = {"404": error("No such job, or not yours")}
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Spool", "version": "1.0", "description": "Run long Python jobs and watch them live."},
        "paths": {
            "/api/job-types": {
                "get": {
                    "operationId": "listJobTypes",
                    "summary": "List the job types",
                    "responses": ok("The catalogue", {"type": "array", "items": ref("JobType")}),
                }
            },
            "/api/jobs": {
                "post": {
                    "operationId": "submitJob",
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
                                        "params": {
                                            "type": "object",
                                            "description": "The other parameters; each job type's are its "
                                            "Multipart_<type> schema",
                                        },
                                        **_email(),
                                        **START,
                                    },
                                    # One file part per upload parameter, named after it.
                                    "additionalProperties": {"type": "string", "format": "binary"},
                                },
                                "encoding": {"params": {"contentType": "application/json"}},
                            },
                        },
                    },
                    "responses": {
                        **ok("Accepted", ref("JobAccepted"), "202"),
                        "400": error(
                            "Malformed request, or multipart sent with a cookie but no X-CSRFToken header (CSRF)"
                        ),
                        "404": error("Unknown job type"),
                        "409": error("Idempotency-Key sent before with a different body"),
                        "413": error("Too large"),
                        "415": error("Unsupported content type"),
                        "422": error("Invalid parameters"),
                        "429": over_quota(),
                        "503": error(
                            "The job type cannot run on this server (its libraries are missing), or (with "
                            "SUBMIT_REPLICAS) no replica copied the job in time and it was withdrawn"
                        ),
                    },
                },
                "get": {
                    "operationId": "listJobs",
                    "summary": "List your jobs, newest first",
                    "description": SEARCH_DESCRIPTION,
                    "parameters": [
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": LAST_PAGE},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                        },
                        {
                            "name": "status",
                            "in": "query",
                            "description": "Only jobs in this status",
                            "schema": {"type": "string", "enum": list(status.ALL)},
                        },
                        {
                            "name": "type",
                            "in": "query",
                            "description": "Only jobs of this type",
                            "schema": {"type": "string", "enum": sorted(catalogue.public())},
                        },
                        *SEARCH_PARAMETERS,
                    ],
                    "responses": {
                        **ok(
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
                        "400": error("Bad paging, or a filter that cannot be used (the error's fields name it)"),
                    },
                },
            },
            "/api/jobs/{job_id}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "Show a job",
                    "parameters": [job_id],
                    "responses": {**ok("The job", ref("Job")), **not_found},
                },
                "delete": {
                    "operationId": "cancelJob",
                    "summary": "Cancel or stop a job",
                    "parameters": [job_id],
                    "responses": {
                        **ok("Canceled or stopping", ref("JobAccepted"), "202"),
                        "403": error("An observer's call on someone else's job: only admins change those"),
                        **not_found,
                        "409": error("Already over"),
                    },
                },
            },
            "/api/jobs/{job_id}/files/{name}": {
                "get": {
                    "operationId": "getJobFile",
                    "summary": "Download a file a job attached to its result",
                    "parameters": [
                        job_id,
                        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": (
                                "The file, with the type its job gave it: text/csv for tables, image/png for "
                                "charts, application/octet-stream when it gave none"
                            ),
                            "content": {t: {"schema": {}} for t in FILE_TYPES},
                        },
                        "404": error("No such job or file, or not yours"),
                    },
                }
            },
            "/api/jobs/{job_id}/retry": {
                "post": {
                    "operationId": "retryJob",
                    "summary": "Run a job again as a new job",
                    "parameters": [job_id],
                    "responses": {
                        **ok("Accepted", ref("JobAccepted"), "202"),
                        "400": error("Called with a cookie but no X-CSRFToken header (CSRF)"),
                        "403": error("An observer's call on someone else's job: only admins change those"),
                        **not_found,
                        "409": error("Type gone"),
                        "429": over_quota(),
                    },
                }
            },
            **operator_paths(),
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
        operation["responses"].setdefault("401", error("The bearer token is not valid"))
        # Any call may need Redis (a bearer token is looked up there): while it is away, 503.
        operation["responses"].setdefault(
            "503", error("Spool's database is unreachable, or refusing writes, for the moment")
        )
    return spec
