"""Scenarios: the WebSocket's attributes and the argument rules of send()
and close() in every state.

readyState, protocol, extensions, binaryType and url as the WHATWG
WebSockets Standard defines them; send() and close() checks as the README
("The API": send(), close()) and web-platform-tests
(websockets/Close-*.any.js, Send-*.any.js) say.
"""

from __future__ import annotations

import asyncio
import warnings

from pyws_shim import Blob, CloseEvent, Event, MessageEvent, WebSocket

from . import Servers, scenario
from ._support import QUIET, dom_error, new_id, raises, report

STATE_NAMES = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")


# The state constants.


@scenario
async def state_constants_on_class_and_instance(servers: Servers) -> None:
    expected = {"CONNECTING": 0, "OPEN": 1, "CLOSING": 2, "CLOSED": 3}
    for name, value in expected.items():
        assert getattr(WebSocket, name) == value, f"WebSocket.{name} == {value}"
    ws = WebSocket(servers.url("/echo"))
    for name, value in expected.items():
        assert getattr(ws, name) == value, f"ws.{name} == {value}"
    assert ws.readyState == ws.CONNECTING
    ws.close()
    await ws.wait_closed()
    assert ws.readyState == ws.CLOSED == 3


# readyState.


@scenario
async def ready_state_moves_forward_through_a_session(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    seen: list[tuple[str, int]] = [("constructed", ws.readyState)]

    def on_open(event: Event) -> None:
        seen.append(("open", ws.readyState))
        ws.send("hello")
        seen.append(("after send", ws.readyState))

    def on_message(event: Event) -> None:
        seen.append(("message", ws.readyState))
        ws.close(1000, "done")
        seen.append(("after close", ws.readyState))

    ws.onopen = on_open
    ws.onmessage = on_message
    ws.onclose = lambda event: seen.append(("close", ws.readyState))
    ws.onerror = lambda event: seen.append(("error", ws.readyState))

    # Sample readyState on every turn of the loop too: it never goes back.
    samples: list[int] = []
    closed = asyncio.create_task(ws.wait_closed())
    while not closed.done():
        samples.append(ws.readyState)
        await asyncio.sleep(0)
    event = await closed
    for _ in range(5):  # and it stays CLOSED afterwards
        await asyncio.sleep(0)
        samples.append(ws.readyState)

    assert seen == [
        ("constructed", 0),
        ("open", 1),
        ("after send", 1),
        ("message", 1),
        ("after close", 2),
        ("close", 3),
    ], seen
    assert samples == sorted(samples), f"readyState went backwards: {samples}"
    assert samples[-1] == WebSocket.CLOSED
    assert (event.code, event.wasClean) == (1000, True), event


@scenario
async def ready_state_closing_when_server_closes(servers: Servers) -> None:
    # The server starts the closing handshake: CLOSING (when the close frame
    # arrives) then CLOSED, never back.
    ws = WebSocket(servers.url("/close", code=4001, reason="bye"))
    states: list[int] = []
    closed = asyncio.create_task(ws.wait_closed())
    while not closed.done():
        states.append(ws.readyState)
        await asyncio.sleep(0)
    event = await closed
    states.append(ws.readyState)
    assert states == sorted(states), f"readyState went backwards: {states}"
    assert (states[0], states[-1]) == (0, 3), states
    assert (event.code, event.reason, event.wasClean) == (4001, "bye", True), event


# protocol, extensions, url.


@scenario(
    skip={
        "deno": (
            "Deno 2.9's native WebSocket offers no permessage-deflate, so extensions is '' "
            "at open; no wrapper can add an extension the runtime does not negotiate"
        )
    }
)
async def protocol_and_extensions_empty_until_open(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"), ["chat", "other"])
    assert ws.protocol == "", ws.protocol
    assert ws.extensions == "", ws.extensions
    at_open: list[tuple[str, str]] = []
    ws.onopen = lambda event: at_open.append((ws.protocol, ws.extensions))
    await ws.wait_open()
    assert len(at_open) == 1
    protocol, extensions = at_open[0]
    assert protocol == "chat", f"protocol at open: {protocol!r}"
    # /echo accepts the permessage-deflate offer that every runtime makes.
    assert extensions.startswith("permessage-deflate"), f"extensions at open: {extensions!r}"
    ws.close()
    assert (ws.protocol, ws.extensions) == (protocol, extensions)
    await ws.wait_closed()
    # They keep their values once closed.
    assert (ws.protocol, ws.extensions) == (protocol, extensions)


@scenario
async def protocol_empty_when_server_chooses_none(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        assert ws.protocol == "", ws.protocol
        assert isinstance(ws.extensions, str)


@scenario
async def url_attribute_is_the_serialized_url(servers: Servers) -> None:
    given = servers.url("/echo").replace("ws://", "HTTP://", 1) + "?a=b c"
    expected = servers.url("/echo") + "?a=b%20c"
    ws = WebSocket(given)
    assert ws.url == expected, ws.url
    await ws.wait_open()
    assert ws.url == expected, ws.url
    ws.close()
    await ws.wait_closed()
    assert ws.url == expected, ws.url


# binaryType.


@scenario
async def binary_type_accepts_blob_and_arraybuffer(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    assert ws.binaryType == "blob", ws.binaryType
    ws.binaryType = "arraybuffer"
    assert ws.binaryType == "arraybuffer", ws.binaryType
    ws.binaryType = "blob"
    assert ws.binaryType == "blob", ws.binaryType
    ws.binaryType = "arraybuffer"
    await ws.wait_open()
    assert ws.binaryType == "arraybuffer", ws.binaryType
    ws.close()
    await ws.wait_closed()


@scenario
async def binary_type_ignores_other_values(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    bad_values: tuple[object, ...] = ("text", "", None, 5, "ARRAYBUFFER", "Blob", b"blob")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws.binaryType = "arraybuffer"
        for value in bad_values:
            ws.binaryType = value  # type: ignore[assignment]
            assert ws.binaryType == "arraybuffer", (
                f"binaryType = {value!r} changed it to {ws.binaryType!r}"
            )
        ws.binaryType = "blob"
        for value in bad_values:
            ws.binaryType = value  # type: ignore[assignment]
            assert ws.binaryType == "blob", (
                f"binaryType = {value!r} changed it to {ws.binaryType!r}"
            )
        await ws.wait_open()
        # Once open too, and it governs the data of the next message.
        ws.binaryType = "arraybuffer"
        ws.binaryType = "text"  # type: ignore[assignment]
    assert ws.binaryType == "arraybuffer"
    received: asyncio.Future[MessageEvent] = asyncio.get_running_loop().create_future()

    def on_message(event: MessageEvent) -> None:
        if not received.done():
            received.set_result(event)

    ws.onmessage = on_message
    ws.send(b"\x01\x02")
    event = await received
    assert isinstance(event.data, bytes), repr(event.data)
    assert event.data == b"\x01\x02", repr(event.data)
    ws.close()
    await ws.wait_closed()


@scenario
async def binary_type_applies_when_the_message_is_dispatched(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    await ws.wait_open()
    data: list[object] = []
    two = asyncio.Event()

    def on_message(event: MessageEvent) -> None:
        data.append(event.data)
        ws.binaryType = "arraybuffer"  # for the next message
        if len(data) == 2:
            two.set()

    ws.onmessage = on_message
    ws.send(b"first")
    ws.send(b"second")
    await two.wait()
    first, second = data
    assert isinstance(first, Blob), repr(first)
    assert await first.bytes() == b"first"
    assert second == b"second", repr(second)
    ws.close()
    await ws.wait_closed()


# send().


@scenario
async def send_while_connecting_is_invalid_state_error(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    for data in ("text", b"bytes", bytearray(b"ba"), memoryview(b"mv"), Blob([b"blob"]), ""):
        dom_error("InvalidStateError", f"send({data!r})", ws.send, data)
    assert ws.readyState == WebSocket.CONNECTING
    assert ws.bufferedAmount == 0, ws.bufferedAmount
    # The failed send() did not harm the connection.
    await ws.wait_open()
    ws.binaryType = "arraybuffer"
    ws.send("after open")
    async for message in ws:
        assert message == "after open", message
        break
    ws.close()
    await ws.wait_closed()


@scenario
async def send_bad_type_is_type_error_in_every_state(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    released = memoryview(b"released")
    released.release()
    bad: tuple[object, ...] = (12, None, [1], {}, 1.5, True, ["text"], (b"x",), object(), released)

    def check(state: str) -> None:
        for data in bad:
            raises(TypeError, f"send({data!r}) while {state}", ws.send, data)

    # The type check comes before the state check.
    assert ws.readyState == WebSocket.CONNECTING
    check("CONNECTING")
    await ws.wait_open()
    check("OPEN")
    assert ws.bufferedAmount == 0, ws.bufferedAmount
    ws.close()
    assert ws.readyState == WebSocket.CLOSING
    check("CLOSING")
    await ws.wait_closed()
    check("CLOSED")
    assert ws.bufferedAmount == 0, f"rejected sends counted: {ws.bufferedAmount}"


# close() arguments, in every state.

BAD_CODES = (999, 1001, 2999, 5000, 0, 1005, 1006, 1015, 65536, -1)


def check_close_arguments(ws: WebSocket) -> None:
    """Every close() argument error, with ``ws`` in its current state; none
    of them changes the state."""
    state = ws.readyState
    where = f"while {STATE_NAMES[state]}"
    for code in BAD_CODES:
        dom_error("InvalidAccessError", f"close({code}) {where}", ws.close, code)
        dom_error("InvalidAccessError", f"close({code}, 'reason') {where}", ws.close, code, "r")
    too_long = (
        "a" * 124,  # 124 bytes
        "é" * 62,  # 124 bytes
        "a" * 121 + "€",  # 124 bytes: 121 + 3
        "\ud800" * 42,  # 42 lone surrogates: 42 U+FFFD, 126 bytes
        "a" * 120 + "\udc00" * 2,  # 120 + 6 = 126 bytes
        "😀" * 31,  # 124 bytes
    )
    for reason in too_long:
        what = f"{len(reason)} chars {where}"
        dom_error("SyntaxError", f"close(1000, {what})", ws.close, 1000, reason)
        dom_error("SyntaxError", f"close(3000, {what})", ws.close, 3000, reason)
        dom_error("SyntaxError", f"close(reason={what})", ws.close, reason=reason)
    # The code is checked before the reason.
    for code in (999, 1001, 5000):
        dom_error("InvalidAccessError", f"close({code}, 200 bytes)", ws.close, code, "a" * 200)
    assert ws.readyState == state, f"a rejected close() changed readyState {where}"


# A reason of exactly 123 bytes is allowed; so are 41 lone surrogates (41 x 3).
REASONS_OK = ("a" * 123, "é" * 61 + "a", "\ud800" * 41, "😀" * 30 + "abc")


@scenario
async def close_arguments_checked_while_connecting(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    assert ws.readyState == WebSocket.CONNECTING
    check_close_arguments(ws)
    assert ws.readyState == WebSocket.CONNECTING
    # The socket is untouched: it still opens.
    await ws.wait_open()
    ws.close()
    await ws.wait_closed()


@scenario
async def close_arguments_checked_while_open(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        check_close_arguments(ws)
        assert ws.readyState == WebSocket.OPEN
        # Still usable.
        ws.send("still open")
        assert await anext(ws) == "still open"


@scenario
async def close_arguments_checked_while_closing(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    await ws.wait_open()
    ws.close(1000)
    assert ws.readyState == WebSocket.CLOSING
    check_close_arguments(ws)
    for reason in REASONS_OK:  # valid arguments: nothing happens
        ws.close(3000, reason)
    assert ws.readyState == WebSocket.CLOSING
    event = await ws.wait_closed()
    assert (event.code, event.reason) == (1000, ""), f"not the first close(): {event}"


@scenario
async def close_arguments_checked_while_closed(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    await ws.wait_open()
    ws.close()
    await ws.wait_closed()
    assert ws.readyState == WebSocket.CLOSED
    check_close_arguments(ws)
    for reason in REASONS_OK:
        ws.close(1000, reason)
    assert ws.readyState == WebSocket.CLOSED


@scenario
async def close_reason_of_123_bytes_is_sent(servers: Servers) -> None:
    record_id = new_id()
    ws = WebSocket(servers.url("/record", id=record_id))
    await ws.wait_open()
    reason = "é" * 61 + "a"  # 123 bytes
    ws.close(4000, reason)
    event = await ws.wait_closed()
    assert (event.code, event.wasClean) == (4000, True), event
    assert event.reason == reason, event.reason  # /record echoes the close frame
    result = await report(servers, record_id)
    assert result["close_code"] == 4000, result
    assert result["close_reason"] == reason, result


@scenario
async def lone_surrogates_in_reason_count_as_replacement_characters(servers: Servers) -> None:
    record_id = new_id()
    ws = WebSocket(servers.url("/record", id=record_id))
    await ws.wait_open()
    dom_error("SyntaxError", "42 lone surrogates", ws.close, 1000, "\udfff" * 42)
    ws.close(1000, "\udfff" * 41)  # 41 x U+FFFD: 123 bytes
    event = await ws.wait_closed()
    assert event.code == 1000, event
    assert event.reason == "\ufffd" * 41, repr(event.reason)
    result = await report(servers, record_id)
    assert result["close_reason"] == "\ufffd" * 41, result


# close() in CLOSING and CLOSED, and while CONNECTING.


@scenario
async def close_while_closing_or_closed_does_nothing(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    await ws.wait_open()
    events: list[str] = []
    for kind in ("open", "message", "error", "close"):
        ws.addEventListener(kind, lambda event: events.append(event.type))
    ws.close(1000, "first")
    assert ws.readyState == WebSocket.CLOSING
    ws.close()
    ws.close(3000, "second")
    ws.close(reason="third")
    assert ws.readyState == WebSocket.CLOSING
    event = await ws.wait_closed()
    assert (event.code, event.reason) == (1000, "first"), event
    assert ws.readyState == WebSocket.CLOSED
    ws.close()
    ws.close(4000, "after")
    assert ws.readyState == WebSocket.CLOSED
    await asyncio.sleep(QUIET)  # time for any stray event to arrive
    assert events == ["close"], events
    assert ws.readyState == WebSocket.CLOSED


@scenario
async def close_while_connecting_fails_the_connection(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    inside_close = False
    seen: list[tuple[str, int, bool]] = []
    closed: asyncio.Future[CloseEvent] = asyncio.get_running_loop().create_future()

    def record(event: Event) -> None:
        seen.append((event.type, ws.readyState, inside_close))
        assert event.isTrusted, event
        assert event.target is ws, event.target
        if event.type == "error":
            assert not isinstance(event, (CloseEvent, MessageEvent)), repr(event)
        if isinstance(event, CloseEvent) and not closed.done():
            closed.set_result(event)

    for kind in ("open", "message", "error", "close"):
        ws.addEventListener(kind, record)
    inside_close = True
    ws.close()
    inside_close = False
    assert ws.readyState == WebSocket.CLOSING, ws.readyState
    assert seen == [], f"events dispatched inside close(): {seen}"
    event = await closed
    assert seen == [("error", 3, False), ("close", 3, False)], seen
    assert (event.code, event.reason, event.wasClean) == (1006, "", False), event
    assert ws.readyState == WebSocket.CLOSED
    assert (ws.protocol, ws.extensions) == ("", "")
    await asyncio.sleep(QUIET)  # no late open or second close
    assert len(seen) == 2, seen
    assert ws.readyState == WebSocket.CLOSED


@scenario
async def close_with_code_while_connecting_still_reports_1006(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    ws.close(4000, "é" * 61 + "a")  # valid arguments, a 123-byte reason: no error
    assert ws.readyState == WebSocket.CLOSING
    event = await ws.wait_closed()
    assert (event.code, event.reason, event.wasClean) == (1006, "", False), event
