"""Where Spool may send a request it was given a URL for: the guard against reaching private
networks from a worker (a cloud's metadata service, the Redis next door).

    target = addresses.resolve("https://example.com/x", allow_private=False)
    pool = urllib3.HTTPSConnectionPool(target.ip, target.port, server_hostname=target.host)

A URL's name is resolved once and refused when any address it resolves to is private,
loopback, link-local or otherwise not public; the caller then connects to the address that
was checked, so a name cannot resolve differently a moment later. The link checker and the
webhook sender both go through here, and check every hop they follow.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import NamedTuple
from urllib.parse import urlsplit

from jobs.core.exceptions import UnsafeUrl

GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
TEREDO = ipaddress.ip_network("2001::/32")


class Target(NamedTuple):
    scheme: str
    host: str
    port: int
    ip: str


def resolve(url: str, *, allow_private: bool, schemes: tuple[str, ...] = ("http", "https")) -> Target:
    """Check a URL's scheme and address; return where to connect. Raise UnsafeUrl saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("this is not a valid URL") from None
    if parts.scheme not in schemes:
        raise UnsafeUrl(f"only {' and '.join(schemes)} URLs are allowed, not {parts.scheme or 'a bare name'}")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"the name {parts.hostname} does not resolve ({exc})") from None
    found = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not allow_private:
        blocked = [a for a in found if not is_public(a)]
        if blocked:
            raise UnsafeUrl(f"{parts.hostname} resolves to a non-public address ({blocked[0]}); it is not fetched")
    found.sort(key=lambda a: a.version)  # IPv4 first: a local server often listens on it alone
    return Target(parts.scheme, parts.hostname, port, str(found[0]))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet, and any IPv4 address it embeds is too.

    IPv6 is allowed only as global unicast (2000::/3): the IPv4-compatible (::a.b.c.d),
    IPv4-translated (::ffff:0:a.b.c.d) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48) forms lie
    outside it, and 6to4 and Teredo addresses are judged by the IPv4 addresses inside them.
    """
    if address.version == 4:
        return address.is_global and not address.is_multicast
    if address.ipv4_mapped:
        return is_public(address.ipv4_mapped)
    if address not in GLOBAL_UNICAST or not address.is_global or address.is_multicast:
        return False
    embedded = [address.sixtofour] if address in SIX_TO_FOUR else []
    embedded += list(address.teredo or ()) if address in TEREDO else []
    return all(is_public(v4) for v4 in embedded)
