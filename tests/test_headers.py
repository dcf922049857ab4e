"""What every response tells the browser: security headers, and redirects that stay on this site."""

import pytest

POLICY_PARTS = ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'")


@pytest.mark.parametrize(
    "path",
    ["/", "/jobs", "/jobs/new/steps", "/api/job-types", "/api/jobs/nope", "/no-such-page", "/healthz", "/ops/login"],
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert all(part in policy for part in POLICY_PARTS), policy
    assert "Strict-Transport-Security" not in response.headers  # a laptop serves plain HTTP


def test_a_job_page_with_its_cancel_button_cannot_be_framed(client, api):
    job_id = api.submit("steps", n=1)
    response = client.get(f"/jobs/{job_id}")
    assert "Cancel" in response.get_data(as_text=True)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_production_sends_hsts(monkeypatch, make_app):
    monkeypatch.setenv("SPOOL_ENV", "production")
    app = make_app(OPERATOR_PASSWORD="a long operator passphrase", SECRET_KEY="k" * 16 + "abcdefghijklmnop")
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/rq", "/ops", "/api/jobs/", "/jobs/"])
def test_a_redirect_never_echoes_a_forged_host(client, path):
    response = client.get(path, headers={"Host": "evil.example"})
    location = response.headers.get("Location", "")
    assert "evil.example" not in location
    assert not location or location.startswith("/")
