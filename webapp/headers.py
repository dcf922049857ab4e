"""Security headers on every response: what a browser may load, frame, sniff, refer and be
redirected to.

Pages load only Spool's own script, styles and images; nothing may frame them (a job page
with its Cancel button must not be clickjacked); responses are never content-sniffed; and
in production browsers are told to use HTTPS only. A view that sets a header itself (the
file downloads' sandbox, rq-dashboard's own policy) keeps it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, request

# Progress bars take their width from a style attribute, so that a page without its script
# still shows how far a job is; a style attribute cannot run script, stylesheets stay 'self'.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    app.after_request(_secure)


def _secure(response: Response) -> Response:
    _relative_redirect(response)
    present = {name.lower() for name in response.headers.keys()}  # one pass, not one per header
    for name, value in HEADERS.items():
        if name.lower() not in present:
            response.headers.add(name, value)
    if current_app.config["PRODUCTION"]:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _relative_redirect(response: Response) -> None:
    """Make a redirect to this same host relative, so its Location never echoes the Host header.

    Werkzeug's own redirects (`/rq` to `/rq/`) are absolute URLs built from whatever Host the
    request claimed: a forged Host would send the browser elsewhere.
    """
    location = response.headers.get("Location")
    if not location:
        return
    parts = urlsplit(location)
    if parts.netloc and parts.netloc == request.host:
        response.headers["Location"] = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
