"""The schemas of the OpenAPI description: the shapes the JSON API answers with."""

from __future__ import annotations

from jobs.core import output, status
from webapp.submission import MAX_DELAY

ERROR = {
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
STATUS = {"type": "string", "enum": [*status.ALL, status.STOPPING]}
URLS = {"type": "object", "additionalProperties": {"type": "string"}}
# Where a new job's email goes: a confirmed address, or one just sent a link to confirm it.
NOTIFY = {
    "type": "object",
    "required": ["address", "confirmed", "message"],
    "description": "Present when a new submission gave notify_email. Job emails go only to the trusted "
    "identity's own verified address or to an address its owner confirmed by an emailed link; for an "
    "unconfirmed one the job runs, a confirmation link is emailed (at most once a day) and no job email "
    "is sent until it is followed.",
    "properties": {
        "address": {"type": "string", "format": "email"},
        "confirmed": {"type": "boolean"},
        "message": {"type": "string"},
    },
}
ACCEPTED = {
    "type": "object",
    "required": ["id", "status", "urls"],
    "properties": {"id": {"type": "string"}, "status": STATUS, "urls": URLS, "notify": NOTIFY},
}
SUMMARY = {
    "type": "object",
    "required": ["id", "type", "status", "urls"],
    "properties": {
        "id": {"type": "string"},
        "type": {"type": ["string", "null"]},
        "title": {"type": ["string", "null"]},
        "status": STATUS,
        "progress": {"type": ["object", "null"]},
        "created_at": {"type": ["string", "null"]},
        "ended_at": {"type": ["string", "null"]},
        "urls": URLS,
        "params": {
            "type": "array",
            "description": "The parameters that tell the job apart (those not at their default first), "
            "values cut to 40 characters",
            "items": {
                "type": "object",
                "required": ["name", "value"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "files": {"type": "array", "items": {"type": "string"}, "description": "Names of the files uploaded"},
        "duration_s": {"type": ["number", "null"], "description": "How long it ran, or has run so far"},
    },
}
# The filters that lists of jobs take besides status and type (webapp.search).
SEARCH_DESCRIPTION = (
    "Filters combine (all must hold): status, type, since/until (submit time, ISO 8601; a date or "
    "a time without a zone is UTC) and q, words that must all appear in the job's parameters, its "
    "uploaded file names or its error sentence (words are runs of letters and digits, any case). "
    "Paged by page and per_page; total counts every match."
)
SEARCH_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "description": f"Only jobs submitted {word} this time (ISO 8601)",
        "schema": {"type": "string", "format": "date-time"},
    }
    for name, word in (("since", "at or after"), ("until", "at or before"))
] + [
    {
        "name": "q",
        "in": "query",
        "description": "Words, all of which the job's parameters, file names or error hold",
        "schema": {"type": "string", "maxLength": 200},
    }
]
OUTPUT = {
    "type": "object",
    "description": "What the job emitted as it ran (emit()), everything so far: the snapshot's seq "
    "counts the output events it holds, so a socket's later output events add to it without gap or "
    "repeat. A finished job whose result has no table shows this table (and text) as its result's.",
    "required": ["columns", "rows", "text", "values", "truncated"],
    "properties": {
        "columns": {"type": ["array", "null"], "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "array"}, "description": f"At most {output.MAX_ROWS:,} rows"},
        "text": {"type": "string", "description": f"Appended text, at most {output.MAX_TEXT:,} characters"},
        "values": {
            "type": "object",
            "description": f"Named values, each the last emitted; at most {output.MAX_VALUES}",
        },
        "truncated": {"type": "boolean", "description": "Output past a cap was refused (the log says which)"},
    },
}
JOB = {
    "type": "object",
    "required": ["id", "status", "seq", "progress", "urls"],
    "properties": {
        **SUMMARY["properties"],
        "seq": {"type": "integer"},
        "params": {"type": ["object", "null"]},
        "log": {"type": "array", "items": {"type": "string"}},
        "output": OUTPUT,
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
        "queue_position": {
            "type": ["integer", "null"],
            "minimum": 1,
            "description": "A waiting job's place in its queue, 1 for the next to run",
        },
        "expected_start_s": {
            "type": ["number", "null"],
            "description": "About how many seconds until a waiting job starts, from recent run times",
        },
        "workers": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "How many workers serve a waiting job's queue; 0: none is there to start it",
        },
        "waiting_for": {
            "type": ["string", "null"],
            "description": "What a job held back by a concurrency limit waits for",
        },
        "stalled": {
            "type": "boolean",
            "description": "The job's worker stopped responding (its heartbeat lapsed); a worker will "
            "retry the job, or fail it when it has no retries left, as soon as one is running",
        },
        "stalled_since": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the running job's worker heartbeat lapsed, if it has",
        },
        "parts": {
            "type": ["object", "null"],
            "description": "A job spread over the workers (fan_out): how many of its parts are in each state",
            "properties": {
                name: {"type": "integer", "minimum": 0} for name in ("total", "done", "running", "waiting", "failed")
            },
        },
        "parent": {
            "type": ["string", "null"],
            "description": "For a part of a fanned-out job, the id of that job",
        },
    },
}
# Run later: one or the other; a time without a zone is UTC.
START = {
    "run_at": {
        "type": "string",
        "format": "date-time",
        "description": "Start at this time (ISO 8601 with an offset; UTC when it has none)",
    },
    "run_in": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": MAX_DELAY.total_seconds(),
        "description": "Start in seconds",
    },
}
JOB_TYPE = {
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


def error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def over_quota() -> dict:
    """The 429 of a submit past MAX_WAITING_PER_OWNER or MAX_NEW_OWNERS_PER_IP."""
    return {
        **error(
            "Over a quota (code over_quota): too many waiting jobs (MAX_WAITING_PER_OWNER), or too many new "
            "anonymous owners from this address (MAX_NEW_OWNERS_PER_IP); the message says which"
        ),
        "headers": {"Retry-After": {"description": "Seconds until a retry may succeed", "schema": {"type": "integer"}}},
    }


def ok(description: str, schema: dict, status: str = "200") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}
