"""API tokens: issued by `flask tokens`, stored hashed, acting as their owner."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobs.core import keys
from tests.environment import ROOT


def flask_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "tokens", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def issue(app):
    """Issue an API token by name, as `flask tokens create` does; return it."""
    from webapp import tokens

    def create(name: str) -> str:
        with app.app_context():
            return tokens.create(name)

    return create


def test_cli_creates_lists_and_revokes_a_token(redis):
    created = flask_cli("create", "reports")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("spool_") and len(token) > 40
    assert token.encode() not in b"".join(redis.dump(k) or b"" for k in (keys.TOKENS_BY_HASH, keys.TOKENS_BY_NAME))

    listed = flask_cli("list")
    assert listed.stdout.startswith("reports\t") and token not in listed.stdout
    assert flask_cli("create", "reports").returncode != 0

    assert flask_cli("revoke", "reports").stdout.strip() == "revoked reports"
    assert flask_cli("list").stdout == ""
    assert flask_cli("revoke", "reports").returncode != 0


def test_a_token_acts_as_its_owner(client, issue):
    token = issue("nightly")
    response = client.post("/api/jobs", json={"type": "steps", "params": {"n": 1}}, headers=bearer(token))
    assert response.status_code == 202
    job_id = response.get_json()["id"]

    assert client.get(f"/api/jobs/{job_id}", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/jobs/{job_id}").status_code == 404  # the cookie is someone else
    listed = client.get("/api/jobs", headers=bearer(token)).get_json()
    assert [j["id"] for j in listed["jobs"]] == [job_id]


def test_a_token_needs_no_csrf_for_multipart(client, issue):
    token = issue("uploader")
    response = client.post(
        "/api/jobs",
        data={"type": "steps", "params": '{"n": 1}'},
        headers=bearer(token),
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()


def test_a_bad_or_revoked_token_is_401_json(app, client, issue):
    from webapp import tokens

    assert client.get("/api/jobs", headers=bearer("spool_made_up")).status_code == 401
    token = issue("old")
    with app.app_context():
        tokens.revoke("old")
    response = client.get("/api/jobs", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_token_jobs_are_not_the_browsers(client, api, issue):
    browser_job = api.submit("steps", n=1)
    token = issue("robot")
    assert client.get(f"/api/jobs/{browser_job}", headers=bearer(token)).status_code == 404


def test_openapi_describes_bearer_tokens(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "401" in spec["paths"]["/api/jobs"]["post"]["responses"]
