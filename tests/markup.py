"""The Nu Html Checker (vnu), the W3C's validator, run on a page's HTML.

    errors(html)   # -> [{"message": ..., "extract": ...}], empty for a valid page
    unnamed(html)  # -> what a screen reader could not name: <nav>s beyond the first, empty <th>s

The checker is the `vnu-jar` npm package, installed into tests/.vnu/ (git-ignored) by
`make test`, or here on first use; it runs on Java.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

VERSION = "26.9.27"  # keep in step with the Makefile's VNU_VERSION
FOLDER = Path(__file__).parent / ".vnu"
JAR = FOLDER / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def missing() -> str | None:
    """Why the checker cannot run here (no Java, or no npm to install it), or None."""
    if not shutil.which("java"):
        return "no Java here (.ci/run installs Debian's default-jre-headless)"
    if not JAR.exists() and not shutil.which("npm"):
        return "no npm here to install the checker (.ci/run installs Debian's npm)"
    return None


def jar() -> Path:
    """The checker's jar, installed with npm if it is not there yet."""
    if not JAR.exists():
        subprocess.run(
            [shutil.which("npm"), "install", "--no-save", "--prefix", str(FOLDER), f"vnu-jar@{VERSION}"], check=True
        )
    return JAR


def errors(html: str) -> list[dict]:
    """What the checker finds wrong with `html`: each error's message and the markup it is about."""
    checked = subprocess.run(
        ["java", "-jar", str(jar()), "--errors-only", "--format", "json", "-"],
        input=html.encode(),
        capture_output=True,
        check=False,
    )
    messages = json.loads(checked.stderr or checked.stdout)["messages"]
    return [{"message": m.get("message"), "extract": m.get("extract")} for m in messages]


class _Names(HTMLParser):
    """Collects each <nav>'s aria-label and each table header cell's text."""

    def __init__(self):
        super().__init__()
        self.navs: list[str | None] = []
        self.headers: list[str] = []
        self._in_header = False

    def handle_starttag(self, tag, attrs):
        if tag == "nav":
            self.navs.append(dict(attrs).get("aria-label"))
        elif tag == "th":
            self._in_header = True
            self.headers.append("")

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_header = False

    def handle_data(self, data):
        if self._in_header:
            self.headers[-1] += data.strip()


def unnamed(html: str) -> list[str]:
    """The landmarks and headers a screen reader cannot tell apart or name (vnu does not say)."""
    names = _Names()
    names.feed(html)
    problems = [f"<nav> {i + 1} of {len(names.navs)} has no aria-label" for i, n in enumerate(names.navs) if not n]
    problems = problems if len(names.navs) > 1 else []
    return problems + [f"table header {i + 1} is empty" for i, text in enumerate(names.headers) if not text]
