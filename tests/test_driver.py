"""The CPython driver without a socket: a real ``WebSocket`` and
``AsyncioConnection`` on a fake transport, to check what the wire sees (the
frames written, their masks) and the per-message paths (the dispatch of a
message to a lone ``onmessage``, which takes a shorter path than other
listeners, and must behave the same)."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.http11 import Response

from pyws_shim import Event, MessageEvent, WebSocket
from pyws_shim.backends import ConnectionHandler
from pyws_shim.backends.asyncio.driver import AsyncioConnection
from pyws_shim.options import ConnectOptions
from pyws_shim.validation import parse_url_with_ada

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def close(self) -> None:
        self.closed = True

    abort = close

    def can_write_eof(self) -> bool:
        return False


class DriverBackend:
    """The asyncio backend's driver, connected to a fake transport by the test."""

    def __init__(self) -> None:
        self.connection: AsyncioConnection | None = None

    @staticmethod
    def parse_url(url: str, base: str | None, /) -> str:
        return parse_url_with_ada(url, base)

    def base_url(self) -> None:
        return None

    def connect(
        self, handler: ConnectionHandler, url: str, protocols: list[str], options: ConnectOptions
    ) -> AsyncioConnection:
        self.connection = AsyncioConnection(
            handler, asyncio.get_running_loop(), url, protocols, options
        )
        return self.connection


@dataclass
class Wire:
    ws: WebSocket
    connection: AsyncioConnection
    transport: FakeTransport

    def receive(self, data: bytes) -> None:
        while data:
            buffer = self.connection.get_buffer(-1)
            n = min(len(buffer), len(data))
            buffer[:n] = data[:n]
            self.connection.buffer_updated(n)
            data = data[n:]

    def frames(self) -> list[tuple[int, bytes, bytes]]:
        """(first byte, masking key, unmasked payload) of each frame written."""
        data = bytes(self.transport.data)
        frames = []
        pos = data.index(b"\r\n\r\n") + 4  # after the request
        while pos < len(data):
            head1, length = data[pos], data[pos + 1] & 0x7F
            assert data[pos + 1] & 0x80, "every frame from a client is masked"
            pos += 2
            if length >= 126:
                size = 2 if length == 126 else 8
                length, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
            key, pos = data[pos : pos + 4], pos + 4
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(data[pos : pos + length]))
            frames.append((head1, key, payload))
            pos += length
        return frames


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    # As asyncio.run() ends: cancel what is left (the connections' guardian).
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    asyncio.set_event_loop(None)
    loop.close()


def open_wire(loop: asyncio.AbstractEventLoop) -> Wire:
    backend = DriverBackend()

    async def make() -> WebSocket:
        return WebSocket("ws://example.com/", compression=None, backend=backend)

    ws = loop.run_until_complete(make())
    connection = backend.connection
    assert connection is not None
    transport = FakeTransport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    key = connection._protocol.key.encode()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    wire = Wire(ws, connection, transport)
    wire.receive(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    assert ws.readyState == WebSocket.OPEN
    return wire


def text_frame(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 126
    return bytes((0x81, len(data))) + data


def next_turns(loop: asyncio.AbstractEventLoop, count: int = 2) -> None:
    for _ in range(count):
        loop.run_until_complete(asyncio.sleep(0))


def test_frames_are_masked_with_fresh_keys(loop: asyncio.AbstractEventLoop) -> None:
    wire = open_wire(loop)
    sizes = [0, 1, 125, 126, 65535, 65536, 70000]
    for size in sizes:
        wire.ws.send(bytes(range(256)) * (size // 256) + bytes(range(size % 256)))
    for i in range(3000):  # across refills of the pool of keys
        wire.ws.send(f"{i}")
    next_turns(loop)
    frames = wire.frames()
    assert [len(payload) for _, _, payload in frames[: len(sizes)]] == sizes
    assert all(head1 == 0x82 for head1, _, _ in frames[: len(sizes)])
    assert [payload.decode() for _, _, payload in frames[len(sizes) :]] == [
        f"{i}" for i in range(3000)
    ]
    assert all(head1 == 0x81 for head1, _, _ in frames[len(sizes) :])
    keys = [key for _, key, _ in frames]
    assert len(set(keys)) > len(keys) - 5


def test_nothing_is_sent_once_the_closing_handshake_started(
    loop: asyncio.AbstractEventLoop,
) -> None:
    wire = open_wire(loop)
    wire.ws.close(1000)
    wire.ws.send("late")
    next_turns(loop)
    assert [(head1, payload) for head1, _, payload in wire.frames()] == [(0x88, b"\x03\xe8")]
    assert wire.ws.bufferedAmount == 4


def test_nothing_is_sent_after_the_server_started_closing(loop: asyncio.AbstractEventLoop) -> None:
    wire = open_wire(loop)
    wire.receive(b"\x88\x02\x03\xe8")  # the server's close frame, 1000
    assert wire.ws.readyState == WebSocket.CLOSING
    wire.ws.send("late")
    next_turns(loop)
    assert [(head1, payload) for head1, _, payload in wire.frames()] == [(0x88, b"\x03\xe8")]


def live_responses() -> int:
    gc.collect()
    return sum(isinstance(o, Response) for o in gc.get_objects())


def test_an_open_connection_keeps_no_handshake_response(loop: asyncio.AbstractEventLoop) -> None:
    # Memory per idle connection: the core's handshake parser kept the
    # response (its headers) for the life of the connection, about 1 KiB.
    before = live_responses()
    wires = [open_wire(loop) for _ in range(3)]
    assert live_responses() == before
    # The core's frame parser that took over still answers a ping, and
    # takes the close frame.
    wire = wires[0]
    wire.receive(b"\x89\x02hi")
    wire.receive(b"\x88\x02\x03\xe8")
    next_turns(loop)
    assert [(head1, payload) for head1, _, payload in wire.frames()] == [
        (0x8A, b"hi"),
        (0x88, b"\x03\xe8"),
    ]
    assert wire.ws.readyState == WebSocket.CLOSING


@dataclass
class Seen:
    type: str
    target: Any
    current_target: Any
    phase: int
    trusted: bool
    data: Any


def record(ws: WebSocket, seen: list[Seen]) -> Any:
    def listener(event: Event) -> None:
        assert isinstance(event, MessageEvent)
        seen.append(
            Seen(
                event.type,
                event.target,
                event.currentTarget,
                event.eventPhase,
                event.isTrusted,
                event.data,
            )
        )
        event.stopImmediatePropagation()
        event.preventDefault()

    return listener


@pytest.mark.parametrize("how", ["onmessage", "addEventListener"])
def test_a_lone_handler_sees_what_any_listener_sees(
    loop: asyncio.AbstractEventLoop, how: str
) -> None:
    """onmessage alone takes the shorter path; a listener takes the DOM's
    full dispatch. Both see the same event, in the same state."""
    wire = open_wire(loop)
    seen: list[Seen] = []
    events: list[MessageEvent] = []
    listener = record(wire.ws, seen)

    def keep(event: MessageEvent) -> None:
        events.append(event)
        listener(event)

    if how == "onmessage":
        wire.ws.onmessage = keep
    else:
        wire.ws.addEventListener("message", keep)
    wire.receive(text_frame("a") + text_frame("b"))
    assert [s.data for s in seen] == ["a", "b"]
    for s in seen:
        assert s.target is wire.ws
        assert s.current_target is wire.ws
        assert (s.type, s.phase, s.trusted) == ("message", Event.AT_TARGET, True)
    for event in list(events):  # after dispatch
        assert event.currentTarget is None
        assert event.eventPhase == Event.NONE
        assert event.target is wire.ws
        assert not event.defaultPrevented  # not cancelable
        assert event.origin == "ws://example.com"
        assert (event.lastEventId, event.source, event.ports) == ("", None, ())
        assert event.timeStamp >= 0
        assert wire.ws.dispatchEvent(event)  # done: it may be dispatched again, untrusted
        assert not event.isTrusted
        assert events[-1] is event
    assert events[0].timeStamp <= events[1].timeStamp


@pytest.mark.parametrize("how", ["onmessage", "addEventListener"])
def test_a_raising_handler_is_reported_and_the_next_message_arrives(
    loop: asyncio.AbstractEventLoop, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    wire = open_wire(loop)
    got: list[str] = []

    def handler(event: MessageEvent) -> None:
        got.append(event.data)
        if event.data == "boom":
            raise asyncio.CancelledError  # a BaseException: isolated too

    if how == "onmessage":
        wire.ws.onmessage = handler
    else:
        wire.ws.addEventListener("message", handler)
    with caplog.at_level(logging.ERROR, logger="pyws_shim"):
        wire.receive(text_frame("boom") + text_frame("after"))
    assert got == ["boom", "after"]
    assert "Uncaught exception in a 'message' event listener" in caplog.text
    assert wire.ws.readyState == WebSocket.OPEN


@pytest.mark.parametrize("how", ["onmessage", "addEventListener"])
def test_a_coroutine_handler_runs_as_a_task(loop: asyncio.AbstractEventLoop, how: str) -> None:
    wire = open_wire(loop)
    got: list[str] = []

    async def handler(event: MessageEvent) -> None:
        await asyncio.sleep(0)
        got.append(event.data)

    if how == "onmessage":
        wire.ws.onmessage = handler
    else:
        wire.ws.addEventListener("message", handler)

    async def receive() -> None:  # as the transport does: inside the loop
        wire.receive(text_frame("x"))
        assert got == []

    loop.run_until_complete(receive())
    next_turns(loop, 3)
    assert got == ["x"]


def test_a_message_in_tiny_fragments_costs_about_its_size(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Issue 7: a message in 2-byte fragments (50,000 frames) raised memory
    40 to 70 times its size; now it costs about its size, and arrives whole."""
    import tracemalloc

    wire = open_wire(loop)
    wire.ws.binaryType = "arraybuffer"
    got: list[bytes] = []
    wire.ws.onmessage = lambda event: got.append(event.data)
    size = 100_000
    message = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frames = [bytes((0x02, 2)) + message[:2]]  # binary, not final
    frames += [bytes((0x00, 2)) + message[i : i + 2] for i in range(2, size - 2, 2)]
    frames.append(bytes((0x80, 2)) + message[-2:])  # the last continuation
    stream = b"".join(frames)
    tracemalloc.start()
    try:
        wire.receive(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [message]
    assert peak < 4 * size, f"peak {peak} bytes for a {size}-byte message"


def big_frame(first_byte: int, payload: bytes) -> bytes:
    """An unmasked server frame of more than 65,535 bytes."""
    assert len(payload) > 0xFFFF
    return bytes((first_byte, 127)) + len(payload).to_bytes(8, "big") + payload


def test_big_frames_share_a_buffer_and_every_message_stays_intact(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # A big frame's buffer is kept for the next big frame of the thread, of
    # any connection: what a message handler was given never changes after.
    a, b = open_wire(loop), open_wire(loop)
    got: dict[str, list[str | bytes]] = {"a": [], "b": []}
    for name, wire in (("a", a), ("b", b)):
        wire.ws.binaryType = "arraybuffer"
        wire.ws.onmessage = lambda event, name=name: got[name].append(event.data)
    sizes = [300_000, 200_000, 250_000, 1_000_003]
    payloads = [bytes([i + 1]) * size for i, size in enumerate(sizes)]
    text = "é" * 150_000
    a.receive(big_frame(0x82, payloads[0]))
    a.receive(big_frame(0x81, text.encode()))
    # Two connections, each in the middle of a big frame (each smaller than
    # the buffer kept).
    frame_a, frame_b = big_frame(0x82, payloads[1]), big_frame(0x82, payloads[2])
    a.receive(frame_a[:70_000])
    b.receive(frame_b[:100_000])
    a.receive(frame_a[70_000:])
    b.receive(frame_b[100_000:])
    # A fragmented message of big frames, then one more big message.
    a.receive(big_frame(0x02, payloads[3][:600_000]) + big_frame(0x80, payloads[3][600_000:]))
    a.receive(big_frame(0x82, payloads[0]))
    assert got["a"] == [payloads[0], text, payloads[1], payloads[3], payloads[0]]
    assert got["b"] == [payloads[2]]
