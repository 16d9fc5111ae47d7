"""Scenarios: failing the connection, and connections lost.

WHATWG "feedback from the protocol": when the user agent had to fail the
WebSocket connection, an ``error`` event comes before ``close``, and the
close code is 1006 (RFC 6455 7.1.5: no close frame was received). A TCP
connection lost before the closing handshake is one of those failures:
RFC 6455 7.2.1, "If at any point the underlying transport layer connection
is unexpectedly lost, the client MUST _Fail the WebSocket Connection_."
"""

from __future__ import annotations

import asyncio

from pyws_shim import ConnectionClosed, WebSocket

from . import Servers, scenario
from ._support import MS, QUIET, EventLog

# Native behaviours no wrapper can see or undo (README, "native differences").
FIREFOX_DROPS_OPEN = {
    "firefox": (
        "Firefox 153 often fires no open, and drops the messages before it, when the "
        "server's first frames are invalid: error and close come alone, and nothing a "
        "wrapper can see (readyState goes from 0 to 3, protocol and extensions stay '') "
        "says that the handshake had completed"
    )
}
_MASKED = (
    "accepts a masked frame from the server and delivers its message (RFC 6455 5.1 "
    "says the client must fail the connection); a wrapper never sees the mask bit"
)
ACCEPTS_MASKED_FRAMES = {"firefox": "Firefox 153 " + _MASKED, "deno": "Deno 2.9 " + _MASKED}


async def _fails(url: str) -> EventLog:
    """Open ``url``; check the connection failed the way the standard says."""
    ws = WebSocket(url)
    log = EventLog(ws)
    event = await ws.wait_closed()
    assert log.types[-2:] == ["error", "close"], log.types
    assert log.states[-2:] == [WebSocket.CLOSED, WebSocket.CLOSED]
    assert (event.code, event.reason, event.wasClean) == (1006, "", False)
    assert ws.readyState == WebSocket.CLOSED
    return log


@scenario
async def refused_connection_fails(servers: Servers) -> None:
    log = await _fails(servers.refused)
    assert log.types == ["error", "close"]


@scenario
async def refused_handshake_fails(servers: Servers) -> None:
    for status in (403, 404, 500):
        log = await _fails(servers.url("/reject", status=status))
        assert log.types == ["error", "close"]


@scenario
async def response_that_is_not_an_upgrade_fails(servers: Servers) -> None:
    log = await _fails(servers.url("/not-websocket"))
    assert log.types == ["error", "close"]


@scenario(skip=FIREFOX_DROPS_OPEN)
async def invalid_utf8_in_a_text_message_fails(servers: Servers) -> None:
    # FIN+text, 2 bytes: 0xC3 0x28 is not UTF-8. No message event.
    log = await _fails(servers.url("/raw", hex="8102c328"))
    assert log.types == ["open", "error", "close"]


@scenario(skip=FIREFOX_DROPS_OPEN)
async def invalid_utf8_across_fragments_fails(servers: Servers) -> None:
    # A text frame with 0xE2 0x82, then a final continuation with 0x28.
    log = await _fails(servers.url("/raw", hex="0102e282" + "800128"))
    assert log.types == ["open", "error", "close"]


@scenario(skip=FIREFOX_DROPS_OPEN)
async def reserved_opcode_fails(servers: Servers) -> None:
    log = await _fails(servers.url("/raw", hex="8300"))
    assert log.types == ["open", "error", "close"]


@scenario(skip=ACCEPTS_MASKED_FRAMES)
async def masked_frame_from_the_server_fails(servers: Servers) -> None:
    # RFC 6455 5.1: "A client MUST close a connection if it detects a masked frame."
    log = await _fails(servers.url("/raw", hex="818100000000" + "61"))
    assert log.types == ["open", "error", "close"]


@scenario
async def invalid_close_code_from_the_server_fails(servers: Servers) -> None:
    # A close frame with code 999.
    log = await _fails(servers.url("/raw", hex="880203e7"))
    assert log.types == ["open", "error", "close"]


@scenario(skip=FIREFOX_DROPS_OPEN)
async def invalid_utf8_in_a_close_reason_fails(servers: Servers) -> None:
    log = await _fails(servers.url("/raw", hex="880403e8c328"))
    assert log.types == ["open", "error", "close"]


@scenario(skip=FIREFOX_DROPS_OPEN)
async def messages_before_a_protocol_error_are_delivered(servers: Servers) -> None:
    # "ok", then an unfinished fragmented message interrupted by a new text frame.
    ws = WebSocket(servers.url("/raw", hex="81026f6b" + "010161" + "810162"))
    log = EventLog(ws)
    await ws.wait_closed()
    assert log.types == ["open", "message", "error", "close"]
    assert log.events[1].data == "ok"  # type: ignore[attr-defined]


@scenario
async def lost_tcp_connection_fails_the_connection(servers: Servers) -> None:
    # Undici 7 (Node 24) fires error here; Chromium and undici 6 (Node 22)
    # fire only close, and the shim adds the error the standard asks for.
    ws = WebSocket(servers.url("/drop", after=2))
    log = EventLog(ws)
    event = await ws.wait_closed()
    assert log.types == ["open", "message", "message", "error", "close"]
    assert [e.data for e in log.events[1:3]] == ["0", "1"]  # type: ignore[attr-defined]
    assert (event.code, event.reason, event.wasClean) == (1006, "", False)


@scenario
async def failures_never_raise_out_of_the_event_loop(servers: Servers) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        for url in (
            servers.refused,
            servers.url("/reject", status=403),
            servers.url("/raw", hex="8300"),
            servers.url("/drop"),
            servers.url("/drop", reset=1),
        ):
            ws = WebSocket(url)
            event = await ws.wait_closed()
            assert event.code == 1006
        await asyncio.sleep(QUIET)  # for anything reported late
    finally:
        loop.set_exception_handler(previous)
    assert reported == []


@scenario
async def failed_connection_rejects_wait_open(servers: Servers) -> None:
    ws = WebSocket(servers.url("/reject", status=403))
    try:
        await ws.wait_open()
    except ConnectionClosed as exc:
        assert (exc.code, exc.reason, exc.wasClean) == (1006, "", False)
        assert exc.event is await ws.wait_closed()
    else:
        raise AssertionError("wait_open() did not raise")


@scenario
async def open_timeout_fails_the_connection(servers: Servers) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    ws = WebSocket(servers.url("/slow-handshake", seconds=1500 * MS), open_timeout=300 * MS)
    log = EventLog(ws)
    try:
        await ws.wait_open()
    except ConnectionClosed as exc:
        assert isinstance(exc.__cause__, TimeoutError), repr(exc.__cause__)
    else:
        raise AssertionError("wait_open() did not raise")
    event = await ws.wait_closed()
    elapsed = loop.time() - start
    assert 250 * MS <= elapsed < 1400 * MS, elapsed
    assert log.types == ["error", "close"]
    assert (event.code, event.reason, event.wasClean) == (1006, "", False)
