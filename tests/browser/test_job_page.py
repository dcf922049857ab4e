"""The job page in a real browser: live progress, results, failures, cancel, polling."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import submit

# Record every value the progress bar, the status and the elapsed time take, however briefly.
WATCH = """
(() => {
  window.seen = {bar: [], status: [], elapsed: []};
  const watch = (id, read, options) => {
    const element = document.getElementById(id);
    new MutationObserver(() => window.seen[id].push(read(element))).observe(element, options);
  };
  const text = {childList: true, characterData: true, subtree: true};
  watch("bar", (e) => Number(e.getAttribute("aria-valuenow")), {attributes: true, attributeFilter: ["aria-valuenow"]});
  watch("status", (e) => e.textContent, text);
  watch("elapsed", (e) => e.textContent, text);
})();
"""


def test_a_submitted_form_shows_the_bar_reach_100_and_the_result(page, start_worker):
    page.goto("/jobs/new/steps")
    page.fill("#f-n", "5")
    page.fill("#f-pause", "0.4")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
    expect(page.locator("#status")).to_have_text("Waiting")  # no worker yet
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    page.evaluate(WATCH)
    start_worker()  # only now: the page sees the whole run, however long it took to load
    expect(page.locator("#status")).to_have_text("Done")
    seen = page.evaluate("window.seen")
    assert "Running" in seen["status"], seen["status"]
    assert any(text.startswith("running for") for text in seen["elapsed"]), seen["elapsed"]
    expect(page.get_by_role("progressbar", name="Progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#percent")).to_have_text("100%")
    expect(page.locator("#result-fields dd")).to_have_text(["5"])
    expect(page.locator("#log")).to_contain_text("did step 5")
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#retry")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Done · Steps"))
    assert page.evaluate("window.loadedOnce") is True
    assert [v for v in seen["bar"] if 0 < v < 100], "the bar never moved between 0 and 100"


def test_a_result_table_sorts_by_a_column(page, worker):
    page.goto(f"/jobs/{submit(page, 'table')}")
    counts = page.locator("#result-table tbody td:nth-child(2)")
    expect(counts).to_have_text(["10", "9", "100"])
    page.click("#result-table th:nth-child(2) button")
    expect(counts).to_have_text(["9", "10", "100"])  # as numbers, not as text
    page.click("#result-table th:nth-child(2) button")
    expect(counts).to_have_text(["100", "10", "9"])
    expect(page.locator("#result-table th:nth-child(2)")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#result-fields dd")).to_have_text(["three rows"])


def test_a_running_job_can_be_canceled(page, worker):
    page.goto(f"/jobs/{submit(page, 'block', seconds=60)}")
    expect(page.locator("#status")).to_have_text("Running")
    expect(page.locator("#cancel")).to_have_text("Stop")  # a running job is stopped, not canceled
    page.click("#cancel")
    # "Stopping…" shows only until the horse is gone, which a pre-forked horse can be at once.
    expect(page.locator("#status")).to_have_text("Stopped")
    expect(page.locator("#error-message")).to_have_text("The job was stopped on request.")
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#retry")).to_be_visible()


def test_a_waiting_job_can_be_canceled_before_it_runs(page, redis):
    page.goto(f"/jobs/{submit(page, 'steps', n=1)}")  # no worker: it waits
    expect(page.locator("#status")).to_have_text("Waiting")
    expect(page.locator("#elapsed")).to_contain_text("waiting for")
    expect(page.locator("#cancel")).to_have_text("Cancel")
    page.click("#cancel")
    expect(page.locator("#status")).to_have_text("Canceled")
    expect(page.locator("#error-message")).to_have_text("The job was canceled before it ran.")
    expect(page.locator("#retry")).to_be_visible()


def test_a_failure_is_explained_with_the_detail_folded_away(page, worker):
    page.goto(f"/jobs/{submit(page, 'fail', message='the file has no header row')}")
    expect(page.locator("#status")).to_have_text("Failed")
    expect(page.locator("#error-message")).to_have_text("the file has no header row")
    expect(page.locator("#error-detail")).to_be_hidden()
    page.click("#error summary")
    expect(page.locator("#error-detail")).to_contain_text("ValueError")


def test_polling_carries_the_page_when_websockets_are_blocked(new_context, start_worker):
    context = new_context()
    context.add_init_script("window.WebSocket = undefined;")
    page = context.new_page()
    page.goto(f"/jobs/{submit(page, 'steps', n=3, pause=0.3)}")
    expect(page.locator("#live")).to_contain_text("checking every few seconds")
    start_worker()  # only now: a page that loads on a job already over has nothing to poll
    expect(page.locator("#status")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#result-json")).to_contain_text('"steps": 3')  # folded away, still there
    expect(page.locator("#live")).to_be_hidden()


def test_someone_elses_job_is_a_404_page(new_context, worker):
    mine = new_context().new_page()
    job_id = submit(mine, "steps", n=1)
    theirs = new_context().new_page()
    response = theirs.goto(f"/jobs/{job_id}")
    assert response.status == 404
    expect(theirs.locator("h1")).to_have_text("Not found")
    expect(theirs.locator("#job")).to_have_count(0)


def test_an_uploaded_file_comes_back_as_a_download_and_a_png_inline(page, worker):
    page.goto("/jobs/new/echo_file")
    expect(page.locator("#f-data ~ .help").first).to_contain_text(re.compile(r"Up to \d+ MB"))
    page.set_input_files("#f-data", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello\nworld"}])
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("Done")
    chart = page.locator(".chart img")
    expect(chart).to_have_attribute("alt", "dot.png")
    page.wait_for_function("document.querySelector('.chart img').naturalWidth === 1")  # the PNG was served
    with page.expect_download() as download:
        page.click('a[download="copy.txt"]')
    assert open(download.value.path(), "rb").read() == b"hello\nworld"


def test_a_retried_failure_says_which_attempt_it_was(page, worker):
    page.goto(f"/jobs/{submit(page, 'fail_retried', message='still bad')}")
    expect(page.locator("#status")).to_have_text("Failed")
    expect(page.locator("#attempt")).to_have_text(re.compile(r"Attempt 2 of 2"))
    expect(page.locator("#error-message")).to_have_text("still bad")


def test_a_waiting_job_shows_its_place_in_line_and_moves_up_live(page, worker):
    running = submit(page, "block", seconds=60)
    ahead = submit(page, "steps", n=1)
    page.goto(f"/jobs/{running}")
    expect(page.locator("#status")).to_have_text("Running")
    mine = submit(page, "steps", n=1)
    page.goto(f"/jobs/{mine}")
    expect(page.locator("#line")).to_have_text(re.compile(r"^Number 2 in line"))
    page.request.delete(f"/api/jobs/{ahead}")  # the job ahead leaves the line
    expect(page.locator("#line")).to_have_text(re.compile(r"^Next in line"))
    page.request.delete(f"/api/jobs/{running}")
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("#line")).to_be_hidden()


# Record how many rows the growing output table had, each time it changed.
WATCH_OUTPUT = """
(() => {
  window.rowCounts = [];
  const body = document.querySelector("#output-table tbody");
  new MutationObserver(() => window.rowCounts.push(body.rows.length)).observe(body, {childList: true});
})();
"""


def test_emitted_rows_and_text_appear_on_the_page_while_the_job_runs(page, start_worker, tmp_path):
    gate = tmp_path / "gate"
    job_id = submit(page, "emitter", rows=12, pause=0.2, word="token", gate=str(gate))
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#status")).to_have_text("Waiting")
    expect(page.locator("#job")).to_have_attribute("data-connection", "live")
    page.evaluate(WATCH_OUTPUT)
    start_worker()  # only now: the page sees every row arrive
    expect(page.locator("#output-table tbody tr")).to_have_count(12)
    expect(page.locator("#output-text")).to_contain_text("token0 token1")
    expect(page.locator("#output-text")).to_contain_text("token11")
    expect(page.locator("#output-values dd")).to_have_text(["12"])
    expect(page.locator("#output-table th")).to_have_text(["n", "square"])
    expect(page.locator("#output-table tbody tr").nth(11).locator("td")).to_have_text(["11", "121"])
    expect(page.locator("#status")).to_have_text("Running")  # all of it before the job ended
    counts = page.evaluate("window.rowCounts")
    assert [c for c in counts if 0 < c < 12], f"the table never grew a row at a time: {counts}"
    gate.touch()
    expect(page.locator("#status")).to_have_text("Done")
    # The result has no table of its own: the emitted one is its table, and the text stays.
    expect(page.locator("#result-table tbody tr")).to_have_count(12)
    expect(page.locator("#result-text")).to_contain_text("token11")
    expect(page.locator("#output")).to_have_count(0)


def test_emitted_markup_is_shown_as_text(page, worker, tmp_path):
    gate = tmp_path / "gate"
    job_id = submit(page, "emitter", rows=1, word="<img src=x onerror=alert(1)>", gate=str(gate))
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#output-text")).to_contain_text("<img src=x onerror=alert(1)>0")
    expect(page.locator("#output img")).to_have_count(0)
    gate.touch()
    expect(page.locator("#result-text")).to_contain_text("<img src=x")


def test_a_fanned_out_job_shows_its_parts_and_one_bar_while_they_run(page, worker, tmp_path):
    gate, marks = tmp_path / "gate", tmp_path / "marks"
    marks.mkdir()
    job_id = submit(page, "fan_squares", n=3, gate=str(gate), marker_dir=str(marks))
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#parts")).to_have_text("Parts: 0 done, 1 running, 2 waiting, 0 failed (of 3).")
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "0")
    gate.touch()
    expect(page.locator("#parts")).to_have_text("Parts: 3 done, 0 running, 0 waiting, 0 failed (of 3).")
    expect(page.locator("#status")).to_have_text("Done")
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100")
    # Done, the page shows the merged result in place of the output so far (the API test checks
    # that each part's row reached the job's output).
    expect(page.locator("#outcome")).to_contain_text('"merges": 1')
