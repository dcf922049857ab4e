"""What a browser test does on a page besides clicking through it.

    job_id = submit(page, "steps", n=3)   # through the API, on the page's own cookie
    page.goto(f"/jobs/{job_id}")

The browser fixtures themselves (Chromium, contexts, pages) are in this folder's conftest.
"""

from __future__ import annotations


def submit(page, job_type: str, **params) -> str:
    """Submit through the API on the page's own cookie; return the job id."""
    response = page.request.post("/api/jobs", data={"type": job_type, "params": params})
    assert response.status == 202, response.text()
    return response.json()["id"]
