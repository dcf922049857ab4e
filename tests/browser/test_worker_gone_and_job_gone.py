"""The job page when what it shows goes away: the job's worker dies with nobody to take over,
or the job itself is deleted."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from rq import Queue

from tests.browser.pages import submit
from tests.environment import VAR
from tests.faults.conftest import FAST
from tests.helpers import wait_for


def test_the_page_says_when_the_worker_stopped_responding_and_what_happens_next(page, start_worker):
    marker_dir = Path(tempfile.mkdtemp(prefix="attempts-", dir=VAR))
    doomed = start_worker(env=FAST)
    job_id = submit(page, "attempts", marker_dir=str(marker_dir), block_first=60)
    wait_for(lambda: (marker_dir / "attempt-1").exists(), 30, "the first attempt to start")
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#status")).to_have_text("Running")
    expect(page.locator("#stalled")).to_be_hidden()
    doomed.stop(signal.SIGKILL)
    stalled = page.locator("#stalled")
    expect(stalled).to_have_text(
        "The worker running this job stopped responding. "
        "The job will run again from the start as soon as a worker is running.",
        timeout=30_000,
    )
    expect(page.locator("#eta")).to_have_text("")
    start_worker(env=FAST)
    expect(page.locator("#status")).to_have_text("Done", timeout=60_000)
    expect(stalled).to_be_hidden()


@pytest.mark.parametrize("fed_by", ["socket", "polling"])
def test_a_deleted_job_s_page_says_it_no_longer_exists_and_stops_waiting(new_context, redis, fed_by):
    context = new_context()
    if fed_by == "polling":
        context.add_init_script("window.WebSocket = undefined;")
    page = context.new_page()
    page.goto(f"/jobs/{submit(page, 'parked', n=1)}")
    expect(page.locator("#job")).to_have_attribute("data-connection", "live" if fed_by == "socket" else "poll")
    Queue("parked", connection=redis).empty()
    expect(page.locator("#gone")).to_have_text("This job no longer exists: it was deleted or has expired.")
    expect(page.locator("#live")).to_be_hidden()
    expect(page.locator("#cancel")).to_be_hidden()
