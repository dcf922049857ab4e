"""A program acting as a browser: a cookie-keeping HTTP session that also opens job sockets."""

from __future__ import annotations

import json

import requests
import websocket

from tests.conftest import wait_for


class Browser:
    """A requests session that opens job sockets with its cookie, as the job page does."""

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

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 30) -> dict:
        def reached():
            body = self.job(job_id)
            return body if body["status"] in statuses else None

        return wait_for(reached, timeout, f"job {job_id} to be {'/'.join(statuses)}")

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
