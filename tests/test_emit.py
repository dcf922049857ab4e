"""Output as it is made: `emit()` in a real worker, read back through the API, the socket and pub/sub."""

from __future__ import annotations

import json
import math

from jobs.core import events, keys, output
from tests.clients import read_until_closed
from tests.helpers import wait_for


def _squares(n: int, start: int = 0) -> list[list[int]]:
    return [[i, i * i] for i in range(start, n)]


def test_a_snapshot_mid_stream_holds_everything_emitted_so_far(api, worker, tmp_path):
    gate = tmp_path / "gate"
    job_id = api.submit("emitter", rows=7, word="w", gate=str(gate))
    snapshot = wait_for(
        lambda: (s := api.job(job_id))["output"]["rows"] == _squares(7) and s, 30, "every row to be emitted"
    )
    assert snapshot["status"] == "started"
    assert snapshot["output"] == {
        "columns": ["n", "square"],
        "rows": _squares(7),
        "text": "".join(f"w{i} " for i in range(7)),
        "values": {"done": 7},
        "truncated": False,
    }
    gate.touch()
    finished = api.wait_status(job_id, "finished", "failed")
    assert finished["result"] == {"emitted": 7} and finished["output"]["rows"] == _squares(7)
