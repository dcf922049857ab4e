"""API tokens for programs: issued by operators on the command line, stored hashed in Redis.

    flask --app webapp tokens create reports     # prints the token once
    flask --app webapp tokens list
    flask --app webapp tokens revoke reports

A request with `Authorization: Bearer <token>` acts as owner "token:<name>". Tokens are
long random strings, so a plain SHA-256 is enough to keep a leaked database from being a
leaked credential.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time

import click
from flask import Flask
from flask.cli import AppGroup

from jobs.core import keys
from webapp.resources import redis

BY_HASH = keys.TOKENS_BY_HASH
BY_NAME = keys.TOKENS_BY_NAME
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

cli = AppGroup("tokens", help="Issue, list and revoke API tokens.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def owner_of(name: str) -> str:
    return f"token:{name}"


def create(name: str) -> str:
    """Issue a token named `name` and return it; only its hash is kept."""
    if not NAME.match(name):
        raise ValueError("a token name is 1 to 64 letters, digits, '.', '_' or '-'")
    token = "spool_" + secrets.token_urlsafe(32)
    digest = _digest(token)
    record = json.dumps({"hash": digest, "created_at": time.time()})
    connection = redis()
    if not connection.hsetnx(BY_NAME, name, record):
        raise ValueError(f"a token named {name!r} exists; revoke it first")
    connection.hset(BY_HASH, digest, name)
    return token


def resolve(token: str) -> str | None:
    """The name of the token, or None when it is unknown or revoked."""
    name = redis().hget(BY_HASH, _digest(token))
    return name.decode() if name else None


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
        ({"name": n.decode(), "created_at": json.loads(r)["created_at"]} for n, r in records.items()),
        key=lambda t: t["name"],
    )


@cli.command("create")
@click.argument("name")
def create_command(name: str) -> None:
    """Issue a token and print it once."""
    try:
        click.echo(create(name))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("list")
def list_command() -> None:
    """List the tokens' names and when they were issued."""
    for token in all_tokens():
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(token["created_at"]))
        click.echo(f"{token['name']}\t{issued}")


@cli.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    if not revoke(name):
        raise click.ClickException(f"there is no token named {name!r}")
    click.echo(f"revoked {name}")


def init_app(app: Flask) -> None:
    app.cli.add_command(cli)
