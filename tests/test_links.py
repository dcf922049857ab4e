"""Link checking against real local HTTP servers: slow, redirecting, failing and huge ones."""

from __future__ import annotations

import csv
import io
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs.builtin import links
from jobs.core import addresses
from tests.helpers import free_port


class Site(BaseHTTPRequestHandler):
    """A small web site whose paths misbehave in the ways link checking must survive."""

    def do_GET(self):
        self.server.hits.append(self.path)
        if self.path == "/ok":
            self._send(200, b"hello")
        elif self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            self._redirect("/ok" if left == 0 else f"/hop/{left - 1}")
        elif self.path == "/loop":
            self._redirect("/loop")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, b"late")
        elif self.path == "/error":
            self._send(500, b"broken")
        elif self.path == "/missing":
            self._send(404, b"no")
        elif self.path == "/flaky":
            self._send(503 if self.server.hits.count("/flaky") == 1 else 200, b"maybe")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(links.MAX_BODY * 2))
            self.end_headers()
            block = b"x" * 65536
            try:
                for _ in range(links.MAX_BODY * 2 // len(block)):
                    self.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the checker stopped reading at its cap, as it should
        elif self.path.startswith("/held/"):
            with self.server.lock:
                self.server.in_flight += 1
                self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
                if self.server.in_flight >= 2:
                    self.server.overlapped.set()
            # The first answers wait for a second request to be in flight, however slow the machine;
            # then each is held a while, long enough for a third, if one were let through, to show.
            self.server.overlapped.wait(30)
            time.sleep(0.3)
            with self.server.lock:
                self.server.in_flight -= 1
            self._send(200, b"held")
        elif self.path.startswith("/n/"):
            self._send(200, b"n")
        elif self.path == "/to-other-host":
            self._redirect(f"http://127.0.0.2:{self.server.server_port}/ok")

    def _send(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def serving(tls: ssl.SSLContext | None = None):
    """The Site on a free port of 127.0.0.1 (behind TLS with a context), in a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    server.hits = []
    server.lock, server.in_flight, server.most_in_flight = threading.Lock(), 0, 0
    server.overlapped = threading.Event()
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site():
    with serving() as server:
        server.url = f"http://127.0.0.1:{server.server_port}"
        yield server


def test_link_check_reports_each_url_through_a_worker(client, api, worker, site):
    paths = ["/ok", "/hop/2", "/loop", "/slow", "/error", "/missing", "/flaky", "/huge"]
    job_id = api.submit(
        "check_links",
        urls=[site.url + p for p in paths] + ["ftp://127.0.0.1/file"],
        concurrency=4,
        timeout_s=1,
        max_redirects=3,
        retries=1,
    )
    snapshot = api.wait_status(job_id, "finished", "failed", timeout=60)
    assert snapshot["status"] == "finished", snapshot["error"]
    result = snapshot["result"]
    columns = result["table"]["columns"]
    rows = {row[0].removeprefix(site.url): dict(zip(columns, row, strict=True)) for row in result["table"]["rows"]}

    assert rows["/ok"]["status"] == 200 and rows["/ok"]["size_bytes"] == 5
    assert rows["/hop/2"]["status"] == 200
    assert rows["/hop/2"]["final_url"] == site.url + "/ok"
    assert rows["/hop/2"]["redirects"] == " → ".join(site.url + p for p in ["/hop/2", "/hop/1", "/hop/0"])
    assert "more than 3 redirects" in rows["/loop"]["error"]
    assert "no answer within 1 s" in rows["/slow"]["error"]
    assert rows["/slow"]["attempts"] == 2  # a timeout is transient: tried again
    assert rows["/error"]["status"] == 500 and rows["/error"]["attempts"] == 1  # a 500 is not
    assert rows["/missing"]["status"] == 404 and rows["/missing"]["attempts"] == 1
    assert rows["/missing"]["error"] == "HTTP 404" and rows["/error"]["error"] == "HTTP 500"
    assert rows["/flaky"]["status"] == 200 and rows["/flaky"]["attempts"] == 2
    assert rows["/huge"]["status"] == 200 and rows["/huge"]["size_bytes"] > links.MAX_BODY
    assert "size cap" in rows["/huge"]["error"]
    assert "only http and https" in rows["ftp://127.0.0.1/file"]["error"]
    assert result["ok"] == 4 and result["broken"] == 5  # ok, hop, flaky, huge (read up to the cap)
    assert snapshot["progress"]["done"] == snapshot["progress"]["total"] == 9
    # Each row was emitted as its check ended, in that order: the same rows as the result's.
    assert snapshot["output"]["columns"] == columns
    assert sorted(snapshot["output"]["rows"], key=str) == sorted(result["table"]["rows"], key=str)

    (csv_file,) = snapshot["files"]
    table = list(csv.reader(io.StringIO(client.get(csv_file["url"]).get_data(as_text=True))))
    assert table[0] == columns and len(table) == 10


def test_a_long_list_is_checked_in_parts_over_the_workers_and_kept_in_its_order(api, start_worker, site):
    start_worker(), start_worker()
    urls = [f"{site.url}/n/{i}" for i in range(links.FAN_OUT_OVER + 50)]
    job_id = api.submit("check_links", urls=urls, concurrency=16, retries=0)
    snapshot = api.wait_status(job_id, "finished", "failed", timeout=120)
    assert snapshot["status"] == "finished", snapshot["error"]
    assert snapshot["parts"]["total"] == snapshot["parts"]["done"] == -(-len(urls) // links.CHUNK)
    assert [row[0] for row in snapshot["result"]["table"]["rows"]] == urls
    assert snapshot["result"]["ok"] == len(urls) and snapshot["result"]["broken"] == 0
    # Every part emitted its rows into the job as they were checked.
    assert sorted(row[0] for row in snapshot["output"]["rows"]) == sorted(urls)
    assert [f["name"] for f in snapshot["files"]] == ["links.csv"]


def test_no_more_requests_run_at_once_than_the_job_allows(site):
    result = links.check_links([f"{site.url}/held/{i}" for i in range(6)], concurrency=2, retries=0)
    assert result["ok"] == 6
    assert site.most_in_flight == 2


def test_loopback_is_refused_when_private_urls_are_not_allowed(api, start_worker, site):
    start_worker(env={"SPOOL_ALLOW_PRIVATE_URLS": ""})
    job_id = api.submit("check_links", urls=[site.url + "/ok", "http://localhost:1/"])
    snapshot = api.wait_status(job_id, "finished", "failed")
    errors = [row[links.COLUMNS.index("error")] for row in snapshot["result"]["table"]["rows"]]
    assert all("non-public address" in e for e in errors), errors
    assert site.hits == []


def test_a_redirect_to_a_private_address_is_refused_after_the_first_hop(public_only, monkeypatch, site):
    # Take this server's own address for a public one, so only the redirect's target is private.
    monkeypatch.setattr(addresses, "is_public", lambda address: str(address) == "127.0.0.1")
    outcome = links.check_one(site.url + "/to-other-host", timeout=2, max_redirects=5, retries=0)
    assert outcome.redirects == [site.url + "/to-other-host"]
    assert "non-public address (127.0.0.2)" in outcome.error
    assert site.hits == ["/to-other-host"]


def test_too_many_urls_is_422(client):
    urls = [f"http://example.com/{i}" for i in range(links.settings.max_links + 1)]
    response = client.post("/api/jobs", json={"type": "check_links", "params": {"urls": urls}})
    assert response.status_code == 422
    assert "urls" in response.get_json()["error"]["fields"]


@pytest.fixture
def tls_site(tls_cert):
    cert, key = tls_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with serving(context) as server:
        server.url, server.cert = f"https://localhost:{server.server_port}", cert
        yield server


def test_https_is_verified_against_the_name_while_connecting_to_the_checked_address(tls_site, monkeypatch):
    untrusted = links.check_one(tls_site.url + "/ok", timeout=5, max_redirects=0, retries=2)
    assert "certificate verify failed" in untrusted.error
    assert untrusted.attempts == 1  # a bad certificate is not transient
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_site.cert))
    trusted = links.check_one(tls_site.url + "/ok", timeout=5, max_redirects=0, retries=0)
    assert (trusted.status, trusted.size, trusted.error) == (200, 5, None)


@contextmanager
def trickling(total: int = 200):
    """A server that sends its headers, then its body a byte every tenth of a second; yields
    (its port, a list holding how many bytes of the body it sent)."""
    listener = socket.create_server(("127.0.0.1", 0))
    sent = [0]

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
            try:
                for _ in range(total):
                    conn.sendall(b"x")
                    sent[0] += 1
                    time.sleep(0.1)
            except OSError:
                pass  # the checker hung up

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], sent
    finally:
        listener.close()


def test_a_body_that_trickles_in_is_cut_off_at_the_url_s_deadline():
    with trickling(total=200) as (port, sent):  # 20 s at a byte a tenth of a second; each read well within 1 s
        outcome = links.check_one(f"http://127.0.0.1:{port}/", timeout=1, max_redirects=0, retries=0)
    assert outcome.error == "the body did not arrive within 1 s"
    assert sent[0] < 200  # the connection was closed long before the server was done


def test_a_deadline_due_before_those_pending_still_cuts_its_url_off_and_all_share_one_thread():
    from jobs.builtin.deadline import Deadline

    before = threading.active_count()
    pending = [Deadline(60) for _ in range(50)]  # a thread each, once: a check started 50 threads per 50 URLs
    assert threading.active_count() - before <= 1
    with trickling(total=200) as (port, sent):
        outcome = links.check_one(f"http://127.0.0.1:{port}/", timeout=1, max_redirects=0, retries=0)
    assert outcome.error == "the body did not arrive within 1 s" and sent[0] < 200
    for deadline in pending:
        deadline.cancel()
    assert not any(d.expired for d in pending)


def test_a_closed_port_is_connection_refused_and_not_retried():
    port = free_port()  # nothing listens there
    outcome = links.check_one(f"http://127.0.0.1:{port}/", timeout=5, max_redirects=0, retries=2)
    assert "connection refused" in outcome.error
    assert outcome.attempts == 1


def test_the_links_csv_never_holds_a_spreadsheet_formula(client, api, worker):
    formula = '=HYPERLINK("http://evil.example","click")'
    job_id = api.submit("check_links", urls=[formula, "@SUM(1+1)"])
    snapshot = api.wait_status(job_id, "finished", "failed")
    (csv_file,) = snapshot["files"]
    rows = list(csv.reader(io.StringIO(client.get(csv_file["url"]).get_data(as_text=True))))
    cells = [row[0] for row in rows[1:]]
    assert cells == ["'" + formula, "'@SUM(1+1)"]


def test_the_retries_help_names_exactly_the_statuses_that_are_retried(client):
    (check_links,) = [t for t in client.get("/api/job-types").get_json() if t["name"] == "check_links"]
    help_text = check_links["params"]["properties"]["retries"]["description"]
    assert "5xx" not in help_text
    assert all(str(code) in help_text for code in links.TRANSIENT_STATUSES)
    assert "500" in help_text and "not retried" in help_text
