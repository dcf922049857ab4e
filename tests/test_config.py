"""The web app's configuration: derived from the shared settings, and refused when unsafe."""

import pytest


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("SPOOL_ENV", "production")


GOOD_KEY = "9c1e4f7a2b8d0e6c5a3f1b7d9e2c4a6f8b0d1e3c5a7f9b2d4e6c8a0f1e3d5b7c"
GOOD_PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize(
    ("secret_key", "password", "refused"),
    [
        ("x", GOOD_PASSWORD, "SECRET_KEY is too weak"),
        ("a" * 64, GOOD_PASSWORD, "SECRET_KEY is too weak"),
        (GOOD_KEY, "a", "OPERATOR_PASSWORD is too weak"),
        (GOOD_KEY, "password", "OPERATOR_PASSWORD is too weak"),
    ],
)
def test_production_refuses_weak_secrets_saying_what_is_needed(production, make_app, secret_key, password, refused):
    with pytest.raises(RuntimeError, match=refused) as exc:
        make_app(SECRET_KEY=secret_key, OPERATOR_PASSWORD=password)
    assert "at least" in str(exc.value)


def test_production_starts_with_strong_secrets(production, make_app):
    assert make_app(SECRET_KEY=GOOD_KEY, OPERATOR_PASSWORD=GOOD_PASSWORD).config["PRODUCTION"]


def test_an_override_changes_the_shared_setting_everywhere_in_the_app(make_app):
    from webapp import resources

    app = make_app(RESULT_TTL=123, MAX_UPLOAD_MB=1)
    with app.app_context():
        assert (resources.settings().result_ttl, resources.settings().max_upload_mb) == (123, 1)
    assert app.config["MAX_CONTENT_LENGTH"] < 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("observer_password", "refused"),
    [("short", "OBSERVER_PASSWORD is too weak"), (GOOD_PASSWORD, "OBSERVER_PASSWORD is the same")],
)
def test_production_refuses_a_weak_or_shared_observer_password(production, make_app, observer_password, refused):
    with pytest.raises(RuntimeError, match=refused):
        make_app(SECRET_KEY=GOOD_KEY, OPERATOR_PASSWORD=GOOD_PASSWORD, OBSERVER_PASSWORD=observer_password)
