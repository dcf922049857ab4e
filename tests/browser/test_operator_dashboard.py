"""rq-dashboard in a real browser: sign-in, a Spool job shown with its HTML inert, requeue."""

from __future__ import annotations

import pytest

from tests.clients import OPERATOR_PASSWORD
from tests.helpers import wait_for

PAYLOAD = '<img src=x onerror="window.pwned=1">'


@pytest.fixture
def operator_server(start_web):
    return start_web({"OPERATOR_PASSWORD": OPERATOR_PASSWORD})


def test_the_dashboard_shows_a_failed_job_inert_and_requeues_it(chromium, operator_server, worker):
    user = chromium.new_context(base_url=operator_server.url)
    operator = chromium.new_context(base_url=operator_server.url)
    try:
        response = user.request.post("/api/jobs", data={"type": "fail", "params": {"message": PAYLOAD}})
        job_id = response.json()["id"]

        def job() -> dict:
            return user.request.get(f"/api/jobs/{job_id}").json()

        failed = wait_for(lambda: (j := job())["status"] == "failed" and j, 30, "the failure")

        page = operator.new_page()
        page.set_default_timeout(20_000)
        blocked = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto("/rq/")
        assert "/ops/login" in page.url
        page.fill("#password", OPERATOR_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/rq/")

        page.goto(f"/rq/0/view/job/{job_id}")
        page.wait_for_selector("#job-data pre.exc_info")
        assert PAYLOAD in page.inner_text("#job-data")  # shown as text
        assert page.locator("#job-data img").count() == 0
        assert page.evaluate("window.pwned") is None
        assert blocked == []  # the dashboard's own scripts all ran

        page.click("#requeue-job-btn")
        # The requeued job runs and fails again within milliseconds, so its status may be "failed"
        # at every look: its start time, which a requeue clears and a new run sets, tells.
        wait_for(lambda: job()["started_at"] != failed["started_at"], 30, "the requeue")
    finally:
        user.close()
        operator.close()
