"""Scenarios: the closing handshake (close(), the close event)."""

from __future__ import annotations

import asyncio

from pyws_shim import CloseEvent, WebSocket

from . import Servers, scenario
from ._support import MS, QUIET, EventLog, new_id, report


@scenario
async def close_with_code_and_reason_is_clean(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    log = EventLog(ws)
    log.call(lambda: ws.close(4321, "done ✓"))
    assert ws.readyState == WebSocket.CLOSING
    event = await ws.wait_closed()
    assert isinstance(event, CloseEvent)
    assert (event.code, event.reason, event.wasClean) == (4321, "done ✓", True)
    assert log.types == ["close"]
    assert log.states == [WebSocket.CLOSED]
    assert log.dispatched_in_call == []
    assert event.isTrusted
    assert event.bubbles is False
    assert event.cancelable is False


@scenario
async def close_without_arguments_sends_no_code(servers: Servers) -> None:
    # web-platform-tests Close-1005-verify-code: close() sends a close frame
    # without a body; the server echoes it, so the code is 1005.
    ws = await WebSocket(servers.url("/echo"))
    ws.close()
    event = await ws.wait_closed()
    assert (event.code, event.reason, event.wasClean) == (1005, "", True)


@scenario
async def reason_without_code_sends_1000(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    ws.close(reason="bye")
    event = await ws.wait_closed()
    assert (event.code, event.reason, event.wasClean) == (1000, "bye", True)


@scenario
async def reason_of_123_bytes_reaches_the_server(servers: Servers) -> None:
    reason = "é" * 61 + "x"  # 123 UTF-8 bytes
    ws = await WebSocket(servers.url("/echo"))
    ws.close(3000, reason)
    event = await ws.wait_closed()
    assert (event.code, event.reason) == (3000, reason)


@scenario
async def server_initiated_close_with_code_and_reason(servers: Servers) -> None:
    ws = WebSocket(servers.url("/close", code=4001, reason="server says bye"))
    log = EventLog(ws)
    event = await ws.wait_closed()
    assert log.types == ["open", "close"]
    assert log.states == [WebSocket.OPEN, WebSocket.CLOSED]
    assert (event.code, event.reason, event.wasClean) == (4001, "server says bye", True)


@scenario
async def server_close_frame_without_code_gives_1005(servers: Servers) -> None:
    ws = WebSocket(servers.url("/close"))
    event = await ws.wait_closed()
    assert (event.code, event.reason, event.wasClean) == (1005, "", True)


@scenario
async def close_keeps_every_message_already_sent(servers: Servers) -> None:
    # MDN, close(): the closing handshake starts only after the messages
    # already sent have been sent; none is discarded.
    record_id = new_id()
    ws = await WebSocket(servers.url("/record", id=record_id))
    expected_bytes = 0
    for i in range(3000):
        if i % 3:
            ws.send(f"message {i} " + "x" * (i % 50))
        else:
            payload = bytes([i % 256]) * (i % 700)
            expected_bytes += len(payload)
            ws.send(payload)
    ws.send(b"\xab" * 300_000)  # one large message among them
    expected_bytes += 300_000
    ws.send("last")
    ws.close(1000, "after everything")
    event = await ws.wait_closed()
    assert (event.code, event.wasClean) == (1000, True)
    received = await report(servers, record_id)
    assert received["count"] == 3002
    assert received["text"] == 2000 + 1
    assert received["bytes"] == expected_bytes
    assert received["first"] == ""  # message 0: an empty binary message
    assert received["last"] == "last"
    assert (received["close_code"], received["close_reason"]) == (1000, "after everything")


@scenario
async def close_twice_fires_one_close_event(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    log = EventLog(ws)
    ws.close(1000)
    ws.close(3001, "ignored")  # CLOSING: nothing else happens
    event = await ws.wait_closed()
    ws.close()  # CLOSED: nothing happens
    await asyncio.sleep(QUIET)  # time for any stray event to arrive
    assert log.types == ["close"]
    assert event.code == 1000
    assert await ws.wait_closed() is event


@scenario
async def close_inside_open_listener(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    ws.onopen = lambda event: ws.close(3999, "from onopen")
    log = EventLog(ws)
    event = await ws.wait_closed()
    assert log.types == ["open", "close"]
    assert log.states == [WebSocket.CLOSING, WebSocket.CLOSED]
    assert (event.code, event.reason, event.wasClean) == (3999, "from onopen", True)


@scenario
async def server_that_never_answers_the_close_is_dropped(servers: Servers) -> None:
    # close_timeout: how long to wait for the server's close frame. Not a
    # failure of the connection (no error event), but not clean either.
    loop = asyncio.get_running_loop()
    ws = await WebSocket(servers.url("/silent"), close_timeout=300 * MS)
    log = EventLog(ws)
    start = loop.time()
    ws.close(1000)
    assert ws.readyState == WebSocket.CLOSING
    event = await ws.wait_closed()
    elapsed = loop.time() - start
    assert 250 * MS <= elapsed < 2000 * MS, elapsed
    assert log.types == ["close"]
    assert (event.code, event.reason, event.wasClean) == (1006, "", False)
