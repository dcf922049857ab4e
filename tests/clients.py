"""How tests talk to Spool: its JSON API through Flask's test client, a program acting as a
browser on a live server, and the operator sign-in. Offered as fixtures (see conftest.py), in
the shape of flaskr's `auth` fixture:

    def test_submitted_job_runs_to_its_result(api, worker):
        job = api.wait_status(api.submit("primes", limit=1_000_000), "finished", "failed")

    def test_sign_in_opens_the_dashboard(client, operator_login):
        assert operator_login.sign_in(next_path="/rq/").status_code == 303
"""

from __future__ import annotations

import io
import json
import re

import requests
import websocket

from tests.helpers import wait_for

OPERATOR_PASSWORD = "a long operator password"


def csrf_token(client) -> str:
    """The CSRF token a page gives this test client, as a browser would read it."""
    html = client.get("/").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


class _Jobs:
    """What every client can do with a job it can read: wait for it to reach a status."""

    def job(self, job_id: str) -> dict:
        raise NotImplementedError

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 30) -> dict:
        """Poll the API until the job reaches one of `statuses`; return its snapshot."""

        def reached():
            body = self.job(job_id)
            return body if body["status"] in statuses else None

        return wait_for(reached, timeout, f"job {job_id} to be {'/'.join(statuses)}")


class Api(_Jobs):
    """Spool's JSON API through a Flask test client (its cookie is its owner)."""

    def __init__(self, client):
        self.client = client

    def submit(self, job_type: str, **params) -> str:
        """Submit a job as JSON; return its id."""
        response = self.client.post("/api/jobs", json={"type": job_type, "params": params})
        assert response.status_code == 202, response.get_json()
        return response.get_json()["id"]

    def submit_files(self, job_type: str, params: dict, headers: dict | None = None, **uploads):
        """POST /api/jobs as multipart, one file part per upload, as a browser's script would.

        Args:
            uploads: the part's name to `(filename, content bytes)`.

        Returns:
            The response, whatever its status.
        """
        data = {"type": job_type, "params": json.dumps(params)}
        for name, (filename, content) in uploads.items():
            data[name] = (io.BytesIO(content), filename)
        return self.client.post(
            "/api/jobs",
            data=data,
            content_type="multipart/form-data",
            headers={"X-CSRFToken": self.csrf_token(), **(headers or {})},
        )

    def job(self, job_id: str) -> dict:
        return self.client.get(f"/api/jobs/{job_id}").get_json()

    def csrf_token(self) -> str:
        return csrf_token(self.client)

    def owner(self) -> str:
        """The owner id this client's session cookie carries (made on its first page)."""
        self.client.get("/")
        with self.client.session_transaction() as session:
            return session["owner"]


class OperatorLogin:
    """The operator sign-in page, used by a test client."""

    def __init__(self, client, password: str = OPERATOR_PASSWORD):
        self.client, self.password = client, password

    def sign_in(self, password: str | None = None, next_path: str = "", headers: dict | None = None):
        """Sign in with `password` (the operator password unless given), as a browser would."""
        password = self.password if password is None else password
        data = {"password": password, "csrf_token": csrf_token(self.client), "next": next_path}
        return self.client.post("/ops/login", data=data, headers=headers)

    def sign_out(self):
        return self.client.post("/ops/logout", data={"csrf_token": csrf_token(self.client)})


class Browser(_Jobs):
    """A requests session on a live server that opens job sockets with its cookie, as the job
    page does."""

    def __init__(self, server):
        self.server = server
        self.http = requests.Session()
        self.sockets = []

    def close(self):
        for ws in self.sockets:
            ws.close()
        self.http.close()

    def submit(self, job_type: str, **params) -> str:
        response = self.http.post(f"{self.server.url}/api/jobs", json={"type": job_type, "params": params})
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def job(self, job_id: str) -> dict:
        response = self.http.get(f"{self.server.url}/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def socket(self, job_id: str, origin: str | None = None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.server.port}/ws/jobs/{job_id}",
            header=[f"Cookie: {cookie}"],
            origin=origin or self.server.url,
            timeout=30,
        )
        self.sockets.append(ws)
        return ws


def read_until_closed(ws) -> list[dict]:
    """Every message until the server closes the socket."""
    out = []
    while True:
        try:
            raw = ws.recv()
        except websocket.WebSocketConnectionClosedException:
            return out
        if not raw:
            return out
        out.append(json.loads(raw))
