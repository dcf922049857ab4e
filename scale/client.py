"""A client on the client host: Spool's JSON API and job sockets, through haproxy only.

client = Client("http://10.77.0.5:80")
answer = client.submit("steps", n=5)       # .status, .id, .web (which web host answered)
ws, web = client.socket(answer.id)         # a job socket, and the web host it reached
client.wait_status(answer.id, "finished")
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import requests
import websocket


@dataclass
class Answer:
    status: int
    id: str | None
    web: str | None


class Client:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def submit(self, job_type: str, **params) -> Answer:
        try:
            r = self.http.post(f"{self.base_url}/api/jobs", json={"type": job_type, "params": params}, timeout=10)
        except requests.RequestException:
            return Answer(0, None, None)
        return Answer(r.status_code, r.json().get("id") if r.status_code == 202 else None, r.headers.get("X-Spool-Web"))

    def submit_through(self, web: str, job_type: str, tries: int = 10, **params) -> Answer:
        """Submit until the answer comes from `web` (round robin alternates), the others' jobs left to run."""
        for _ in range(tries):
            answer = self.submit(job_type, **params)
            if answer.web == web:
                return answer
        raise AssertionError(f"{tries} submits never reached {web}")

    def job(self, job_id: str) -> dict:
        r = self.http.get(f"{self.base_url}/api/jobs/{job_id}", timeout=10)
        r.raise_for_status()
        return r.json()

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                job = self.job(job_id)
                if job["status"] in statuses:
                    return job
            except requests.HTTPError as exc:
                if exc.response.status_code < 500:  # not this client's job, say: polling will not help
                    raise
            except requests.RequestException:
                pass  # a web host going away: the next poll lands on the other
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not {' or '.join(statuses)} after {timeout}s")
            time.sleep(0.1)

    def socket(self, job_id: str, through: str | None = None, tries: int = 10):
        """A job socket with this client's cookie, and the web host that took it (retried until `through`)."""
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        ws_url = self.base_url.replace("http://", "ws://") + f"/ws/jobs/{job_id}"
        for _ in range(tries):
            ws = websocket.create_connection(ws_url, header=[f"Cookie: {cookie}"], origin=self.base_url, timeout=30)
            web = ws.getheaders().get("x-spool-web")
            if through is None or web == through:
                return ws, web
            ws.close()
        raise AssertionError(f"{tries} sockets never reached {through}")

    def close(self) -> None:
        self.http.close()


def messages(ws, until=None) -> list[dict]:
    """Messages until the server closes the socket (or the connection drops), or `until(message)`."""
    out = []
    while True:
        try:
            raw = ws.recv()
        except (websocket.WebSocketException, OSError):
            return out
        if not raw:
            return out
        out.append(json.loads(raw))
        if until is not None and until(out[-1]):
            return out
