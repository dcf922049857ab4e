"""POST /api/jobs with an Idempotency-Key: a repeat gets the same job, never a second one."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests


def submit(client, key: str, **params):
    return client.post(
        "/api/jobs", json={"type": "steps", "params": params}, headers={"Idempotency-Key": key} if key else {}
    )


def test_the_same_key_and_body_get_the_same_job(client):
    first = submit(client, "order-1", n=3)
    again = submit(client, "order-1", n=3)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert client.get("/api/jobs").get_json()["total"] == 1


def test_a_repeat_after_the_job_ran_reports_its_status_now(client, api, worker):
    job_id = submit(client, "order-2", n=1).get_json()["id"]
    api.wait_status(job_id, "finished")
    again = submit(client, "order-2", n=1)
    assert again.get_json() == {**again.get_json(), "id": job_id, "status": "finished"}
    assert client.get("/api/jobs").get_json()["total"] == 1


def test_the_same_key_with_another_body_is_409(client):
    first = submit(client, "order-3", n=3)
    other = submit(client, "order-3", n=4)
    assert other.status_code == 409
    assert "different request" in other.get_json()["error"]["message"]
    assert client.get("/api/jobs").get_json()["total"] == 1
    assert submit(client, "order-3", n=3).get_json()["id"] == first.get_json()["id"]


def test_keys_belong_to_their_owner(client, other_client):
    mine = submit(client, "shared-key", n=1).get_json()["id"]
    theirs = submit(other_client, "shared-key", n=1).get_json()["id"]
    assert mine != theirs


def test_without_a_key_every_post_is_a_new_job(client):
    assert submit(client, None, n=1).get_json()["id"] != submit(client, None, n=1).get_json()["id"]


def test_an_invalid_request_does_not_use_up_the_key(client):
    assert submit(client, "order-4", n=0).status_code == 422
    assert submit(client, "order-4", n=2).status_code == 202


@pytest.mark.parametrize("key", ["x" * 201, "with space", "naïve"])
def test_a_malformed_key_is_400(client, key):
    response = client.post(
        "/api/jobs",
        json={"type": "steps", "params": {}},
        headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["message"]
    assert client.get("/api/jobs").get_json()["total"] == 0


def test_an_upload_is_part_of_what_the_key_stands_for(api):
    def upload(content: bytes):
        return api.submit_files("echo_file", {}, headers={"Idempotency-Key": "upload-1"}, data=("a.txt", content))

    first = upload(b"one\n")
    assert first.status_code == 202
    assert upload(b"one\n").get_json()["id"] == first.get_json()["id"]
    assert upload(b"two\n").status_code == 409


def test_racing_requests_with_one_key_make_one_job(live_server, redis):
    http = requests.Session()
    http.get(live_server.url + "/api/jobs")  # the owner cookie, before the race

    def post(_):
        response = http.post(
            f"{live_server.url}/api/jobs",
            json={"type": "steps", "params": {"n": 1}},
            headers={"Idempotency-Key": "race-1"},
            timeout=30,
        )
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(16)))
    assert {status for status, _ in answers} == {202}
    assert len({job_id for _, job_id in answers}) == 1
    assert http.get(f"{live_server.url}/api/jobs").json()["total"] == 1
    http.close()
