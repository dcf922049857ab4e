"""The HTML pages, through Flask's client on a real Redis."""

import re


def test_catalogue_lists_job_types(client):
    html = client.get("/").get_data(as_text=True)
    assert "Count primes" in html
    assert 'href="/jobs/new/primes"' in html


def test_form_is_built_from_the_signature_with_defaults(client):
    html = client.get("/jobs/new/every_type").get_data(as_text=True)
    assert re.search(r'<input type="number" id="f-count" name="count"[^>]*required', html)
    assert 'name="ratio" value="0.5"' in html
    assert '<input type="checkbox" id="f-loud" name="loud"' in html
    assert '<option value="red" selected>red</option>' in html
    assert '<textarea id="f-lines" name="lines"' in html
    assert '<input type="file" id="f-data" name="data"' in html
    assert 'enctype="multipart/form-data"' in html


def test_submitting_a_form_redirects_to_the_job_page(client, api):
    token = api.csrf_token()
    response = client.post("/jobs/new/primes", data={"limit": "1000", "csrf_token": token})
    assert response.status_code == 303
    job_page = response.headers["Location"]
    assert re.fullmatch(r"/jobs/[A-Za-z0-9_-]+", job_page)
    html = client.get(job_page).get_data(as_text=True)
    assert 'role="progressbar"' in html
    assert "Count primes" in html and "queued" in html


def test_a_form_without_csrf_token_is_refused(client):
    response = client.post("/jobs/new/primes", data={"limit": "1000"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_form_errors_show_next_to_fields_with_values_kept(client, api):
    token = api.csrf_token()
    response = client.post("/jobs/new/steps", data={"n": "0", "pause": "soon", "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "greater than or equal to 1" in html
    assert 'value="soon"' in html


def test_list_form_fields_take_one_item_per_line(client, api, redis):
    token = api.csrf_token()
    response = client.post(
        "/jobs/new/every_type", data={"count": "2", "lines": "a\n\n b \nc", "loud": "on", "csrf_token": token}
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    params = client.get(f"/api/jobs/{job_id}").get_json()["params"]
    assert params["lines"] == ["a", "b", "c"] and params["loud"] is True and params["count"] == 2


def test_someone_elses_job_page_is_a_404_page(api, other_client):
    job_id = api.submit("primes", limit=100)
    response = other_client.get(f"/jobs/{job_id}")
    assert response.status_code == 404
    assert "text/html" in response.content_type
    assert "not yours" in response.get_data(as_text=True)


def test_unknown_job_type_page_is_404(client):
    assert client.get("/jobs/new/nope").status_code == 404


def test_my_jobs_lists_only_mine(client, api, other_api):
    mine = api.submit("primes", limit=100)
    theirs = other_api.submit("primes", limit=200)
    html = client.get("/jobs").get_data(as_text=True)
    assert f"/jobs/{mine}" in html and f"/jobs/{theirs}" not in html


def test_cancel_button_cancels_a_queued_job(client, api):
    job_id = api.submit("primes", limit=100)
    response = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": api.csrf_token()})
    assert response.status_code == 303
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "canceled"


def test_my_jobs_pages_newest_first_and_filters_server_side(client, api):
    ids = [api.submit("steps", n=1) for _ in range(21)]
    first = client.get("/jobs").get_data(as_text=True)
    assert first.index(f"/jobs/{ids[-1]}") < first.index(f"/jobs/{ids[-2]}")
    assert f"/jobs/{ids[0]}" not in first and 'href="/jobs?page=2"' in first
    assert f"/jobs/{ids[0]}" in client.get("/jobs?page=2").get_data(as_text=True)
    filtered = client.get("/jobs?status=finished").get_data(as_text=True)
    assert "No jobs match these filters" in filtered
    assert 'http-equiv="refresh"' in first and 'http-equiv="refresh"' not in filtered  # only while jobs run
    assert client.get("/api/jobs?status=queued&type=steps&per_page=100").get_json()["total"] == 21
    assert client.get("/api/jobs?type=primes").get_json()["total"] == 0


def test_a_form_can_start_from_an_earlier_jobs_values_but_only_the_owners(client, api, other_client):
    job_id = api.submit("steps", n=7, pause=0.25)
    html = client.get(f"/jobs/new/steps?from={job_id}").get_data(as_text=True)
    assert 'name="n" value="7"' in html and 'name="pause" value="0.25"' in html
    assert other_client.get(f"/jobs/new/steps?from={job_id}").status_code == 404


def test_the_catalogue_lists_my_latest_jobs_once_i_have_some(client, api):
    assert "Your latest jobs" not in client.get("/").get_data(as_text=True)
    ids = [api.submit("steps", n=1) for _ in range(4)]
    html = client.get("/").get_data(as_text=True)
    assert "Your latest jobs" in html
    assert all(f"/jobs/{i}" in html for i in ids[1:]) and f"/jobs/{ids[0]}" not in html


def test_every_page_names_an_icon_that_is_served(client):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
