"""What the forms and the job page say: labels and help from the signature, the uploaded file
by name and offered again, a chart's title, axes and legend, a row with an error, no worker."""

import io
import json
import re

import pytest

from jobs.builtin import links, primes, texts
from jobs.core import catalogue

BUILT_IN = [jt for jt in catalogue.public().values() if jt.func.__module__.startswith("jobs.builtin")]


def test_the_built_in_job_types_are_all_checked():
    assert {jt.func for jt in BUILT_IN} >= {
        primes.count_primes,
        links.check_links,
        texts.semantic_search,
        texts.cluster_texts,
    }


@pytest.mark.parametrize("job_type", BUILT_IN, ids=lambda jt: jt.name)
def test_every_built_in_parameter_has_a_label_and_a_help_line_on_its_form_and_in_the_api(client, job_type):
    properties = job_type.schema["properties"]
    html = client.get(f"/jobs/new/{job_type.name}").get_data(as_text=True)
    spec = client.get("/api/openapi.json").get_json()
    described = client.get("/api/job-types").get_json()
    (listed,) = [t for t in described if t["name"] == job_type.name]
    for name, prop in properties.items():
        # A label of its own (Field(title=...)), not the name made into words ("Timeout s", "Top k").
        assert job_type.model.model_fields[name].title == prop["title"], name
        assert prop.get("description"), name
        assert re.search(rf'<label for="f-{name}">{re.escape(prop["title"])}', html), name
        assert f'id="f-{name}-help">{prop["description"]}' in html.replace("&#39;", "'"), name
        assert listed["params"]["properties"][name]["description"] == prop["description"]
    # The OpenAPI description carries them too (JSON bodies, and multipart ones for file types).
    spec_text = json.dumps(spec)
    assert all(json.dumps(p["description"])[1:-1] in spec_text for p in properties.values())


def _job_id(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def test_the_job_page_names_the_upload_and_its_labels_and_change_values_offers_the_same_file(client, api):
    token = api.csrf_token()
    sent = {"data": (io.BytesIO(b"hello"), "notes.txt"), "note": "first", "csrf_token": token}
    first = _job_id(client.post("/jobs/new/echo_file", data=sent, content_type="multipart/form-data"))
    page = client.get(f"/jobs/{first}").get_data(as_text=True)
    assert '<dd class="upload">notes.txt</dd>' in page and "an uploaded file" not in page
    assert 'id="retry-with">with notes.txt</span>' in page

    form = client.get(f"/jobs/new/echo_file?from={first}").get_data(as_text=True)
    assert re.search(r"Using <strong>notes.txt</strong> from the previous run", form)
    assert f'name="reuse_from" value="{first}"' in form
    assert re.search(r'name="reuse_data" id="f-data-reuse" value="on"\s+checked', form)
    assert not re.search(r'<input type="file" id="f-data" name="data"[^>]*required', form)

    again = {"note": "second", "reuse_from": first, "reuse_data": "on", "csrf_token": token}
    second = _job_id(client.post("/jobs/new/echo_file", data=again, content_type="multipart/form-data"))
    assert api.job(second)["params"]["data"] == api.job(first)["params"]["data"]
    assert '<dd class="upload">notes.txt</dd>' in client.get(f"/jobs/{second}").get_data(as_text=True)

    # Unticked, with no new file: the form asks for one, and still offers the old one.
    refused = client.post("/jobs/new/echo_file", data={**again, "reuse_data": ""}, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "choose a file to upload" in refused.get_data(as_text=True)


def test_another_owners_upload_cannot_be_reused(client, api, other_client):
    token = api.csrf_token()
    sent = {"data": (io.BytesIO(b"secret"), "theirs.txt"), "csrf_token": token}
    theirs = _job_id(client.post("/jobs/new/echo_file", data=sent, content_type="multipart/form-data"))
    from tests.clients import csrf_token

    stolen = {"reuse_from": theirs, "reuse_data": "on", "csrf_token": csrf_token(other_client)}
    assert other_client.post("/jobs/new/echo_file", data=stolen).status_code == 404


def test_the_start_time_is_asked_in_the_readers_own_zone(client):
    html = client.get("/jobs/new/steps").get_data(as_text=True)
    assert "(UTC)" not in html
    assert '<label for="run_at">Start at</label>' in html and "In your own time zone." in html


def test_a_described_chart_has_its_title_axes_legend_and_alt_text_and_error_rows_are_marked(client, api, worker):
    job_id = api.submit("charted")
    api.wait_status(job_id, "finished")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<figcaption class="chart-title">One dot</figcaption>' in html
    assert 'alt="1 point in 1 cluster"' in html
    assert ">Up →<" in html and ">Across →<" in html
    assert '<span class="swatch" style="background: #1f77b4"></span>1: dot' in html
    rows = re.findall(r"<tr( class=\"problem\")?><td data-label=\"url\">([^<]+)<", html)
    assert rows == [("", "http://a.example/"), (' class="problem"', "http://b.example/")]


def test_a_waiting_job_with_no_worker_for_its_queue_says_so(client, api):
    job_id = api.submit("parked")
    snapshot = api.job(job_id)
    assert snapshot["workers"] == 0 and snapshot["queue_position"] == 1
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert re.search(r'<p id="no-worker" class="stalled" role="status" >No worker is taking', html)
