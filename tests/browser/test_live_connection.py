"""The job page's live connection when the web server goes away and comes back."""

from __future__ import annotations

import os
import signal

from playwright.sync_api import expect

from tests.browser.pages import submit


def test_the_page_says_when_its_connection_drops_and_comes_back(new_context, start_web, worker):
    server = start_web()
    context = new_context(base_url=server.url)
    try:
        page = context.new_page()
        job_id = submit(page, "block", seconds=60)
        page.goto(f"/jobs/{job_id}")
        expect(page.locator("#status")).to_have_text("Running")
        expect(page.locator("#job")).to_have_attribute("data-connection", "live")  # its socket is open
        expect(page.locator("#live")).to_be_hidden()

        os.killpg(server.process.pid, signal.SIGKILL)  # the web process dies, sockets and all
        server.process.wait()
        expect(page.locator("#live")).to_have_text("connection lost, reconnecting…")

        start_web(port=server.port)
        expect(page.locator("#live")).to_have_text("back online")
        expect(page.locator("#live")).to_be_hidden()
        assert page.request.delete(f"/api/jobs/{job_id}").status == 202
        expect(page.locator("#status")).to_have_text("Stopped")  # the new socket streams again
    finally:
        context.close()  # its socket would hold up the server's graceful stop
