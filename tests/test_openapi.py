"""The API against its own OpenAPI description, with Schemathesis: whatever it is sent, it
answers no 5xx, and every answer matches the documented status codes and schemas."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from webapp import tokens

OPERATIONS = [
    ("GET", "/api/job-types"),
    ("POST", "/api/jobs"),
    ("GET", "/api/jobs"),
    ("GET", "/api/jobs/{job_id}"),
    ("DELETE", "/api/jobs/{job_id}"),
    ("POST", "/api/jobs/{job_id}/retry"),
    ("GET", "/api/jobs/{job_id}/files/{name}"),
    ("GET", "/api/ops/audit"),
]


def test_every_operation_is_checked(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    documented = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert documented == set(OPERATIONS)


def _starts_later(body) -> bool:
    return isinstance(body, dict) and bool({"run_at", "run_in"} & set(body))


@pytest.fixture
def token(app):
    """Call as an API client does, with a bearer token (cookie calls also need a CSRF header).

    Its owner is exempt from quotas: a run makes more jobs than one person may have waiting.
    """
    app.config["QUOTA_EXEMPT_OWNERS"] = ["token:contract"]
    with app.app_context():
        return tokens.create("contract")


@pytest.fixture
def observer_token(app):
    """An operator token, for the operators' calls."""
    with app.app_context():
        return tokens.create("contract-observer", tokens.OBSERVER)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_keeps_its_contract(app, token, observer_token, method, path):
    if path.startswith("/api/ops/"):
        token = observer_token
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method]
    # A start time is refused when it is past, which no schema can say: leave those cases out
    # rather than the check that every schema-valid request is accepted.
    cases = operation.as_strategy().filter(lambda case: not _starts_later(case.body))

    @given(case=cases)
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        # A multipart submit carries its params as a JSON string, whose shape per job type no
        # schema of a form field can state; such a case proves nothing about acceptance, and
        # every other check still holds for it.
        excluded = [positive_data_acceptance] if case.media_type == "multipart/form-data" else []
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)

    check()


RESPONSE_CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


def conforms(app, method: str, path: str, response, **parameters) -> None:
    """Check a real answer against what the description documents for that operation."""
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method]
    operation.Case(**parameters).validate_response(response, checks=RESPONSE_CHECKS)


def test_every_operation_has_its_own_operation_id(client):
    spec = client.get("/api/openapi.json").get_json()
    ids = [op.get("operationId") for path in spec["paths"].values() for op in path.values()]
    assert None not in ids and len(set(ids)) == len(ids) == len(OPERATIONS)


def test_an_unknown_status_filter_is_refused_naming_the_field(app, client):
    response = client.get("/api/jobs?status=bogus")
    assert response.status_code == 400 and "status" in response.get_json()["error"]["fields"]
    conforms(app, "GET", "/api/jobs", response, query={"status": "bogus"})


def test_a_cookie_submit_of_an_unsupported_type_is_415_not_a_csrf_refusal(app, api, client):
    api.csrf_token()  # the client now has its cookie, as a browser would
    response = client.post("/api/jobs", data="type=primes", content_type="text/plain")
    assert response.status_code == 415
    conforms(app, "POST", "/api/jobs", response)
    forged = client.post("/api/jobs", data={"type": "steps"}, content_type="multipart/form-data")
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf_failed"


def test_a_cookie_retry_without_the_csrf_header_is_a_documented_400(app, api, client):
    job_id = api.submit("steps", n=1)
    response = client.post(f"/api/jobs/{job_id}/retry")
    assert response.status_code == 400
    conforms(app, "POST", "/api/jobs/{job_id}/retry", response, path_parameters={"job_id": job_id})


def test_result_files_are_served_with_a_documented_type(app, api, client, worker):
    job_id = api.submit_files("echo_file", {}, data=("rows.csv", b"a,b\n1,2\n")).get_json()["id"]
    for file in api.wait_status(job_id, "finished")["files"]:
        response = client.get(file["url"])
        assert response.status_code == 200
        parameters = {"job_id": job_id, "name": file["name"]}
        conforms(app, "GET", "/api/jobs/{job_id}/files/{name}", response, path_parameters=parameters)
