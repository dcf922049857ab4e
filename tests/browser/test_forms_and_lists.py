"""Forms and "My jobs" in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import submit


def test_form_errors_show_next_to_their_fields_with_values_kept(page, live_server):
    page.goto("/jobs/new/steps")
    expect(page.locator("label[for=f-n]")).to_have_text(re.compile(r"^N\b"))
    expect(page.locator("#f-n")).to_have_value("5")  # the default
    page.fill("#f-n", "0")
    page.fill("#f-pause", "0.5")
    page.click("button[type=submit]")
    expect(page.locator(".field.invalid")).to_have_count(1)
    expect(page.locator(".field.invalid .error")).to_contain_text("greater than or equal to 1")
    expect(page.locator(".field.invalid #f-n")).to_have_value("0")
    expect(page.locator("#f-n")).to_be_focused()
    expect(page.locator("#f-n")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-n")).to_have_attribute("aria-describedby", "f-n-error")
    expect(page.locator("#f-pause")).to_have_value("0.5")


def test_change_values_opens_the_form_filled_with_the_old_ones(page, worker):
    page.goto(f"/jobs/{submit(page, 'steps', n=7)}")
    expect(page.locator("#status")).to_have_text("Done")
    page.click("#edit")
    expect(page.locator("#f-n")).to_have_value("7")
    page.fill("#f-n", "8")
    page.click("button[type=submit]")
    expect(page.locator("#result-fields dd")).to_have_text(["8"])


def test_my_jobs_update_live_and_filter_by_status_and_type(page, worker):
    failed = submit(page, "fail")
    running = submit(page, "block", seconds=60)
    page.goto("/jobs")
    row = page.locator(f'tr[data-job-id="{running}"]')
    expect(row.locator(".badge")).to_have_text("Running")
    assert page.request.delete(f"/api/jobs/{running}").status == 202
    expect(row.locator(".badge")).to_have_text("Stopped")  # without reloading

    # Each choice reloads the list: wait for that page to load (its script listening) before the next.
    with page.expect_navigation():
        page.select_option("select[name=status]", "failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("#jobs-list tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-job-id="{failed}"]')).to_be_visible()

    with page.expect_navigation():
        page.select_option("select[name=status]", "")
    expect(page.locator("#jobs-list tbody tr")).to_have_count(2)
    page.select_option("select[name=type]", "block")
    expect(page).to_have_url(re.compile(r"type=block"))
    expect(page.locator("#jobs-list tbody tr")).to_have_count(1)
    expect(row).to_be_visible()


def test_times_show_in_the_readers_own_zone(new_context, live_server):
    page = new_context(timezone_id="Asia/Tokyo", locale="en-GB").new_page()
    submit(page, "steps", n=1)
    page.goto("/jobs")
    submitted = page.locator("#jobs-list time").first
    utc = submitted.get_attribute("title")
    assert utc.endswith(" UTC")
    hour = (int(utc[11:13]) + 9) % 24  # Tokyo is UTC+9 all year
    expect(submitted).to_contain_text(f"{hour:02d}:{utc[14:16]}")


def test_without_javascript_a_form_posts_and_the_job_page_reloads_until_done(new_context, worker):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/jobs/new/steps")
    page.fill("#f-n", "3")
    page.fill("#f-pause", "0.2")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("#result-fields dd")).to_have_text(["3"])
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100")


def test_my_jobs_fit_a_phone_and_show_what_tells_jobs_apart(new_context, worker):
    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    submit(page, "steps", n=7)
    submit(page, "fail", message="a sentence long enough to wrap on a narrow screen, and then some more")
    page.goto("/jobs")
    expect(page.locator("#jobs-list .job-keys").last).to_contain_text("n: 7")
    expect(page.locator("#jobs-list .job-keys").first).to_contain_text("message: a sentence long")
    assert page.locator(".table-wrap").count() == 0  # no box of its own to scroll
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.fill("input[name=q]", "sentence")
    page.click("button[type=submit]")
    expect(page.locator("#jobs-list tbody tr")).to_have_count(1)
