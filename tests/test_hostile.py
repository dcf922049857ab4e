"""Hostile input on every endpoint gets the right 4xx with a clear message; nothing reaches a
worker's queue and nothing crashes."""

import json
import re

import pytest
from rq import Queue

from jobs.core import keys

JSON = "application/json"


def body(**fields) -> dict:
    return {"data": json.dumps(fields), "content_type": JSON}


def every_type(**params) -> dict:
    return body(type="every_type", params={"count": 1, **params})


SUBMISSIONS = {
    "malformed JSON": ({"data": '{"type": "steps",', "content_type": JSON}, 400, "not valid JSON"),
    "a JSON array": ({"data": "[]", "content_type": JSON}, 400, "must be a JSON object"),
    "a JSON string": ({"data": '"steps"', "content_type": JSON}, 400, "must be a JSON object"),
    "JSON null": ({"data": "null", "content_type": JSON}, 400, "must be a JSON object"),
    "not UTF-8": ({"data": b'{"type": "\xff\xfe"}', "content_type": JSON}, 400, "not valid JSON"),
    "nested too deeply": ({"data": "[" * 100_000 + "]" * 100_000, "content_type": JSON}, 400, "nested too deeply"),
    "NaN": ({"data": '{"type": "every_type", "params": {"count": 1, "ratio": NaN}}', "content_type": JSON}, 400, "NaN"),
    "Infinity": (
        {"data": '{"type": "every_type", "params": {"count": 1, "ratio": 1e999}}', "content_type": JSON},
        400,
        "too large",
    ),
    "a 5,000-digit number": (
        {"data": '{"type": "every_type", "params": {"count": ' + "9" * 5000 + "}}", "content_type": JSON},
        400,
        "not valid JSON",
    ),
    "plain text": ({"data": "steps", "content_type": "text/plain", "headers": {"X-CSRFToken": "?"}}, 415, "Send JSON"),
    "XML, with a token": ({"data": "<job/>", "content_type": "application/xml", "csrf": True}, 415, "Send JSON"),
    "no content type, with a token": ({"data": "{}", "csrf": True}, 415, "Send JSON"),
    "an unknown field": (body(type="steps", params={}, priority="high"), 400, "Unknown field(s) priority"),
    "an unknown parameter": (body(type="steps", params={"n": 1, "rm": "-rf"}), 422, "rm"),
    "params as a list": (body(type="steps", params=[1]), 422, "params"),
    "params as a string": (body(type="steps", params="n=1"), 422, "params"),
    "the type as a list": (body(type=["steps"], params={}), 404, "no job type"),
    "the type as a number": (body(type=7, params={}), 404, "no job type"),
    "no type": (body(params={}), 404, "no job type"),
    "a type with a NUL": (body(type="steps\x00", params={}), 404, "no job type"),
    "a 10 KB type": (body(type="x" * 10_240, params={}), 404, "no job type"),
    "a dotted function as the type": (body(type="os.system", params={}), 404, "no job type"),
    "a wrong type": (every_type(count="many"), 422, "count"),
    "a bool for an int": (body(type="steps", params={"n": [True]}), 422, "n"),
    "an int out of range": (body(type="steps", params={"n": 10**9}), 422, "n"),
    "a NUL in a string": (every_type(name="a\x00b"), 422, "NUL"),
    "a NUL in a list item": (every_type(lines=["ok", "b\x00d"]), 422, "NUL"),
    "a lone surrogate": (
        {"data": '{"type": "every_type", "params": {"count": 1, "name": "\\ud800"}}', "content_type": JSON},
        422,
        "surrogate",
    ),
    "a choice not offered": (every_type(colour="../../etc/passwd"), 422, "colour"),
    "an upload as a string": (every_type(data="/etc/passwd"), 422, "data"),
    "a bad Idempotency-Key": (
        {**body(type="steps", params={}), "headers": {"Idempotency-Key": "a b"}},
        400,
        "Idempotency-Key",
    ),
    "bad multipart params": (
        {"data": {"type": "steps", "params": "{nope"}, "content_type": "multipart/form-data", "csrf": True},
        400,
        "params",
    ),
    "NaN in multipart params": (
        {
            "data": {"type": "every_type", "params": '{"count": NaN}'},
            "content_type": "multipart/form-data",
            "csrf": True,
        },
        400,
        "NaN",
    ),
}


@pytest.mark.parametrize("case", list(SUBMISSIONS), ids=list(SUBMISSIONS))
def test_a_hostile_submission_is_refused_and_nothing_is_queued(client, api, redis, case):
    request, status, words = SUBMISSIONS[case]
    request = dict(request)
    headers = request.pop("headers", {})
    if request.pop("csrf", False):
        headers["X-CSRFToken"] = api.csrf_token()
    response = client.post("/api/jobs", headers=headers, **request)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert words in error["message"] or words in json.dumps(error.get("fields", {}))
    assert not redis.keys(keys.job_key("*")) and not redis.keys(Queue.redis_queue_namespace_prefix + "*")


def test_odd_but_valid_unicode_is_kept_as_it_was_sent(client, api):
    name = "\u202eevil\u202c \ufeff\U0001f600 ‮ Ωmega \u0301"
    job_id = api.submit("every_type", count=1, name=name)
    assert client.get(f"/api/jobs/{job_id}").get_json()["params"]["name"] == name
    assert client.get(f"/jobs/{job_id}").status_code == 200


LONG = "a" * 10_240
# The request line and the status it gets.
PATHS = {
    "a 10 KB job id": f"GET /api/jobs/{LONG} 404",
    "a 10 KB job id, deleted": f"DELETE /api/jobs/{LONG} 404",
    "a 10 KB job id, retried": f"POST /api/jobs/{LONG}/retry 404",
    "a 10 KB job id, its files": f"GET /api/jobs/{LONG}/files/x.csv 404",
    "a 10 KB job id, its page": f"GET /jobs/{LONG} 404",
    "a 10 KB job id, its socket, not upgraded": f"GET /ws/jobs/{LONG} 400",
    "an id with ../": "GET /api/jobs/..%2F..%2Fetc%2Fpasswd 404",
    "an id of dots": "GET /api/jobs/.. 404",
    "an id with a NUL": "GET /api/jobs/%00 404",
    "an id with a NUL, its page": "GET /jobs/a%00b 404",
    "a file name with ../": "GET /api/jobs/abc/files/..%2F..%2Fsecret 404",
    "a file name with a NUL": "GET /api/jobs/abc/files/a%00b 404",
    "a form for a type with a NUL": "GET /jobs/new/steps%00 404",
    "a form for a 10 KB type": f"GET /jobs/new/{LONG} 404",
    "page not a number": "GET /api/jobs?page=two 400",
    "page zero": "GET /api/jobs?page=0 400",
    "page past 64 bits": "GET /api/jobs?page=99999999999999999999999 400",
    "per_page too large": "GET /api/jobs?per_page=1000000 400",
    "a method not allowed": "PUT /api/jobs 405",
}


@pytest.mark.parametrize("case", list(PATHS), ids=list(PATHS))
def test_a_hostile_path_or_query_is_a_clear_4xx(client, case):
    method, path, status = PATHS[case].split()
    response = client.open(path, method=method, headers={"Content-Type": JSON})
    assert response.status_code == int(status)
    if path.startswith(("/api/", "/ws/")):
        assert response.get_json()["error"]["message"]
    else:
        assert "<html" in response.get_data(as_text=True)


def test_a_page_past_64_bits_of_the_job_list_is_an_empty_page(client):
    response = client.get("/jobs?page=99999999999999999999999")
    assert response.status_code == 200


def test_a_form_post_with_a_nul_is_refused_and_nothing_is_queued(client, api, redis):
    response = client.post(
        "/jobs/new/every_type", data={"csrf_token": api.csrf_token(), "count": "1", "name": "a\x00b"}
    )
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    assert not redis.keys(keys.job_key("*"))


def test_the_schema_of_every_text_parameter_excludes_the_nul_the_api_refuses(client):
    checked = 0
    for job_type in client.get("/api/job-types").get_json():
        for name, prop in job_type["params"]["properties"].items():
            for schema in (prop, prop.get("items", {})):
                if schema.get("type") != "string" or {"enum", "format"} & schema.keys():
                    continue
                assert re.search(schema["pattern"], "plain text, café ✓"), (job_type["name"], name)
                assert not re.search(schema["pattern"], "a\x00b"), (job_type["name"], name)
                checked += 1
    assert checked > 5


def test_a_chunked_body_over_the_limit_is_413_not_a_json_error(live_server):
    import requests

    def chunks():  # no Content-Length: the server learns the size only by reading
        yield b'{"type": "steps", "params": {"n": 1}, "pad": "'
        for _ in range(60):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = requests.post(f"{live_server.url}/api/jobs", data=chunks(), headers={"Content-Type": JSON}, timeout=60)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "too_large"


def test_a_multipart_submit_without_a_type_is_400_naming_the_field(client, api, redis):
    response = client.post(
        "/api/jobs",
        data={"params": "{}"},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": api.csrf_token()},
    )
    assert response.status_code == 400
    assert "'type' field" in response.get_json()["error"]["message"]
    assert not redis.keys(keys.job_key("*"))


def test_bidi_controls_in_a_parameter_are_shown_not_obeyed(client, api):
    job_id = api.submit("every_type", count=1, name="report\u202eexe.txt")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "\u202e" not in html
    assert "report⟨U+202E⟩exe.txt" in html
