"""How text a job reports is cut: in the worker, so no socket frame, meta or API answer carries
more than its bound; a cut ends in CUT, which the page shows as it is."""

from __future__ import annotations

CUT = "… [cut]"


def bounded(text, limit: int) -> str:
    """`text` as a string of at most `limit` characters, visibly cut if it was longer."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT
