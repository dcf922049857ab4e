"""The pages' layout on a desktop and a phone: nothing wider than its box, numbers on one line."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import submit

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}

# Whether an element is as wide as its content (nothing hidden or spilling sideways), and how
# many lines of text it takes.
FITS = "(e) => e.scrollWidth <= e.clientWidth"
LINES = "(e) => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"


@pytest.fixture(params=list(SIZES))
def sized_page(request, new_context):
    return new_context(viewport=SIZES[request.param], is_mobile=request.param == "phone").new_page()


def test_result_numbers_stay_on_one_line_and_nothing_spills_sideways(sized_page, worker):
    page = sized_page
    job_id = submit(page, "wide")
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#status")).to_have_text("Done")
    for label in ("Count", "Ratio"):
        number = page.locator("#result-fields div", has_text=label).locator("dd")
        assert number.evaluate(LINES) == 1, number.text_content()
        assert number.evaluate(FITS), number.text_content()
    word = page.locator("#result-fields div", has_text="Word").locator("dd")
    assert word.evaluate(FITS)
    for box in ("html", "main", "#result-fields", "#log"):
        assert page.locator(box).first.evaluate(FITS), box
