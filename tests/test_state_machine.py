"""The shared ``WebSocket`` state machine, driven through the public backend seam.

No sockets: ``backend=`` takes a :class:`FakeBackend`, whose connection
records what the ``WebSocket`` asks of it, and the test reports the
network's feedback (``connection_established``, ``message_received``,
``closing_handshake_started``, ``connection_closed``) in any order, with every
public call in every state in between. A hypothesis state machine compares
each step with a model written from the WHATWG WebSockets Standard: the
ready state, the events fired (type, fields, order, ``readyState`` during
each), the calls made to the connection, and ``bufferedAmount``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyws_shim import Blob, CloseEvent, DOMException, Event, MessageEvent, WebSocket
from pyws_shim.backends import (
    ABNORMAL_CLOSURE,
    Backend,
    CloseFrame,
    CloseOutcome,
    Closure,
    Connection,
    ConnectionHandler,
    closing_outcome,
)
from pyws_shim.options import ConnectOptions
from pyws_shim.validation import parse_url_with_ada

CONNECTING, OPEN, CLOSING, CLOSED = range(4)


@dataclass
class FakeConnection:
    """A :class:`pyws_shim.backends.Connection` that records every call."""

    handler: ConnectionHandler
    url: str
    protocols: list[str]
    options: ConnectOptions
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    buffered: int = 0
    accepts_sends: bool = True
    can_ping: bool = False
    can_close_with_any_code: bool = False
    can_pause_reading: bool = False

    @property
    def buffered_amount(self) -> int:
        return self.buffered

    def send(self, data: str | bytes | memoryview | Blob) -> bool:
        self.calls.append(("send", bytes(data) if isinstance(data, memoryview) else data))
        if self.accepts_sends:
            self.buffered += _size(data)
        return self.accepts_sends

    def binary_type_changed(self, binary_type: str) -> None:
        self.calls.append(("binary_type_changed", binary_type))

    def start_closing_handshake(self, code: int | None, reason: str) -> None:
        self.calls.append(("start_closing_handshake", code, reason))

    def fail(self) -> None:
        self.calls.append(("fail",))

    def ping(self, data: bytes) -> bool:
        raise NotImplementedError

    def pong(self, data: bytes) -> bool:
        raise NotImplementedError

    def pause_reading(self) -> None:
        raise NotImplementedError

    def resume_reading(self) -> None:
        raise NotImplementedError

    def write_limits(self, high: int, low: int) -> None:
        raise NotImplementedError

    def drain(self) -> asyncio.Future[None] | None:
        raise NotImplementedError


class FakeBackend:
    """A :class:`pyws_shim.backends.Backend` that makes :class:`FakeConnection` s."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []

    @staticmethod
    def parse_url(url: str, base: str | None, /) -> str:
        return parse_url_with_ada(url, base)

    def base_url(self) -> str | None:
        return None

    def connect(
        self,
        handler: ConnectionHandler,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> FakeConnection:
        connection = FakeConnection(handler, url, protocols, options)
        self.connections.append(connection)
        return connection


def _size(data: str | bytes | memoryview | Blob) -> int:
    if isinstance(data, str):
        return len(data.encode("utf-8"))
    if isinstance(data, Blob):
        return data.size
    return len(data)


def open_socket(
    protocols: list[str] | None = None,
) -> tuple[WebSocket, FakeConnection, list[tuple[str, int, Event]]]:
    """A WebSocket on a fake connection, with a log of (type, readyState, event)."""
    backend = FakeBackend()
    ws = WebSocket("ws://example.com/chat", protocols or [], backend=backend)
    log: list[tuple[str, int, Event]] = []
    for type_ in ("open", "message", "error", "close"):
        ws.addEventListener(type_, lambda event: log.append((event.type, ws.readyState, event)))
    return ws, backend.connections[0], log


def test_fakes_provide_the_seam() -> None:
    backend = FakeBackend()
    assert isinstance(backend, Backend)
    ws = WebSocket("ws://example.com/", ["a", "b"], backend=backend)
    connection = backend.connections[0]
    assert isinstance(connection, Connection)
    assert isinstance(connection.handler, ConnectionHandler)
    assert connection.url == "ws://example.com/"
    assert connection.protocols == ["a", "b"]
    assert ws.readyState == CONNECTING


def test_a_backend_object_needs_the_whole_interface() -> None:
    with pytest.raises(TypeError, match="backend"):
        WebSocket("ws://example.com/", backend=object())


def test_the_handler_is_not_the_socket() -> None:
    # The DOM surface has no backend-facing methods.
    ws, connection, _ = open_socket()
    handler: object = connection.handler
    assert handler is not ws
    for name in ("connection_established", "message_received", "connection_closed"):
        assert not hasattr(ws, name)


def test_a_normal_session() -> None:
    ws, connection, log = open_socket(["chat"])
    connection.handler.connection_established("chat", "permessage-deflate")
    assert [(t, s) for t, s, _ in log] == [("open", OPEN)]
    assert (ws.protocol, ws.extensions) == ("chat", "permessage-deflate")
    ws.send("hello")
    assert connection.calls == [("send", "hello")]
    assert ws.bufferedAmount == 5
    connection.handler.message_received("hi")
    ws.close(1000, "bye")
    assert ws.readyState == CLOSING
    assert connection.calls[-1] == ("start_closing_handshake", 1000, "bye")
    connection.handler.connection_closed(Closure(received=CloseFrame(1000, "bye"), clean=True))
    assert [(t, s) for t, s, _ in log] == [("open", OPEN), ("message", OPEN), ("close", CLOSED)]
    message, close = log[1][2], log[2][2]
    assert isinstance(message, MessageEvent)
    assert message.data == "hi"
    assert message.origin == "ws://example.com"
    assert isinstance(close, CloseEvent)
    assert (close.code, close.reason, close.wasClean) == (1000, "bye", True)


def test_binary_messages_follow_binary_type_at_dispatch() -> None:
    ws, connection, log = open_socket()
    connection.handler.connection_established("", "")
    connection.handler.message_received(b"\x00\x01")
    ws.binaryType = "arraybuffer"
    assert connection.calls == [("binary_type_changed", "arraybuffer")]
    connection.handler.message_received(b"\x02")
    first, second = log[1][2], log[2][2]
    assert isinstance(first, MessageEvent)
    assert isinstance(second, MessageEvent)
    assert isinstance(first.data, Blob)
    assert first.data.held_bytes == b"\x00\x01"
    assert second.data == b"\x02"


def test_a_backend_may_give_a_blob() -> None:
    _ws, connection, log = open_socket()
    connection.handler.connection_established("", "")
    blob = Blob.from_bytes(b"abc")
    connection.handler.message_received(blob)
    event = log[-1][2]
    assert isinstance(event, MessageEvent)
    assert event.data is blob


def test_close_while_connecting_fails_without_an_event_inside_the_call() -> None:
    ws, connection, log = open_socket()
    ws.close(3000, "never mind")
    assert ws.readyState == CLOSING
    assert log == []
    assert connection.calls == [("fail",)]
    # A late "established" from the backend does not open it.
    connection.handler.connection_established("", "")
    connection.handler.connection_closed(Closure(failed=True))
    assert [(t, s) for t, s, _ in log] == [("error", CLOSED), ("close", CLOSED)]
    close = log[-1][2]
    assert isinstance(close, CloseEvent)
    assert (close.code, close.reason, close.wasClean) == (1006, "", False)


def test_a_second_report_of_the_close_is_ignored() -> None:
    _ws, connection, log = open_socket()
    connection.handler.connection_established("", "")
    connection.handler.connection_closed(Closure(received=CloseFrame(1000, ""), clean=True))
    connection.handler.connection_closed(Closure(failed=True))
    connection.handler.message_received("late")
    assert [t for t, _, _ in log] == ["open", "close"]


def test_the_failure_cause_reaches_connection_closed() -> None:
    import asyncio

    from pyws_shim import ConnectionClosed

    async def main() -> None:
        ws, connection, _ = open_socket()
        cause = ConnectionRefusedError("refused")
        connection.handler.connection_closed(Closure(failed=True, cause=cause))
        with pytest.raises(ConnectionClosed) as info:
            await ws.wait_open()
        assert info.value.__cause__ is cause
        assert info.value.code == ABNORMAL_CLOSURE

    asyncio.run(main())


@pytest.mark.parametrize(
    ("closure", "closing", "outcome"),
    [
        # A clean closing handshake: the server's code and reason.
        (
            Closure(CloseFrame(1000, "bye"), clean=True),
            True,
            CloseOutcome(1000, "bye", True, False),
        ),
        (Closure(CloseFrame(1005, ""), clean=True), True, CloseOutcome(1005, "", True, False)),
        # A failed connection: 1006 and an error, whatever came.
        (Closure(CloseFrame(1000, "x"), failed=True), True, CloseOutcome(1006, "", False, True)),
        (Closure(failed=True), False, CloseOutcome(1006, "", False, True)),
        # RFC 6455 7.2.1: lost unexpectedly (before either side started closing): failed.
        (Closure(), False, CloseOutcome(1006, "", False, True)),
        # Dropped while closing (close_timeout): 1006, no error.
        (Closure(), True, CloseOutcome(1006, "", False, False)),
        # The server's close frame came, ours was never sent: its code, not clean.
        (Closure(CloseFrame(4000, "r"), clean=False), True, CloseOutcome(4000, "r", False, False)),
    ],
)
def test_closing_outcome(closure: Closure, closing: bool, outcome: CloseOutcome) -> None:
    assert closing_outcome(closure, closing=closing) == outcome


# The state machine against a model of the standard.

messages = st.one_of(st.text(max_size=5), st.binary(max_size=5))
closures = st.builds(
    Closure,
    received=st.none()
    | st.builds(CloseFrame, st.sampled_from([1000, 1005, 3000, 4999]), st.text(max_size=3)),
    clean=st.booleans(),
    failed=st.booleans(),
)
close_codes = st.none() | st.sampled_from([1000, 3000, 4999])


def standard_outcome(closure: Closure, *, closing: bool) -> CloseOutcome:
    """The ``close`` event (and whether ``error`` comes first) by the
    standard's words, written here rather than taken from the code under
    test (``closing_outcome``)."""
    # RFC 6455 7.2.1: a connection lost before either side started the
    # closing handshake is failed; so is one the backend had to fail.
    failed = closure.failed or (not closure.clean and not closing)
    if failed:
        # WHATWG "When the WebSocket connection is closed": the error event;
        # RFC 6455 7.1.5: no close frame that counts, so 1006.
        return CloseOutcome(code=1006, reason="", was_clean=False, error=True)
    if closure.received is None:
        return CloseOutcome(code=1006, reason="", was_clean=False, error=False)
    # Otherwise the server's close frame, clean if the TCP connection closed
    # after the closing handshake (RFC 6455 7.1.4).
    return CloseOutcome(
        code=closure.received.code,
        reason=closure.received.reason,
        was_clean=closure.clean,
        error=False,
    )


class WebSocketModel(RuleBasedStateMachine):
    """Every order of feedback and public calls, against the WHATWG steps."""

    def __init__(self) -> None:
        super().__init__()
        self.ws, self.connection, self.log = open_socket()
        self.state = CONNECTING
        self.expected_events: list[tuple[str, int]] = []
        self.expected_calls: list[tuple[Any, ...]] = []
        self.after_close = 0  # bytes send() counted after the closing handshake started
        self.expected_binary_type = "blob"
        self.outcome: CloseOutcome | None = None

    # Feedback from the protocol.

    @rule(protocol=st.sampled_from(["", "chat"]), extensions=st.sampled_from(["", "x"]))
    def established(self, protocol: str, extensions: str) -> None:
        self.connection.handler.connection_established(protocol, extensions)
        if self.state == CONNECTING:
            self.state = OPEN
            self.expected_events.append(("open", OPEN))
            assert (self.ws.protocol, self.ws.extensions) == (protocol, extensions)

    @rule(data=messages)
    def message(self, data: str | bytes) -> None:
        before = len(self.log)
        self.connection.handler.message_received(data)
        if self.state == OPEN:
            self.expected_events.append(("message", OPEN))
            event = self.log[before][2]
            assert isinstance(event, MessageEvent)
            if isinstance(data, bytes) and self.expected_binary_type == "blob":
                assert isinstance(event.data, Blob)
                assert event.data.held_bytes == data
            else:
                assert event.data == data

    @rule()
    def closing_handshake_started(self) -> None:
        self.connection.handler.closing_handshake_started()
        if self.state == OPEN:
            self.state = CLOSING

    @rule(closure=closures)
    def closed(self, closure: Closure) -> None:
        before = len(self.log)
        self.connection.handler.connection_closed(closure)
        if self.state == CLOSED:
            return
        outcome = standard_outcome(closure, closing=self.state == CLOSING)
        self.state = CLOSED
        if outcome.error:
            self.expected_events.append(("error", CLOSED))
        self.expected_events.append(("close", CLOSED))
        close = self.log[-1][2]
        assert isinstance(close, CloseEvent)
        assert (close.code, close.reason, close.wasClean) == (
            outcome.code,
            outcome.reason,
            outcome.was_clean,
        )
        assert len(self.log) == before + (2 if outcome.error else 1)

    # The public calls.

    @rule(data=messages, accepted=st.booleans())
    def send(self, data: str | bytes, accepted: bool) -> None:
        self.connection.accepts_sends = accepted
        before = len(self.log)
        if self.state == CONNECTING:
            with pytest.raises(DOMException) as info:
                self.ws.send(data)
            assert info.value.name == "InvalidStateError"
        else:
            self.ws.send(data)
            if self.state == OPEN:
                self.expected_calls.append(("send", data))
                if not accepted:
                    self.after_close += _size(data)
            else:
                self.after_close += _size(data)
        assert len(self.log) == before, "an event was dispatched inside send()"

    @rule(code=close_codes, reason=st.sampled_from([None, "", "bye"]))
    def close(self, code: int | None, reason: str | None) -> None:
        before = len(self.log)
        self.ws.close(code, reason)
        if self.state == CONNECTING:
            self.state = CLOSING
            self.expected_calls.append(("fail",))
        elif self.state == OPEN:
            self.state = CLOSING
            sent_code = 1000 if code is None and reason is not None else code
            self.expected_calls.append(("start_closing_handshake", sent_code, reason or ""))
        assert len(self.log) == before, "an event was dispatched inside close()"

    @rule(value=st.sampled_from(["blob", "arraybuffer", "nodebuffer", ""]))
    def binary_type(self, value: str) -> None:
        if value in ("blob", "arraybuffer"):
            self.ws.binaryType = value  # type: ignore[assignment]
            self.expected_binary_type = value
            self.expected_calls.append(("binary_type_changed", value))
        else:
            with pytest.warns(RuntimeWarning):
                self.ws.binaryType = value  # type: ignore[assignment]

    @precondition(lambda self: self.state == CLOSED)
    @rule()
    def nothing_happens_once_closed(self) -> None:
        before = (len(self.log), len(self.connection.calls))
        self.connection.handler.connection_established("late", "")
        self.connection.handler.message_received("late")
        self.connection.handler.closing_handshake_started()
        self.ws.close()
        assert (len(self.log), len(self.connection.calls)) == before

    # What holds after every step.

    @invariant()
    def ready_state(self) -> None:
        assert self.ws.readyState == self.state

    @invariant()
    def events(self) -> None:
        assert [(t, s) for t, s, _ in self.log] == self.expected_events

    @invariant()
    def connection_calls(self) -> None:
        assert self.connection.calls == self.expected_calls

    @invariant()
    def buffered_amount(self) -> None:
        assert self.ws.bufferedAmount == self.connection.buffered + self.after_close

    @invariant()
    def binary_type_attribute(self) -> None:
        assert self.ws.binaryType == self.expected_binary_type


WebSocketModel.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
test_websocket_model = WebSocketModel.TestCase
