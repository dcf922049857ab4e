"""Uploads and result files travel through Redis: stored at submit, read by the job in a real
worker, attached to the result and downloaded by their owner only."""

from __future__ import annotations

import io

import pytest

from jobs.core import files, keys
from tests.job_fixtures import PNG_1X1


def test_uploaded_file_reaches_the_job_and_its_attachments_download(client, api, worker, redis):
    response = api.submit_files("echo_file", {"note": "hi"}, data=("notes.txt", b"first line\nsecond\n"))
    assert response.status_code == 202, response.get_json()
    snapshot = api.wait_status(response.get_json()["id"], "finished", "failed")
    assert snapshot["status"] == "finished", snapshot["error"]
    assert snapshot["result"] == {"name": "notes.txt", "size": 18, "first_line": "first line", "note": "hi"}
    listed = {f["name"]: f for f in snapshot["files"]}
    assert listed["copy.txt"]["size"] == 18
    assert listed["dot.png"]["content_type"] == "image/png"

    text = client.get(listed["copy.txt"]["url"])
    assert text.status_code == 200
    assert text.data == b"first line\nsecond\n"
    assert text.headers["Content-Disposition"].startswith("attachment;")
    png = client.get(listed["dot.png"]["url"])
    assert png.data == PNG_1X1
    assert png.mimetype == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline;")


def test_the_form_page_stores_files_the_same_way(client, api, worker):
    token = api.csrf_token()
    page = client.get("/jobs/new/echo_file").get_data(as_text=True)
    assert 'type="file"' in page and "MB" in page
    response = client.post(
        "/jobs/new/echo_file",
        data={"csrf_token": token, "note": "", "data": (io.BytesIO(b"from the form\n"), "form.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    snapshot = api.wait_status(job_id, "finished", "failed")
    assert snapshot["result"]["name"] == "form.txt"
    assert snapshot["result"]["first_line"] == "from the form"


def test_missing_required_upload_is_422_naming_it(api, redis):
    response = api.submit_files("echo_file", {"note": "x"})
    assert response.status_code == 422
    assert "data" in response.get_json()["error"]["fields"]
    assert not redis.keys(keys.upload_key("*"))


def test_an_upload_reference_cannot_be_passed_as_a_value(client, redis):
    ref = files.save_upload(redis, "secret.txt", "text/plain", b"someone else's", 60)
    response = client.post("/api/jobs", json={"type": "echo_file", "params": {"data": ref}})
    assert response.status_code == 422
    assert "multipart" in response.get_json()["error"]["fields"]["data"]


def test_upload_over_the_limit_is_413(api, redis, monkeypatch):
    monkeypatch.setattr(files, "max_bytes", lambda max_upload_mb=None: 1000)
    response = api.submit_files("echo_file", {}, data=("big.txt", b"x" * 1001))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert not redis.keys(keys.upload_key("*"))


def test_uploads_expire(api, redis, app):
    response = api.submit_files("echo_file", {}, data=("a.txt", b"a\n"))
    assert response.status_code == 202
    (key,) = redis.keys(keys.upload_key("*"))
    assert 0 < redis.ttl(key) <= app.config["RESULT_TTL"] + 24 * 3600


@pytest.fixture
def finished_with_files(api, worker):
    response = api.submit_files("echo_file", {}, data=("a.txt", b"a\n"))
    job_id = response.get_json()["id"]
    api.wait_status(job_id, "finished", "failed")
    return job_id


def test_files_are_404_for_another_owner(finished_with_files, client, other_client):
    url = f"/api/jobs/{finished_with_files}/files/copy.txt"
    assert client.get(url).status_code == 200
    assert other_client.get(url).status_code == 404


@pytest.mark.parametrize("name", ["nope.txt", "..%2F..%2Fetc%2Fpasswd", ".copy.txt", "copy.txt%00"])
def test_unknown_or_unsafe_file_names_are_404(finished_with_files, client, name):
    assert client.get(f"/api/jobs/{finished_with_files}/files/{name}").status_code == 404


def test_files_of_an_expired_job_are_404(finished_with_files, client, redis):
    url = f"/api/jobs/{finished_with_files}/files/copy.txt"
    assert redis.ttl(keys.files_key(finished_with_files)) > 0
    redis.delete(keys.job_key(finished_with_files))
    assert client.get(url).status_code == 404


def test_running_again_after_the_upload_expired_is_409_saying_to_upload_it_again(
    finished_with_files, client, api, redis
):
    redis.delete(*redis.keys(keys.upload_key("*")))
    response = client.post(f"/api/jobs/{finished_with_files}/retry", headers={"X-CSRFToken": api.csrf_token()})
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    assert "“Data” has expired" in message and "upload it again" in message
    page = client.get(f"/jobs/{finished_with_files}").get_data(as_text=True)
    assert 'id="retry"' not in page
    assert "has expired" in page
