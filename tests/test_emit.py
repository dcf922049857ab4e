"""Output as it is made: `emit()` in a real worker, read back through the API, the socket and pub/sub."""

from __future__ import annotations

import json
import math
from datetime import datetime

from jobs.core import keys, output
from tests.clients import read_until_closed
from tests.helpers import drain_events, wait_for


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


def _rows_of(messages: list[dict]) -> list[list]:
    """The rows a client builds from a snapshot and the output events after it."""
    rows = []
    for message in messages:
        if message["type"] == "snapshot":
            rows = list(message["output"]["rows"])
        elif message["type"] == "output":
            rows = ([] if message.get("reset") else rows) + message.get("rows", [])
    return rows


def test_output_events_continue_across_a_reconnect_with_no_gap_or_repeat(browser, worker, tmp_path):
    gate = tmp_path / "gate"
    job_id = browser.submit("emitter", rows=40, pause=0.05, gate=str(gate))
    ws = browser.socket(job_id)
    first = [json.loads(ws.recv())]
    while len([m for m in first if m["type"] == "output"]) < 3:
        first.append(json.loads(ws.recv()))
    ws.close()
    seen_seq = max(m["seq"] for m in first)
    ws = browser.socket(job_id)
    again = json.loads(ws.recv())
    assert again["type"] == "snapshot" and again["seq"] >= seen_seq
    assert again["output"]["rows"][: len(_rows_of(first))] == _rows_of(first)
    gate.touch()
    rest = read_until_closed(ws)
    outputs = [m for m in rest if m["type"] == "output"]
    seqs = [m["seq"] for m in rest if m["type"] != "snapshot"]
    assert seqs == sorted(set(seqs)) and all(s > again["seq"] for s in seqs)
    assert _rows_of([again, *outputs]) == _squares(40)
    assert rest[-1]["type"] == "snapshot" and rest[-1]["output"]["rows"] == _squares(40)


def test_emit_in_a_tight_loop_costs_a_few_writes_and_the_last_row_lands(api, redis, worker):
    pubsub = redis.pubsub()
    pubsub.psubscribe(keys.CHANNEL_PATTERN)
    job_id = api.submit("emitter", rows=5000, word="x")
    job = api.wait_status(job_id, "finished", "failed")
    assert job["output"]["rows"] == _squares(5000)
    assert job["output"]["values"] == {"done": 5000}
    published = drain_events(pubsub)
    sent = [e for e in published if e["type"] == "output"]
    assert [row for e in sent for row in e.get("rows", [])] == _squares(5000)
    assert "".join(e.get("text", "") for e in sent) == job["output"]["text"]
    # 15,000 calls became one write per interval of the run, one more for the rest of the first
    # call's burst, and at the end as many as it takes to send what is left a few hundred rows
    # at a time.
    started, ended = (job[k] for k in ("started_at", "ended_at"))
    ran = (_seconds(ended) - _seconds(started)) if started and ended else 10
    assert len(sent) <= ran / 0.1 + 3 + math.ceil(5000 / output.MAX_ROWS_PER_EVENT)


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_rows_past_the_cap_are_refused_with_a_note(api, worker, redis):
    job_id = api.submit("emitter", rows=output.MAX_ROWS + 5)
    job = api.wait_status(job_id, "finished", "failed")
    assert job["status"] == "finished", job["error"]
    assert len(job["output"]["rows"]) == output.MAX_ROWS
    assert job["output"]["rows"][-1] == [output.MAX_ROWS - 1, (output.MAX_ROWS - 1) ** 2]
    assert job["output"]["truncated"] is True
    assert any("over 10,000 rows" in line for line in job["log"])
    assert redis.llen(keys.output_rows_key(job_id)) == output.MAX_ROWS


def test_text_past_the_cap_is_cut_visibly(api, worker, redis):
    job_id = api.submit("emitter", rows=3, word="more", big_text=output.MAX_TEXT + 50_000)
    job = api.wait_status(job_id, "finished", "failed")
    text = job["output"]["text"]
    assert text.endswith(output.TEXT_CUT_NOTE) and len(text) == output.MAX_TEXT + len(output.TEXT_CUT_NOTE)
    assert "more" not in text  # nothing after the cut
    assert job["output"]["truncated"] is True
    assert any("characters of text" in line for line in job["log"])
    assert redis.hstrlen(keys.output_key(job_id), "text") < output.MAX_TEXT + 100


def test_a_job_s_output_expires_and_is_purged_with_it(api, worker, redis):
    job_id = api.submit("emitter", rows=2)
    api.wait_status(job_id, "finished")
    assert 0 < redis.ttl(keys.output_key(job_id)) and 0 < redis.ttl(keys.output_rows_key(job_id))
    assert {keys.output_key(job_id), keys.output_rows_key(job_id)} <= set(keys.job_keys(job_id))


def test_output_whose_write_failed_goes_out_with_the_next_write():
    pending = output.Output()
    pending.add(rows=[[1], [2]], columns=["n"], text="a")
    pending.take(ttl=60)
    pending.add(rows=[[3]], text="b")
    pending.give_back()  # the write of rows 1 and 2 failed
    store, event = pending.take(ttl=60)
    assert event == {"type": "output", "reset": True, "columns": ["n"], "rows": [[1], [2], [3]], "text": "ab"}
    assert store["rows"] == ["[1]", "[2]", "[3]"] and store["reset"] is True


def test_cells_and_values_that_json_cannot_carry_are_sent_as_text():
    pending = output.Output()
    pending.add(rows=[[float("nan"), {"a": 1}, "c" * 5000]], values={"ratio": float("inf"), "long": "v" * 5000})
    _, event = pending.take(ttl=60)
    nan, mapping, long_cell = event["rows"][0]
    assert nan == "nan" and mapping == '{"a": 1}' and len(long_cell) == output.MAX_CELL
    assert event["values"]["ratio"] == "inf" and len(event["values"]["long"]) <= output.MAX_VALUE
