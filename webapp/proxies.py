"""Who is really on the other end: the client's address, believed from a proxy only if trusted.

    client_address()      # the browser's address, not the load balancer's
    from_trusted_proxy()  # whether the request came through a proxy we may believe

A proxy's `X-Forwarded-For` is honoured only on requests whose socket address is in
`FORWARDED_ALLOW_IPS` (the variable gunicorn reads for the same purpose: addresses or
networks, comma-separated, or `*`); anyone else could write that header themselves.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from flask import current_app, request


@lru_cache(maxsize=16)
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
    """The trusted networks of a FORWARDED_ALLOW_IPS value; None means every address."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if "*" in items:
        return None
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    networks = _networks(current_app.config["FORWARDED_ALLOW_IPS"])
    return networks is None or any(ip in network for network in networks)


def from_trusted_proxy() -> bool:
    return _trusted(request.remote_addr or "")


def client_address() -> str:
    """The address nearest to us that no trusted proxy stands for (the socket's, without one)."""
    address = request.remote_addr or ""
    if not _trusted(address):
        return address
    # Read from the right: each trusted proxy appended the address it saw; what lies left of
    # the first untrusted one was written by the client and proves nothing.
    for hop in reversed([h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            break
        if not _trusted(address):
            break
    return address
