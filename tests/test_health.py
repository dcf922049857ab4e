"""Health checks: /healthz while the process is up, /readyz when it can do work."""

from __future__ import annotations


def test_healthz_answers_while_up(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_503_without_a_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["problems"] == ["no worker is running"]


def test_readyz_is_200_with_a_worker(client, worker):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()


def test_readyz_is_503_when_redis_is_unreachable(app):
    app.extensions["spool"]["redis"] = app.extensions["spool"]["redis"].from_url("redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["problems"][0].startswith("Redis is unreachable")
