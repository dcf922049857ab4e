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
