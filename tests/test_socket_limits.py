"""What one socket and one client may cost: a client that sends data is closed with 1008, and
sockets are capped per owner and per address across every web process, with a 429 before the
upgrade, and counted no longer once the process that held them dies."""

import json
import signal

import pytest
import websocket

from tests.clients import Browser
from tests.helpers import wait_for

CAPS = {"MAX_SOCKETS_PER_OWNER": "2", "MAX_SOCKETS_PER_ADDRESS": "3"}


def _close_frame(ws) -> tuple[int, str]:
    """Read frames until the server's close frame; return its code and reason."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode()


def test_a_client_that_sends_data_is_closed_with_1008_and_cut_off(browser):
    job_id = browser.submit("parked", n=1)  # nothing takes "parked": the socket would stay open
    ws = browser.socket(job_id)
    ws.settimeout(15)
    assert json.loads(ws.recv())["type"] == "snapshot"
    ws.send("hello")
    assert _close_frame(ws) == (1008, "This socket only sends; a client must not send data.")
    # What the client sends from then on is not kept: the server has hung up.
    with pytest.raises((OSError, websocket.WebSocketException)):
        for _ in range(20_000):
            ws.send("x" * 4096)


def _refused(browser: Browser, job_id: str) -> websocket.WebSocketBadStatusException:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        browser.socket(job_id)
    return refused.value


def _admitted(browser: Browser, job_id: str) -> bool:
    try:
        browser.socket(job_id)
    except websocket.WebSocketBadStatusException:
        return False
    return True


def test_sockets_are_capped_per_owner_and_address_across_web_processes(start_web):
    first, second = start_web(CAPS), start_web(CAPS)
    alice = Browser(first)
    alice_elsewhere = Browser(second)
    alice_elsewhere.http = alice.http  # the same person, sent to another process
    alice_job = alice.submit("parked", n=1)
    held = alice.socket(alice_job)
    alice_elsewhere.socket(alice_job)

    refused = _refused(alice_elsewhere, alice_job)
    assert refused.status_code == 429
    assert refused.resp_headers["retry-after"].isdigit()
    error = json.loads(refused.resp_body)["error"]
    assert error["code"] == "too_many_sockets" and "2 open" in error["message"]

    bob = Browser(first)  # another owner on the same address
    bob_job = bob.submit("parked", n=1)
    bob.socket(bob_job)
    assert json.loads(_refused(bob, bob_job).resp_body)["error"]["code"] == "too_many_sockets"

    held.close()
    wait_for(lambda: _admitted(bob, bob_job), 30, "a closed socket to free its place")
    # The second process dies with alice's socket: within seconds it counts no more.
    second.stop(signal.SIGKILL)
    wait_for(lambda: _admitted(alice, alice_job), 30, "a dead process's sockets to stop counting")
    for browser in (alice, bob):
        browser.close()
