"""The link checker's address guard: private, loopback and link-local addresses are refused,
in every form an address can take, and so are schemes other than http and https."""

from __future__ import annotations

import ipaddress

import pytest

from jobs.builtin import links
from jobs.core import addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ],
)
def test_private_addresses_and_other_schemes_are_refused(public_only, url):
    with pytest.raises(links.Refused):
        links.resolve(url)


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a00:1",
        "::ffff:0:7f00:1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, for a client at 127.0.0.1
    ],
)
def test_ipv6_forms_that_embed_a_private_ipv4_address_are_refused(public_only, address):
    with pytest.raises(links.Refused, match="non-public address"):
        links.resolve(f"http://[{address}]/")


def test_global_ipv6_and_6to4_of_a_public_address_count_as_public():
    assert addresses.is_public(ipaddress.ip_address("2606:4700:4700::1111"))
    assert addresses.is_public(ipaddress.ip_address("2002:808:808::1"))  # 6to4 of 8.8.8.8
