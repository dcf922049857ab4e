"""The JSON API contract and its errors, on a real Redis."""

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from rq import Queue


def test_job_types_list_the_catalogue_with_json_schema(client):
    types = {t["name"]: t for t in client.get("/api/job-types").get_json()}
    primes = types["primes"]
    assert primes["title"] == "Count primes"
    assert primes["description"].startswith("Count the primes")
    limit = primes["params"]["properties"]["limit"]
    assert limit["type"] == "integer" and limit["maximum"] == 10**10 and limit["default"] == 3_000_000_000


def test_submit_answers_202_with_links(client):
    response = client.post("/api/jobs", json={"type": "primes", "params": {"limit": 1000}})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert body["urls"] == {
        "self": f"/api/jobs/{body['id']}",
        "page": f"/jobs/{body['id']}",
        "ws": f"/ws/jobs/{body['id']}",
    }
    assert response.headers["Location"] == body["urls"]["self"]


def test_submitted_job_runs_to_its_result(api, worker):
    job_id = api.submit("primes", limit=1_000_000)
    job = api.wait_status(job_id, "finished", "failed")
    assert job["status"] == "finished"
    assert job["result"] == {"limit": 1_000_000, "count": 78498, "largest": 999983}
    assert job["progress"]["percent"] == 100.0
    assert job["log"] == ["found 78,498 primes below 1,000,000"]


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "bad_request"),
        (b"[]", 400, "bad_request"),
        (b'{"type": "primes", "params": {}, "extra": 1}', 400, "bad_request"),
        (b'{"type": "nope"}', 404, "not_found"),
        (b'{"type": ["primes"]}', 404, "not_found"),
        (b'{"type": "primes", "params": {"limit": 1}}', 422, "invalid_params"),
        (b'{"type": "primes", "params": {"limit": "many"}}', 422, "invalid_params"),
        (b'{"type": "primes", "params": {"limmit": 5}}', 422, "invalid_params"),
        (b'{"type": "primes", "params": [1]}', 422, "invalid_params"),
    ],
)
def test_bad_submissions_get_json_errors(client, body, status, code):
    response = client.post("/api/jobs", data=body, content_type="application/json")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_invalid_params_name_the_field(client):
    response = client.post("/api/jobs", json={"type": "steps", "params": {"n": 0, "pause": "x"}})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"n", "pause"}
    assert "greater than or equal to 1" in fields["n"]


def test_missing_required_param_is_named(client):
    response = client.post("/api/jobs", json={"type": "every_type", "params": {}})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"count": "Field required"}


def test_nul_bytes_are_refused(client):
    response = client.post("/api/jobs", json={"type": "fail", "params": {"message": "a\u0000b"}})
    assert response.status_code == 422
    assert "NUL" in response.get_json()["error"]["fields"]["message"]


def test_other_content_types_are_415(client, api):
    token = api.csrf_token()
    response = client.post("/api/jobs", data="type=primes", content_type="text/plain", headers={"X-CSRFToken": token})
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]["message"]


def test_too_large_body_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/jobs", json={"type": "fail", "params": {"message": "x" * 5000}})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_a_job_is_invisible_to_other_owners(client, api, other_client):
    job_id = api.submit("primes", limit=100)
    assert client.get(f"/api/jobs/{job_id}").status_code == 200
    for method, path in [
        ("get", f"/api/jobs/{job_id}"),
        ("delete", f"/api/jobs/{job_id}"),
        ("post", f"/api/jobs/{job_id}/retry"),
    ]:
        response = getattr(other_client, method)(path, content_type="application/json")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert other_client.get("/api/jobs").get_json()["jobs"] == []


@pytest.mark.parametrize("job_id", ["nope", "../../etc/passwd", "a" * 10_000, "0" * 31 + "g"])
def test_odd_job_ids_are_404(client, job_id):
    response = client.get(f"/api/jobs/{job_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_list_is_newest_first_and_paginated(client, api):
    ids = [api.submit("primes", limit=100 + i) for i in range(5)]
    first = client.get("/api/jobs?per_page=2").get_json()
    assert first["total"] == 5
    assert [j["id"] for j in first["jobs"]] == ids[::-1][:2]
    third = client.get("/api/jobs?per_page=2&page=3").get_json()
    assert [j["id"] for j in third["jobs"]] == [ids[0]]


@pytest.mark.parametrize("query", ["page=0", "per_page=1000", "page=x"])
def test_bad_paging_is_400(client, query):
    assert client.get(f"/api/jobs?{query}").status_code == 400


def test_cancel_a_queued_job(client, api, redis):
    job_id = api.submit("primes", limit=100)  # no worker: it stays queued
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 202
    assert response.get_json()["status"] == "canceled"
    job = client.get(f"/api/jobs/{job_id}").get_json()
    assert job["status"] == "canceled"
    assert job["error"]["message"] == "The job was canceled before it ran."
    assert redis.llen(Queue("default", connection=redis).key) == 0


def test_cancel_twice_is_409(client, api):
    job_id = api.submit("primes", limit=100)
    client.delete(f"/api/jobs/{job_id}")
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 409
    assert "canceled" in response.get_json()["error"]["message"]


def test_stop_a_running_job(client, api, worker):
    job_id = api.submit("block", seconds=60)
    api.wait_status(job_id, "started")
    response = client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 202
    assert response.get_json()["status"] == "stopping"
    job = api.wait_status(job_id, "stopped", "failed", "finished")
    assert job["status"] == "stopped"
    assert job["error"]["message"] == "The job was stopped on request."


def test_a_failure_is_explained_in_words(api, worker):
    job_id = api.submit("fail", message="the file has no text column")
    job = api.wait_status(job_id, "failed", "finished")
    assert job["error"]["message"] == "the file has no text column"
    # The owner gets the exception's own line; the traceback, with the server's paths, is for operators.
    assert job["error"]["detail"] == "ValueError: the file has no text column"


def test_operators_see_a_failure_s_traceback(api, operator, worker):
    job_id = api.submit("fail", message="the file has no text column")
    api.wait_status(job_id, "failed", "finished")
    detail = operator.get(f"/api/jobs/{job_id}").get_json()["error"]["detail"]
    assert "Traceback" in detail and ".py" in detail


def test_retry_makes_a_new_job_with_the_same_params(client, api):
    job_id = api.submit("primes", limit=1234)
    response = client.post(f"/api/jobs/{job_id}/retry", json={})
    assert response.status_code == 202
    new_id = response.get_json()["id"]
    assert new_id != job_id
    assert client.get(f"/api/jobs/{new_id}").get_json()["params"] == {"limit": 1234}


def test_cookie_api_posts_need_json_or_a_csrf_token(client, api):
    job_id = api.submit("primes", limit=100)
    for content_type in ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]:
        response = client.post(f"/api/jobs/{job_id}/retry", data="", content_type=content_type)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "csrf_failed"
    response = client.post(f"/api/jobs/{job_id}/retry", headers={"X-CSRFToken": api.csrf_token()})
    assert response.status_code == 202


def test_the_session_cookie_is_signed_again_only_when_an_hour_old(app, client):
    made = client.post("/api/jobs", json={"type": "primes", "params": {"limit": 100}})
    assert "session=" in made.headers["Set-Cookie"]
    again = client.get("/api/jobs")
    assert "Set-Cookie" not in again.headers
    assert again.get_json()["total"] == 1
    with client.session_transaction() as session:
        owner = session["owner"]

    class AnHourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3700

    fresh = app.session_interface.get_signing_serializer(app)
    old = URLSafeTimedSerializer(
        app.secret_key,
        salt=fresh.salt,
        serializer=fresh.serializer,
        signer=AnHourAgo,
        signer_kwargs=fresh.signer_kwargs,
    ).dumps({"owner": owner, "_permanent": True})
    client.set_cookie("session", old)
    refreshed = client.get("/api/jobs")
    assert "session=" in refreshed.headers["Set-Cookie"]  # its 30 days start again
    assert refreshed.get_json()["total"] == 1


def test_openapi_describes_every_job_type(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert (
        spec["components"]["schemas"]["Submit_primes"]["properties"]["params"]["properties"]["limit"]["maximum"]
        == 10**10
    )
    assert set(spec["paths"]) >= {"/api/jobs", "/api/jobs/{job_id}", "/api/job-types", "/api/jobs/{job_id}/retry"}


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
