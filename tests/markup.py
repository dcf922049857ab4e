"""The Nu Html Checker (vnu), the W3C's validator, run on a page's HTML.

    errors(html)   # -> [{"message": ..., "extract": ...}], empty for a valid page

The checker is the `vnu-jar` npm package, installed into tests/.vnu/ (git-ignored) by
`make test`, or here on first use; it runs on Java.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

VERSION = "26.9.27"  # keep in step with the Makefile's VNU_VERSION
FOLDER = Path(__file__).parent / ".vnu"
JAR = FOLDER / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def jar() -> Path:
    """The checker's jar, installed with npm if it is not there yet."""
    if not JAR.exists():
        npm = shutil.which("npm") or "npm"
        subprocess.run([npm, "install", "--no-save", "--prefix", str(FOLDER), f"vnu-jar@{VERSION}"], check=True)
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
