"""What a reader sees at a glance: a broken link's reason in view, an upload by name and used
again, a scheduled start in their own time counting down, an estimate said as one, no worker."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.pages import submit
from tests.helpers import free_port

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}
# Where an element sits, to check that it is on the screen and not cut off at its right.
BOX = "(e) => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.width, window.innerWidth]; }"
FLAG = "(e) => getComputedStyle(e, '::before').content"


@pytest.mark.parametrize("size", list(SIZES))
def test_a_broken_link_is_flagged_in_words_with_its_error_in_view(new_context, live_server, worker, size):
    page = new_context(viewport=SIZES[size], is_mobile=size == "phone").new_page()
    ok, gone = f"{live_server.url}/healthz", f"http://127.0.0.1:{free_port()}/gone"
    page.goto(f"/jobs/{submit(page, 'check_links', urls=[ok, gone])}")
    expect(page.locator("#status")).to_have_text("Done")
    broken = page.locator("#result-table tbody tr.problem")
    expect(broken).to_have_count(1)
    expect(page.locator("#result-table tbody tr:not(.problem)")).to_have_count(1)
    assert "error" in broken.locator("td").first.evaluate(FLAG)  # a word, not colour alone
    for label in ("url", "status", "error"):
        cell = broken.locator(f'td[data-label="{label}"]')
        if label != "status":  # a refused connection has no status; its cell may fold away
            expect(cell).to_be_visible()
            left, right, width, screen = cell.evaluate(BOX)
            assert width > 0 and 0 <= left and right <= screen, (label, left, right, screen)
    expect(broken.locator('td[data-label="error"]')).to_contain_text("connection refused")
    if size == "phone":  # stacked: each value under its column's name
        assert "status" in page.locator('#result-table tbody tr:not(.problem) td[data-label="status"]').evaluate(FLAG)
    assert page.locator("html").evaluate("(e) => e.scrollWidth <= e.clientWidth")


def test_an_upload_is_named_on_its_page_and_offered_again_by_change_values(page, worker):
    page.goto("/jobs/new/echo_file")
    page.set_input_files("#f-data", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello\nworld"}])
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("dd.upload")).to_have_text("notes.txt")
    expect(page.locator("#retry-with")).to_have_text("with notes.txt")
    page.click("#edit")
    reuse = page.get_by_label("Using notes.txt from the previous run")
    expect(reuse).to_be_checked()  # said before submitting, not after
    page.fill("#f-note", "again")
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("dd.upload")).to_have_text("notes.txt")
    expect(page.locator("#result-fields div", has_text="First line").locator("dd")).to_have_text("hello")


def test_a_start_time_is_asked_and_shown_in_the_readers_zone_and_counts_down(new_context, live_server, redis):
    page = new_context(timezone_id="Asia/Tokyo", locale="en-GB").new_page()
    start = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(hours=2)).replace(second=0, microsecond=0)
    page.goto("/jobs/new/steps")
    page.click("summary:has-text('Start later')")
    expect(page.locator("label[for=run_at]")).to_have_text("Start at")
    page.fill("#run_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text(re.compile("Scheduled"))
    job = page.request.get(page.url.replace("/jobs/", "/api/jobs/")).json()
    assert datetime.fromisoformat(job["scheduled_for"]) == start.astimezone(UTC)  # kept in UTC
    expect(page.locator("#starts time")).to_contain_text(start.strftime("%H:%M"))  # shown in Tokyo time
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^\(in (1 h 59 min|2 h 00 min)\)$"))
    expect(page.locator("#elapsed")).to_have_text("")  # no "waiting for 0 s" beside it


def test_a_waiting_job_says_no_worker_serves_it_and_a_running_one_says_about_how_long(page, worker):
    page.goto(f"/jobs/{submit(page, 'parked')}")
    expect(page.locator("#line")).to_have_text(re.compile("^Next in line"))
    expect(page.locator("#no-worker")).to_have_text(re.compile("^No worker is taking this kind of job"))
    page.goto(f"/jobs/{submit(page, 'steps', n=40, pause=0.25)}")
    expect(page.locator("#eta")).to_have_text(re.compile(r"^· about \d+ s left$"))
    expect(page.locator("#no-worker")).to_be_hidden()
