"""A WebSocket broken mid-stream: the client reconnects, gets a snapshot that covers what it
missed, then only newer events (rising `seq`), and the final state; the server is unharmed."""

import json
import socket

import requests

from tests.clients import read_until_closed


def test_a_socket_cut_mid_stream_resumes_from_a_snapshot_without_gaps_or_repeats(browser, live_server, start_worker):
    job_id = browser.submit("steps", n=40, pause=0.05)
    ws = browser.socket(job_id)
    first = [json.loads(ws.recv())]
    start_worker()  # only now, so that the job is still to run when the socket is open
    first += [json.loads(ws.recv()) for _ in range(3)]
    assert first[0]["type"] == "snapshot"
    last_seen = max(m.get("seq", 0) for m in first)
    # Cut the connection without a closing handshake, as a dropped network does.
    ws.sock.shutdown(socket.SHUT_RDWR)
    ws.sock.close()

    again = browser.socket(job_id)
    messages = read_until_closed(again)
    snapshot, events, final = messages[0], messages[1:-1], messages[-1]
    assert snapshot["type"] == "snapshot" and snapshot["seq"] >= last_seen
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and all(s > snapshot["seq"] for s in seqs)
    assert final["type"] == "snapshot" and final["status"] == "finished" and final["result"] == {"steps": 40}
    assert final["progress"]["done"] == 40
    assert len(final["log"]) == 40 and final["log"][-1] == "did step 40"
    assert requests.get(f"{live_server.url}/healthz", timeout=5).ok
