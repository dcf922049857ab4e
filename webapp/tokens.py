"""API tokens for programs: issued by operators on the command line, stored hashed in Redis.

    flask --app webapp tokens create reports                    # prints the token once
    flask --app webapp tokens create --role observer grafana    # an operator token
    flask --app webapp tokens list
    flask --app webapp tokens revoke reports

A request with `Authorization: Bearer <token>` acts as owner "token:<name>". A token's role is
"user" unless given: it sees and changes only its own jobs. An "observer" token also reads
everything operators read; an "admin" token may also change what operators change (see
webapp.auth). Tokens are long random strings, so a plain SHA-256 is enough to keep a leaked
database from being a leaked credential. Issuing and revoking are written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass

import click
from flask import Flask, abort, g, request
from flask.cli import AppGroup

from jobs.core import keys
from webapp import audit
from webapp.resources import redis

BY_HASH = keys.TOKENS_BY_HASH
BY_NAME = keys.TOKENS_BY_NAME
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
USER, OBSERVER, ADMIN = "user", "observer", "admin"
ROLES = (USER, OBSERVER, ADMIN)


@dataclass(frozen=True)
class Token:
    name: str
    role: str


cli = AppGroup("tokens", help="Issue, list and revoke API tokens.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def owner_of(name: str) -> str:
    return f"token:{name}"


def create(name: str, role: str = USER) -> str:
    """Issue a token named `name` in `role` and return it; only its hash is kept."""
    if not NAME.match(name):
        raise ValueError("a token name is 1 to 64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    token = "spool_" + secrets.token_urlsafe(32)
    digest = _digest(token)
    record = json.dumps({"hash": digest, "created_at": time.time(), "role": role})
    connection = redis()
    if not connection.hsetnx(BY_NAME, name, record):
        raise ValueError(f"a token named {name!r} exists; revoke it first")
    connection.hset(BY_HASH, digest, f"{name}:{role}")
    return token


def resolve(token: str) -> Token | None:
    """The token's name and role, or None when it is unknown or revoked."""
    found = redis().hget(BY_HASH, _digest(token))
    if found is None:
        return None
    # "name:role" (a name has no colon); tokens issued before roles hold the bare name.
    name, _, role = found.decode().partition(":")
    return Token(name, role or USER)


def bearer() -> str | None:
    """The request's bearer token, or None without one."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def of_request() -> Token | None:
    """The request's token, or None without one; 401 for one unknown or revoked."""
    if "token" not in g:
        given = bearer()
        g.token = resolve(given) if given is not None else None
        if given is not None and g.token is None:
            g.pop("token")
            abort(401, description="The bearer token is not valid (revoked, or never issued).")
    return g.token


def revoke(name: str) -> bool:
    connection = redis()
    record = connection.hget(BY_NAME, name)
    if record is None:
        return False
    with connection.pipeline() as pipe:
        pipe.hdel(BY_HASH, json.loads(record)["hash"])
        pipe.hdel(BY_NAME, name)
        pipe.execute()
    return True


def all_tokens() -> list[dict]:
    records = redis().hgetall(BY_NAME)
    return sorted(
        (
            {"name": n.decode(), "role": record.get("role", USER), "created_at": record["created_at"]}
            for n, record in ((n, json.loads(r)) for n, r in records.items())
        ),
        key=lambda t: t["name"],
    )


@cli.command("create")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default=USER,
    show_default=True,
    help="user: its own jobs only; observer: also reads everything; admin: also changes anything.",
)
@click.argument("name")
def create_command(name: str, role: str) -> None:
    """Issue a token and print it once."""
    try:
        token = create(name, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record_cli("token-create", target=name, detail=f"role {role}")
    click.echo(token)


@cli.command("list")
def list_command() -> None:
    """List the tokens' names and when they were issued."""
    for token in all_tokens():
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(token["created_at"]))
        click.echo(f"{token['name']}\t{token['role']}\t{issued}")


@cli.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    if not revoke(name):
        raise click.ClickException(f"there is no token named {name!r}")
    audit.record_cli("token-revoke", target=name)
    click.echo(f"revoked {name}")


def init_app(app: Flask) -> None:
    app.cli.add_command(cli)
