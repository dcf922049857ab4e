"""The operators' part of the OpenAPI description: calls for an operator's session or an
operator token (`tokens create --role observer|admin`), refused to everyone else with 403."""

from __future__ import annotations

from webapp.audit import ACTIONS, MAX_LIMIT, ROLES
from webapp.openapi_schemas import error, ok

AUDIT_ENTRY = {
    "type": "object",
    "required": ["id", "at", "action", "operator", "ip"],
    "properties": {
        "id": {"type": "string", "description": "The entry's stream id; pass it as `before` for older ones"},
        "at": {"type": "string", "format": "date-time"},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "operator": {
            "type": "string",
            "description": "A trusted user's name, token:<name>, cli:<system user>, or the role of a password",
        },
        "role": {"type": ["string", "null"], "enum": [*ROLES, None]},
        "via": {"type": ["string", "null"], "enum": ["password", "token", "proxy", "cli", None]},
        "ip": {"type": ["string", "null"], "description": "The client's address (a host name for the CLI)"},
        "target": {"type": ["string", "null"], "description": "The job id, or the token's name"},
        "queue": {"type": ["string", "null"]},
        "detail": {"type": ["string", "null"]},
    },
}

TIME = {"type": "string", "format": "date-time"}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "description": description, "schema": schema}


def operator_paths() -> dict:
    return {
        "/api/ops/audit": {
            "get": {
                "operationId": "listAuditEntries",
                "summary": "List operators' actions, newest first (operators only)",
                "parameters": [
                    _query("operator", "Only this operator's", {"type": "string"}),
                    _query("role", "Only this role's", {"type": "string", "enum": list(ROLES)}),
                    _query("action", "Only this action", {"type": "string", "enum": list(ACTIONS)}),
                    _query("since", "From this time (ISO 8601, UTC unless it says)", TIME),
                    _query("until", "Up to this time (ISO 8601, UTC unless it says)", TIME),
                    _query(
                        "before",
                        "The `next` of the page before",
                        {"type": "string", "pattern": r"^[0-9]{1,19}-[0-9]{1,19}$"},
                    ),
                    _query("limit", "At most this many", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                ],
                "responses": {
                    **ok(
                        "A page of entries; `next` is null on the last",
                        {
                            "type": "object",
                            "required": ["entries", "next"],
                            "properties": {
                                "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                                "next": {"type": ["string", "null"]},
                            },
                        },
                    ),
                    "400": error("A filter is not valid (the error's fields name it)"),
                    "403": error("Not an operator"),
                },
            }
        }
    }
