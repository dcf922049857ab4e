"""Every kind of page Spool renders is valid HTML, by the W3C's own checker."""

import pytest

from tests import markup

pytestmark = pytest.mark.skipif(markup.missing() is not None, reason=str(markup.missing()))


@pytest.fixture
def finished_job(api, worker):
    job_id = api.submit("steps", n=2, pause=0)
    api.wait_status(job_id, "finished")
    return job_id


@pytest.mark.parametrize("path", ["/", "/jobs/new/every_type", "/jobs/{job}", "/jobs"])
def test_the_user_pages_are_valid_html(client, finished_job, path):
    response = client.get(path.format(job=finished_job))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert markup.errors(html) == [] and markup.unnamed(html) == []


@pytest.mark.parametrize("path", ["/ops/jobs", "/ops/schedule", "/ops/audit"])
def test_the_operator_pages_are_valid_html(operator, finished_job, path):
    response = operator.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert markup.errors(html) == [] and markup.unnamed(html) == []


def test_a_chart_an_error_row_a_reused_file_a_countdown_and_a_missing_worker_are_valid_html(client, api, worker):
    charted, parked = api.submit("charted"), api.submit("parked")
    later = client.post("/api/jobs", json={"type": "steps", "run_in": 3600}).get_json()["id"]
    upload = api.submit_files("echo_file", {}, data=("notes.txt", b"hello")).get_json()["id"]
    api.wait_status(charted, "finished")
    for path in (f"/jobs/{charted}", f"/jobs/{parked}", f"/jobs/{later}", f"/jobs/new/echo_file?from={upload}"):
        html = client.get(path).get_data(as_text=True)
        assert markup.errors(html) == [] and markup.unnamed(html) == [], path
