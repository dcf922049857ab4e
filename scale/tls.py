"""A certificate authority made for one run, and server certificates it signs for given addresses.

ca = Authority(directory, "spool-scale")
cert, key = ca.issue("redis", ["10.77.0.2", "10.77.0.3"])   # ca.cert is what clients trust
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Authority:
    def __init__(self, directory: Path, name: str):
        self.directory = directory
        self.cert, self.key = directory / f"{name}-ca.pem", directory / f"{name}-ca-key.pem"
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name} CA",
                 "-keyout", str(self.key), "-out", str(self.cert))  # fmt: skip

    def issue(self, name: str, addresses: list[str]) -> tuple[Path, Path]:
        """A certificate for `addresses` (as IP subject names) signed by this authority."""
        cert, key, request = (self.directory / f"{name}{suffix}" for suffix in (".pem", "-key.pem", ".csr"))
        extensions = self.directory / f"{name}.ext"
        extensions.write_text("subjectAltName=" + ",".join(f"IP:{a}" for a in addresses) + "\n")
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(request)
        )
        _openssl(
            "x509", "-req", "-in", str(request), "-CA", str(self.cert), "-CAkey", str(self.key), "-CAcreateserial",
            "-days", "1", "-extfile", str(extensions), "-out", str(cert),
        )  # fmt: skip
        return cert, key
