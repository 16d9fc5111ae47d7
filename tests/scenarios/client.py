"""Scenarios: ``pyws_shim.client``, websockets' asyncio client API on pyws_shim.

Each body here is ``async def body(servers, api)``, where ``api`` is the
client under test (:class:`ClientAPI`). ``@client_scenario`` registers a body
twice over: as a scenario that runs it with ``pyws_shim.client`` (in CPython
and, through ``tests/test_in_engines.py``, in every engine), and in
``BODIES``, which ``tests/test_client_reference.py`` runs against
``websockets.asyncio.client`` itself, the reference (CPython only: websockets
does not run under Pyodide).

Where pyws_shim.client differs from websockets by design, the body asks
``api.differs``: :class:`Differences` says how, for each client and runtime,
in this one place (the README's table says the same to users).
"""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, overload

from . import BROWSERS, Servers, current_runtime, scenario, skip_in
from ._support import new_id, report
from .faults import BACKLOG_HIDDEN, HIDES_THE_SEND_BACKLOG, peer_report

__all__ = [
    "BODIES",
    "WEBSOCKETS",
    "ClientAPI",
    "Differences",
    "client_scenario",
    "pyws_shim_api",
]


@dataclass(frozen=True)
class Differences:
    """Where a client differs from ``websockets.asyncio.client`` by design
    (websockets itself: :data:`WEBSOCKETS`, every field false)."""

    joins_fragments: bool = False
    """An iterable (or async iterable) of fragments goes out as one message
    (the DOM WebSocket sends whole messages); a fragment of the wrong type
    raises ``TypeError`` with nothing sent, and the connection stays open
    (websockets had sent the first fragments, so it fails the connection)."""
    drops_messages_after_close: bool = False
    """Messages that arrive once ``close()`` was called are dropped (the DOM's
    rule: readyState CLOSING); websockets still returns them from ``recv()``."""
    no_redirects: bool = False
    """A 3xx response refuses the handshake (the DOM WebSocket follows no
    redirect; but WebKit's network stack does); websockets follows it."""
    no_handshake_objects: bool = False
    """``request`` and ``response``, ``local_address`` and ``remote_address``
    are ``None`` (the DOM shows none of them)."""
    refusal_headers_partial: bool = False
    """In CPython: the ``InvalidStatus`` of a refused handshake has the status,
    reason phrase and body, but of the headers only those the handshake
    reads (``Connection``, ``Content-Length``, ``Upgrade``,
    ``Sec-WebSocket-*``...): pyws_shim reads a response as a browser does
    and sets the others aside unread."""
    hides_handshake_status: bool = False
    """Under Pyodide: a refused handshake (and a refused connection, and a
    TLS failure) is a ``ConnectionFailed`` (an ``InvalidHandshake`` and an
    ``OSError``: ``process_exception`` retries it), never an
    ``InvalidStatus``: the runtime's WebSocket does not say why it failed."""
    no_pings: bool = False
    """Under Pyodide: ``ping()`` and ``pong()`` raise ``NotImplementedError``;
    ``ping_interval`` and ``ping_timeout`` are ignored (with a warning when
    set): the runtime's WebSocket sends no pings and offers no way to."""
    cannot_pause_reading: bool = False
    """Under Pyodide: reading cannot be paused beyond ``max_queue``; the
    messages waiting are bounded by ``max_queue`` x ``max_size`` bytes, and
    beyond that the connection fails (``ConnectionClosedError`` caused by a
    ``BufferError``)."""
    dom_close_codes_only: bool = False
    """Under Pyodide: close codes other than 1000 and 3000-4999 (1001, the
    1011 of ``async with`` after an exception...) go out as 1000; where the
    client fails the connection (a message over ``max_size``, binary data
    that is not UTF-8 read with ``decode=True``) its close frame has no code
    (1005), not 1009 or 1007."""
    no_request_headers: bool = False
    """In a browser: ``additional_headers``, ``user_agent_header`` and
    ``origin`` are not sent (the browser sets its own; pyws_shim's
    WebSocket warns)."""
    answers_close_without_reason: bool = False
    """In Node.js: the runtime answers the server's close frame with its code
    alone (undici), so ``ConnectionClosed.sent`` has the code and an empty
    reason; every other runtime sends the reason back too, as websockets."""
    answers_empty_close_with_1000: bool = False
    """In WebKit: the runtime answers a close frame without a code with 1000
    (the others, and websockets, send one without a code back)."""
    failure_without_cause: bool = False
    """websockets 17.2 (the lowest version pyws_shim accepts; 17.4 sets it):
    the ``ConnectionClosedError`` of a connection the client failed (a
    message over ``max_size``, binary data that is not UTF-8 read with
    ``decode=True``) has no ``__cause__``."""

    def answer(self, code: int, reason: str) -> tuple[int, str]:
        """The close frame the client sends back to the server's."""
        if code == 1005 and self.answers_empty_close_with_1000:
            return (1000, "")
        return (code, "" if self.answers_close_without_reason else reason)


WEBSOCKETS = Differences()


def pyws_shim_differences(runtime: str) -> Differences:
    """How ``pyws_shim.client`` differs from websockets in ``runtime``."""
    pyodide = runtime != "cpython"
    return Differences(
        joins_fragments=True,
        drops_messages_after_close=True,
        no_redirects=runtime != "webkit",
        no_handshake_objects=True,
        refusal_headers_partial=not pyodide,
        hides_handshake_status=pyodide,
        no_pings=pyodide,
        cannot_pause_reading=pyodide,
        dom_close_codes_only=pyodide,
        no_request_headers=runtime in BROWSERS,
        answers_close_without_reason=runtime == "node",
        answers_empty_close_with_1000=runtime == "webkit",
    )


@dataclass(frozen=True)
class ClientAPI:
    """A client under test: its ``connect`` and the names a program uses."""

    name: str
    connect: Any
    ConnectionClosed: Any
    ConnectionClosedOK: Any
    ConnectionClosedError: Any
    InvalidURI: Any
    InvalidHandshake: Any
    InvalidMessage: Any
    InvalidStatus: Any
    ConcurrencyError: Any
    ProtocolError: Any
    Headers: Any
    State: Any
    backoff: Any
    process_exception: Any
    differs: Differences


def pyws_shim_api() -> ClientAPI:
    from pyws_shim import client

    return ClientAPI(
        name="pyws_shim.client",
        connect=client.connect,
        ConnectionClosed=client.ConnectionClosed,
        ConnectionClosedOK=client.ConnectionClosedOK,
        ConnectionClosedError=client.ConnectionClosedError,
        InvalidURI=client.InvalidURI,
        InvalidHandshake=client.InvalidHandshake,
        InvalidMessage=client.InvalidMessage,
        InvalidStatus=client.InvalidStatus,
        ConcurrencyError=client.ConcurrencyError,
        ProtocolError=client.ProtocolError,
        Headers=client.Headers,
        State=client.State,
        backoff=client.backoff,
        process_exception=client.process_exception,
        differs=pyws_shim_differences(current_runtime()),
    )


Body = Callable[[Servers, ClientAPI], Awaitable[None]]
BODIES: dict[str, Body] = {}


@overload
def client_scenario(body: Body, /) -> Body: ...
@overload
def client_scenario(*, skip: Mapping[str, str] | None = None) -> Callable[[Body], Body]: ...
def client_scenario(
    body: Body | None = None, /, *, skip: Mapping[str, str] | None = None
) -> Callable[[Body], Body] | Body:
    """Register ``body``: a scenario with pyws_shim.client, and a reference body."""

    def register(body: Body) -> Body:
        async def with_pyws_shim(servers: Servers) -> None:
            await body(servers, pyws_shim_api())

        with_pyws_shim.__name__ = with_pyws_shim.__qualname__ = body.__name__
        with_pyws_shim.__module__ = body.__module__
        with_pyws_shim.__doc__ = body.__doc__
        scenario(skip=skip)(with_pyws_shim)
        BODIES[body.__name__] = body
        return body

    return register if body is None else register(body)


# Helpers.


async def expect(kind: Any, awaitable: Awaitable[Any], what: str = "") -> Any:
    """Await ``awaitable``; return the ``kind`` exception it raised, or fail."""
    try:
        await awaitable
    except kind as exc:
        return exc
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected {_names(kind)}, got {type(exc).__name__}: {exc}"
        ) from exc
    raise AssertionError(f"{what}: expected {_names(kind)}, nothing was raised")


def _names(kind: Any) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return str(kind.__name__)


def fast_delays() -> Generator[float]:
    """Reconnection delays for tests: a hundredth of a second each."""
    while True:
        yield 0.01


async def collect(connection: Any, into: list[Any]) -> None:
    """``async for`` over ``connection``, each message into ``into``."""
    async for message in connection:
        into.append(message)


def close_frame(code: int | None, reason: str = "") -> bytes:
    """A close frame from the server (unmasked)."""
    payload = b"" if code is None else struct.pack("!H", code) + reason.encode()
    return bytes([0x88, len(payload)]) + payload


def frame_of(close: Any) -> tuple[int, str] | None:
    return None if close is None else (close.code, close.reason)


# Opening.


@client_scenario
async def connect_is_awaited_entered_or_iterated(servers: Servers, api: ClientAPI) -> None:
    url = servers.url("/echo")
    ws = await api.connect(url)
    await ws.send("awaited")
    assert await ws.recv() == "awaited"
    await ws.close()
    async with api.connect(url) as ws:
        await ws.send("entered")
        assert await ws.recv() == "entered"
    assert ws.state == api.State.CLOSED
    context = api.connect(url)
    async with context as ws:
        await expect(RuntimeError, context.__aenter__(), "connect() entered twice")
        await ws.send("still open")
        assert await ws.recv() == "still open"
    iterator = api.connect(url).__aiter__()
    try:
        async for ws in iterator:
            await ws.send("iterated")
            assert await ws.recv() == "iterated"
            break
    finally:
        await iterator.aclose()
    assert ws.state == api.State.CLOSED


@client_scenario
async def invalid_uris_are_refused_at_once(servers: Servers, api: ClientAPI) -> None:
    for uri in (
        "http://127.0.0.1/",
        "127.0.0.1:8765",
        "ws://",
        "ws://127.0.0.1/#fragment",
        "ws://user@127.0.0.1/",
    ):
        try:
            api.connect(uri)
        except api.InvalidURI as exc:
            assert exc.uri == uri, exc.uri
            assert str(exc).startswith(f"{uri} isn't a valid URI: "), str(exc)
        else:
            raise AssertionError(f"connect({uri!r}) took it")
    for subprotocols in ("chat", 42):
        try:
            api.connect(servers.url("/echo"), subprotocols=subprotocols)
        except TypeError as exc:
            assert "subprotocols must be a list" in str(exc), str(exc)
        else:
            raise AssertionError(f"subprotocols={subprotocols!r} taken")


@client_scenario
async def a_refused_connection_is_an_os_error(servers: Servers, api: ClientAPI) -> None:
    exc = await expect(OSError, api.connect(servers.refused), "refused connection")
    if api.differs.hides_handshake_status:
        assert isinstance(exc, api.InvalidHandshake), type(exc)


@client_scenario
async def a_refused_handshake_is_invalid_status_where_the_status_is_known(
    servers: Servers, api: ClientAPI
) -> None:
    exc = await expect(api.InvalidHandshake, api.connect(servers.url("/reject", status=403)))
    if api.differs.hides_handshake_status:
        assert isinstance(exc, OSError), type(exc)
        assert type(exc).__name__ == "ConnectionFailed", type(exc)
        return
    assert isinstance(exc, api.InvalidStatus), type(exc)
    assert str(exc) == "server rejected WebSocket connection: HTTP 403", str(exc)
    response = exc.response
    assert (response.status_code, response.reason_phrase) == (403, "Forbidden")
    assert response.body == b"Forbidden\n", response.body
    assert response.headers["Content-Length"] == "10", response.headers
    if not api.differs.refusal_headers_partial:
        assert response.headers["Content-Type"].startswith("text/plain"), response.headers
    exc = await expect(api.InvalidStatus, api.connect(servers.url("/not-websocket")))
    assert exc.response.status_code == 200


@client_scenario
async def a_redirect_is_followed_by_websockets_only(servers: Servers, api: ClientAPI) -> None:
    # The fault peer's 302 names /case/frames, a server that accepts.
    # (/case/frames does not answer the close frame: close_timeout ends it.)
    url = servers.fault_url("handshake", response="status-302", id=new_id())
    connecting = api.connect(url, close_timeout=0.5)
    if not api.differs.no_redirects:
        ws = await connecting
        assert ws.state == api.State.OPEN
        await ws.close()
        return
    exc = await expect(api.InvalidHandshake, connecting, "a 302")
    if not api.differs.hides_handshake_status:
        assert exc.response.status_code == 302
        assert "Location" not in exc.response.headers  # refusal_headers_partial


@client_scenario
async def a_response_cut_short_is_retried_and_garbage_is_not(
    servers: Servers, api: ClientAPI
) -> None:
    # The fault peer ends the TCP connection before it answers the request.
    record_id = new_id()
    url = servers.fault_url("drop", stage="before-response", how="fin", id=record_id)
    exc = await expect(api.InvalidHandshake, api.connect(url), "no response")
    await peer_report(servers, record_id)
    assert api.process_exception(exc) is None, repr(exc)  # transient: retried
    if api.differs.hides_handshake_status:
        assert isinstance(exc, OSError), type(exc)  # a ConnectionFailed
        return
    assert isinstance(exc, api.InvalidMessage), type(exc)
    assert str(exc) == "did not receive a valid HTTP response", str(exc)
    assert isinstance(exc.__cause__, EOFError), repr(exc.__cause__)
    # A response that is not HTTP: fatal.
    record_id = new_id()
    url = servers.fault_url("handshake", response="garbage", id=record_id)
    exc = await expect(api.InvalidMessage, api.connect(url), "not HTTP")
    await peer_report(servers, record_id)
    assert str(exc) == "did not receive a valid HTTP response", str(exc)
    assert api.process_exception(exc) is exc
    # A 101 without Sec-WebSocket-Accept: fatal too.
    record_id = new_id()
    url = servers.fault_url("handshake", response="no-accept", id=record_id)
    exc = await expect(api.InvalidHandshake, api.connect(url), "no Sec-WebSocket-Accept")
    await peer_report(servers, record_id)
    assert str(exc) == "missing Sec-WebSocket-Accept header", str(exc)
    assert api.process_exception(exc) is exc


@client_scenario
async def open_timeout_is_a_timeout_error(servers: Servers, api: ClientAPI) -> None:
    connecting = api.connect(servers.url("/slow-handshake", seconds=2), open_timeout=0.3)
    exc = await expect(TimeoutError, connecting)
    assert str(exc) == "timed out during opening handshake", str(exc)


@client_scenario
async def subprotocols_and_request_headers(servers: Servers, api: ClientAPI) -> None:
    options: dict[str, Any] = {
        "subprotocols": ["chat", "superchat"],
        "additional_headers": {"X-Test": "yes"},
        "origin": "http://example.test",
    }
    if api.differs.no_request_headers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ws = await api.connect(servers.url("/headers"), **options)
        assert any("ignored" in str(w.message) for w in caught), [str(w) for w in caught]
    else:
        ws = await api.connect(servers.url("/headers"), **options)
    assert ws.subprotocol == "chat"
    headers = json.loads(await ws.recv())
    await ws.close()
    if api.differs.no_request_headers:
        assert "x-test" not in headers, headers
    else:
        assert headers["x-test"] == "yes", headers
        assert headers["origin"] == "http://example.test", headers
    async with api.connect(servers.url("/echo")) as ws:
        assert ws.subprotocol is None


@client_scenario
async def connection_attributes(servers: Servers, api: ClientAPI) -> None:
    ws = await api.connect(servers.url("/echo"))
    assert isinstance(ws.id, uuid.UUID)
    assert ws.state == api.State.OPEN
    assert (ws.close_code, ws.close_reason) == (None, None)
    assert ws.latency == 0.0
    if api.differs.no_handshake_objects:
        assert (ws.request, ws.response) == (None, None)
        assert (ws.local_address, ws.remote_address) == (None, None)
    else:
        assert ws.response.status_code == 101
        assert ws.remote_address[0] == "127.0.0.1", ws.remote_address
    await ws.close()
    assert ws.state == api.State.CLOSED
    assert (ws.close_code, ws.close_reason) == (1000, "")


# Sending and receiving.


@client_scenario
async def send_and_recv_in_order(servers: Servers, api: ClientAPI) -> None:
    async with api.connect(servers.url("/echo")) as ws:
        messages: list[Any] = ["hello", b"\x00\x01\xff", "héllo ✓", b"", ""]
        for message in messages:
            await ws.send(message)
        await ws.send(bytearray(b"array"))
        await ws.send(memoryview(b"view"))
        received = [await ws.recv() for _ in range(len(messages) + 2)]
        assert received == [*messages, b"array", b"view"], received
        await ws.send("text")
        assert await ws.recv(decode=False) == b"text"
        await ws.send(b"binary")
        assert await ws.recv(decode=True) == "binary"
        await ws.send("str as binary", text=False)
        assert await ws.recv() == b"str as binary"
        await ws.send(b"bytes as text", text=True)
        assert await ws.recv() == "bytes as text"
        await ws.send("streamed")
        assert [fragment async for fragment in ws.recv_streaming()] == ["streamed"]


@client_scenario
async def recv_decode_true_on_binary_that_is_not_utf8_fails_the_connection(
    servers: Servers, api: ClientAPI
) -> None:
    ws = await api.connect(servers.url("/raw", hex="8201ff"))  # a binary frame: 0xFF
    exc = await expect(api.ConnectionClosedError, ws.recv(decode=True))
    assert exc.sent is not None
    assert exc.sent.code == (1005 if api.differs.dom_close_codes_only else 1007), str(exc)
    if not api.differs.failure_without_cause:
        assert isinstance(exc.__cause__, UnicodeDecodeError), repr(exc.__cause__)


@client_scenario
async def fragments_are_sent_as_one_message(servers: Servers, api: ClientAPI) -> None:
    async def parts() -> AsyncIterator[str]:
        for part in ("as", "ync"):
            await asyncio.sleep(0)
            yield part

    async with api.connect(servers.url("/echo")) as ws:
        await ws.send(["frag", "ment", "ed"])
        assert await ws.recv() == "fragmented"
        await ws.send([b"\x00", bytearray(b"\x01"), memoryview(b"\x02")])
        assert await ws.recv() == b"\x00\x01\x02"
        await ws.send(parts())
        assert await ws.recv() == "async"
        await ws.send(("bin", "ary"), text=False)
        assert await ws.recv() == b"binary"
        await ws.send([])  # nothing at all
        await expect(TypeError, ws.send({"a": 1}), "a dict")
        await expect(TypeError, ws.send(42), "an int")
        await ws.send("after")
        assert await ws.recv() == "after"
    # What the server saw: the frames.
    record_id = new_id()
    ws = await api.connect(servers.fault_url("frames", id=record_id, answer="echo"))
    await ws.send(["ab", "cd"])
    await ws.close()
    record = await peer_report(servers, record_id)
    frames = [(f["opcode"], f["fin"]) for f in record["frames"] if f["opcode"] < 8]
    if api.differs.joins_fragments:
        assert frames == [(1, True)], frames
    else:
        assert frames[0] == (1, False), frames
        assert frames[-1] == (0, True), frames
    # A fragment of the wrong type.
    for fragments, error in ((["a", b"b"], "uniform types"), ([1, 2], "bytes or str")):
        ws = await api.connect(servers.url("/echo"))
        exc = await expect(TypeError, ws.send(fragments), f"fragments {fragments!r}")
        assert error in str(exc), str(exc)
        if api.differs.joins_fragments:
            assert ws.state == api.State.OPEN  # nothing had gone out
            await ws.send("still open")
            assert await ws.recv() == "still open"
            await ws.close()
        else:
            assert ws.state == api.State.CLOSED  # websockets had started the message
            closed = await expect(api.ConnectionClosedError, ws.recv())
            assert frame_of(closed.sent) == (1011, "error in fragmented message")


@client_scenario
async def concurrent_recv_is_a_concurrency_error(servers: Servers, api: ClientAPI) -> None:
    async with api.connect(servers.url("/echo")) as ws:
        first = asyncio.ensure_future(ws.recv())
        await asyncio.sleep(0)
        exc = await expect(api.ConcurrencyError, ws.recv(), "a second recv()")
        assert "cannot call recv while another coroutine" in str(exc), str(exc)
        assert isinstance(exc, RuntimeError)
        await ws.send("one")
        assert await first == "one"
        # Cancelling recv() loses nothing.
        waiting = asyncio.ensure_future(ws.recv())
        await asyncio.sleep(0)
        waiting.cancel()
        await expect(asyncio.CancelledError, waiting, "a cancelled recv()")
        await ws.send("two")
        assert await ws.recv() == "two"


@client_scenario
async def max_size_fails_the_connection_with_1009(servers: Servers, api: ClientAPI) -> None:
    ws = await api.connect(servers.url("/bytes", size=2000), max_size=1000)
    exc = await expect(api.ConnectionClosedError, ws.recv(), "a message over max_size")
    assert exc.sent is not None
    assert exc.sent.code == (1005 if api.differs.dom_close_codes_only else 1009), str(exc)
    if not api.differs.failure_without_cause:
        assert type(exc.__cause__).__name__ == "PayloadTooBig", repr(exc.__cause__)
    # The default is 1 MiB; None is no limit.
    ws = await api.connect(servers.url("/bytes", size=2**20 + 1))
    await expect(api.ConnectionClosedError, ws.recv(), "a message over 1 MiB")
    async with api.connect(servers.url("/bytes", size=2**20 + 1), max_size=None) as ws:
        assert len(await ws.recv()) == 2**20 + 1


FLOOD_SIZE = 64 * 1024
FLOOD_COUNT = 1000  # 62.5 MiB: more than the kernel's buffers hold on loopback (up to 36 MiB)


async def _flood_progress(servers: Servers, record_id: str) -> int:
    sent: int = json.loads(await _first_message(servers.url("/progress", id=record_id)))["sent"]
    return sent


async def _first_message(url: str) -> str:
    from pyws_shim import WebSocket

    async with WebSocket(url) as ws:
        async for data in ws:
            assert isinstance(data, str)
            return data
    raise AssertionError(f"{url} sent nothing")


@client_scenario
async def max_queue_pauses_reading(servers: Servers, api: ClientAPI) -> None:
    record_id = new_id()
    url = servers.url("/flood", id=record_id, n=FLOOD_COUNT, size=FLOOD_SIZE)
    # No compression where the runtime lets the client say so, so that the
    # bytes on the wire (what the buffers hold) are the messages' own.
    options = {} if api.differs.cannot_pause_reading else {"compression": None}
    ws = await api.connect(url, max_queue=2, **options)
    await asyncio.sleep(0.5)  # not reading
    if api.differs.cannot_pause_reading:
        # max_queue x max_size (2 MiB) waiting: the connection fails there.
        received: list[bytes] = []
        exc = await expect(api.ConnectionClosedError, collect(ws, received))
        assert isinstance(exc.__cause__, BufferError), repr(exc.__cause__)
        assert 0 < len(received) <= 2 * 2**20 // FLOOD_SIZE, len(received)
        return
    before = await _flood_progress(servers, record_id)
    await asyncio.sleep(0.3)
    after = await _flood_progress(servers, record_id)
    assert before == after < FLOOD_COUNT, (before, after)  # the server waits
    for i in range(FLOOD_COUNT):
        message = await ws.recv()
        assert message == bytes([i % 256]) * FLOOD_SIZE, (i, len(message), message[:1])
    assert await _flood_progress(servers, record_id) == FLOOD_COUNT
    await ws.close()


@client_scenario(skip=skip_in(HIDES_THE_SEND_BACKLOG, BACKLOG_HIDDEN + ": send() cannot wait"))
async def send_waits_while_the_write_buffer_is_full(servers: Servers, api: ClientAPI) -> None:
    record_id = new_id()
    url = servers.fault_url("stop-reading", id=record_id)
    ws = await api.connect(url, write_limit=2**16, close_timeout=0.5)
    chunk = bytes(2**20)
    sent = 0
    waited = False
    while sent < 48 * 2**20:
        try:
            await asyncio.wait_for(ws.send(chunk), 1.0)
        except TimeoutError:
            waited = True
            break
        sent += len(chunk)
    assert waited, f"send() never waited: {sent} bytes to a server that reads nothing"
    closing = asyncio.ensure_future(ws.close())
    await peer_report(servers, record_id)  # the peer reads again, then ends
    await asyncio.wait_for(closing, 10)


# Closing.


@client_scenario
async def async_for_ends_when_the_server_closes_normally(servers: Servers, api: ClientAPI) -> None:
    async with api.connect(servers.url("/count", n=5, close=1000)) as ws:
        received = [message async for message in ws]
    assert received == ["0", "1", "2", "3", "4"]
    assert (ws.close_code, ws.close_reason) == (1000, "done")
    assert ws.state == api.State.CLOSED


@client_scenario
async def async_for_raises_connection_closed_error_on_other_codes(
    servers: Servers, api: ClientAPI
) -> None:
    received: list[str] = []
    async with api.connect(servers.url("/count", n=3, close=4000)) as ws:
        exc = await expect(api.ConnectionClosedError, collect(ws, received))
    assert received == ["0", "1", "2"]
    assert frame_of(exc.rcvd) == (4000, "done")
    answer = api.differs.answer(4000, "done")
    assert frame_of(exc.sent) == answer  # the client's answer
    assert exc.rcvd_then_sent is True
    sent = f"4000 (private use) {answer[1]}".strip()
    assert str(exc) == f"received 4000 (private use) done; then sent {sent}", str(exc)
    assert (ws.close_code, ws.close_reason) == (4000, "done")


@client_scenario
async def the_server_closes_with_each_kind_of_code(servers: Servers, api: ClientAPI) -> None:
    cases: list[tuple[dict[str, Any], bool, tuple[int, str]]] = [
        ({"code": 1000, "reason": "fine"}, True, (1000, "fine")),
        ({"code": 1001, "reason": "away"}, True, (1001, "away")),
        ({}, True, (1005, "")),
        ({"code": 4002, "reason": "app"}, False, (4002, "app")),
        ({"code": 1011, "reason": "oops"}, False, (1011, "oops")),
    ]
    for query, ok, (code, reason) in cases:
        ws = await api.connect(servers.url("/close", **query))
        kind = api.ConnectionClosedOK if ok else api.ConnectionClosedError
        exc = await expect(kind, ws.recv(), f"close {query}")
        assert frame_of(exc.rcvd) == (code, reason), (query, str(exc))
        assert frame_of(exc.sent) == api.differs.answer(code, reason), (query, str(exc))
        await ws.wait_closed()
        assert ws.state == api.State.CLOSED
        assert (ws.close_code, ws.close_reason) == (code, reason)
        await expect(kind, ws.send("too late"), f"send() after close {query}")


@client_scenario
async def the_client_answers_the_servers_close_frame_with_its_code(
    servers: Servers, api: ClientAPI
) -> None:
    # The close frame the client sends back is reported as `sent` where the
    # runtime does not show it (pyws_shim's Pyodide backend knows each
    # runtime's answer): here, what the server received is that frame.
    for code, reason in ((4001, "bye ✓"), (1000, ""), (None, "")):
        record_id = new_id()
        url = servers.fault_url("frames", id=record_id, hex=close_frame(code, reason).hex())
        ws = await api.connect(url)
        ok = code in (1000, None)
        exc = await expect(api.ConnectionClosedOK if ok else api.ConnectionClosedError, ws.recv())
        expected = (1005 if code is None else code, reason)
        assert frame_of(exc.rcvd) == expected, str(exc)
        assert exc.rcvd_then_sent is True
        record = (await peer_report(servers, record_id))["close"]
        sent = (1005, "") if record["code"] is None else (record["code"], record["reason"])
        assert frame_of(exc.sent) == sent, (str(exc), record)  # what the server received
        assert sent == api.differs.answer(*expected), (sent, expected)


@client_scenario
async def close_codes_and_reasons_reach_the_server(servers: Servers, api: ClientAPI) -> None:
    record_id = new_id()
    ws = await api.connect(servers.url("/record", id=record_id))
    await ws.send("before close")
    await ws.close(4001, "client bye")
    assert ws.state == api.State.CLOSED
    assert (ws.close_code, ws.close_reason) == (4001, "client bye")  # the server's answer
    received = await report(servers, record_id)
    assert (received["count"], received["last"]) == (1, "before close"), received
    assert (received["close_code"], received["close_reason"]) == (4001, "client bye"), received
    exc = await expect(api.ConnectionClosedError, ws.recv(), "recv() after close(4001)")
    assert frame_of(exc.sent) == (4001, "client bye")
    assert frame_of(exc.rcvd) == (4001, "client bye")
    assert exc.rcvd_then_sent is False
    assert str(exc) == (
        "sent 4001 (private use) client bye; then received 4001 (private use) client bye"
    )
    await ws.close()  # again: nothing happens
    # Codes the DOM's close() does not take.
    record_id = new_id()
    ws = await api.connect(servers.url("/record", id=record_id))
    await ws.close(1001, "going away")
    received = await report(servers, record_id)
    expected = 1000 if api.differs.dom_close_codes_only else 1001
    assert (received["close_code"], received["close_reason"]) == (expected, "going away")
    # async with closes with 1011 when its body raises.
    record_id = new_id()
    try:
        async with api.connect(servers.url("/record", id=record_id)):
            raise KeyError("the body failed")
    except KeyError:
        pass
    received = await report(servers, record_id)
    assert received["close_code"] == (1000 if api.differs.dom_close_codes_only else 1011)
    # Codes no close frame may carry, and reasons too long for one.
    async with api.connect(servers.url("/echo")) as ws:
        for code in (999, 1005, 1006, 1015, 2999, 5000):
            await expect(api.ProtocolError, ws.close(code), f"close({code})")
        await expect(api.ProtocolError, ws.close(1000, "x" * 124), "a reason of 124 bytes")
        assert ws.state == api.State.OPEN
        await ws.send("still open")
        assert await ws.recv() == "still open"


@client_scenario
async def a_lost_connection_is_connection_closed_error(servers: Servers, api: ClientAPI) -> None:
    ws = await api.connect(servers.url("/drop", after=2))
    assert [await ws.recv(), await ws.recv()] == ["0", "1"]
    exc = await expect(api.ConnectionClosedError, ws.recv(), "a dropped connection")
    assert (exc.rcvd, exc.sent, exc.rcvd_then_sent) == (None, None, None)
    assert str(exc) == "no close frame received or sent"
    assert (ws.close_code, ws.close_reason) == (1006, "")
    await expect(api.ConnectionClosedError, ws.recv(), "recv() again")
    await expect(api.ConnectionClosedError, ws.send("x"), "send() after")


@client_scenario
async def recv_after_close_raises_connection_closed_ok(servers: Servers, api: ClientAPI) -> None:
    ws = await api.connect(servers.url("/echo"))
    await ws.send("echoed")
    assert await ws.recv() == "echoed"
    await ws.close()
    for _ in range(2):
        exc = await expect(api.ConnectionClosedOK, ws.recv(), "recv() after close()")
        assert frame_of(exc.sent) == (1000, "")
        assert frame_of(exc.rcvd) == (1000, "")
    await expect(api.ConnectionClosedOK, ws.send("x"), "send() after close()")
    received: list[Any] = []
    await collect(ws, received)  # ends at once
    assert received == []
    await ws.wait_closed()
    # A message that comes after close() was called (the fault peer sends it
    # when the client's close frame arrives, then answers that).
    record_id = new_id()
    ws = await api.connect(servers.fault_url("frames", id=record_id, answer="message-then-echo"))
    await ws.close()
    if not api.differs.drops_messages_after_close:
        assert await ws.recv() == "after close"
    await expect(api.ConnectionClosedOK, ws.recv(), "recv() once closed")
    assert (await peer_report(servers, record_id))["close"] == {"code": 1000, "reason": ""}


# Reconnecting.


@client_scenario
async def async_for_reconnects_after_the_server_drops(servers: Servers, api: ClientAPI) -> None:
    connections = 0
    iterator = api.connect(servers.url("/drop", after=1), reconnect_delays=fast_delays).__aiter__()
    try:
        async for ws in iterator:
            connections += 1
            assert await ws.recv() == "0"
            if connections == 3:
                break
            try:
                await ws.recv()
            except api.ConnectionClosed:
                continue
    finally:
        await iterator.aclose()
    assert connections == 3


@client_scenario
async def async_for_retries_transient_failures(servers: Servers, api: ClientAPI) -> None:
    # /flaky refuses two handshakes with 503, then accepts.
    record_id = new_id()
    url = servers.url("/flaky", id=record_id, fail=2)
    iterator = api.connect(url, reconnect_delays=fast_delays).__aiter__()
    try:
        async for ws in iterator:
            assert await ws.recv() == "attempt:3"
            await ws.send("echo")
            assert await ws.recv() == "echo"
            break
    finally:
        await iterator.aclose()
    # A fatal failure ends the loop (under Pyodide a 403 looks like a
    # network error, retried: process_exception stops it after 3 here).
    failures: list[Exception] = []

    def stop_after_three(exc: Exception) -> Exception | None:
        failures.append(exc)
        return api.process_exception(exc) if len(failures) < 3 else exc

    async def first() -> None:
        async for _ in api.connect(
            servers.url("/reject", status=403),
            process_exception=stop_after_three,
            reconnect_delays=fast_delays,
        ):
            raise AssertionError("connected")

    exc = await expect(api.InvalidHandshake, first(), "a 403 in async for")
    if api.differs.hides_handshake_status:
        assert len(failures) == 3, failures
        assert isinstance(exc, OSError), type(exc)
    else:
        assert len(failures) == 1, failures
        assert exc.response.status_code == 403


@client_scenario
async def backoff_and_process_exception(servers: Servers, api: ClientAPI) -> None:
    delays = api.backoff(initial_delay=2.0, min_delay=3.0, max_delay=10.0, factor=2.0)
    assert 0.0 <= next(delays) < 2.0
    assert [next(delays) for _ in range(4)] == [3.0, 6.0, 10.0, 10.0]
    for transient in (OSError("down"), ConnectionRefusedError(), TimeoutError()):
        assert api.process_exception(transient) is None, transient
    fatal = ValueError("fatal")
    assert api.process_exception(fatal) is fatal


# Pings, pongs, keepalive.


@client_scenario
async def ping_and_pong(servers: Servers, api: ClientAPI) -> None:
    async with api.connect(servers.url("/echo")) as ws:
        if api.differs.no_pings:
            for call in (ws.ping(), ws.ping(b"data"), ws.pong(b"data")):
                exc = await expect(NotImplementedError, call)
                assert "no pings" in str(exc), str(exc)
            assert ws.latency == 0.0
            return
        pong_waiter = await ws.ping(b"one")
        await expect(api.ConcurrencyError, ws.ping(b"one"), "a second ping with the same data")
        latency = await pong_waiter
        assert latency >= 0.0
        assert ws.latency == latency, (latency, ws.latency)
        assert await (await ws.ping("text")) >= 0.0
        assert await (await ws.ping()) >= 0.0
        await ws.pong(b"unsolicited")
        await ws.send("still open")
        assert await ws.recv() == "still open"
        await expect(TypeError, ws.ping(42), "ping(42)")
    # What the server received.
    record_id = new_id()
    ws = await api.connect(servers.fault_url("frames", id=record_id, answer="echo"))
    await ws.pong(b"beat")
    await ws.close()
    record = await peer_report(servers, record_id)
    pongs = [f["data"] for f in record["frames"] if f["opcode"] == 10]
    assert pongs == [b"beat".hex()], record["frames"]


@client_scenario
async def server_pings_are_answered(servers: Servers, api: ClientAPI) -> None:
    async with api.connect(servers.url("/ping", data="abc")) as ws:
        assert await ws.recv() == "pong:abc"


@client_scenario
async def keepalive_fails_the_connection_when_no_pong_comes(
    servers: Servers, api: ClientAPI
) -> None:
    # The fault peer answers nothing: neither pings nor the close frame.
    record_id = new_id()
    url = servers.fault_url("frames", id=record_id)
    options = {"ping_interval": 0.1, "ping_timeout": 0.2, "close_timeout": 0.5}
    if api.differs.no_pings:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ws = await api.connect(url, **options)
        assert any("ping_interval ignored" in str(w.message) for w in caught), caught
        await asyncio.sleep(0.5)
        assert ws.state == api.State.OPEN  # no keepalive here
        await ws.close()
        record = await peer_report(servers, record_id)
        assert [f["opcode"] for f in record["frames"]] == [8], record["frames"]
        return
    ws = await api.connect(url, **options)
    exc = await expect(api.ConnectionClosedError, ws.recv(), "no pong")
    assert frame_of(exc.sent) == (1011, "keepalive ping timeout"), str(exc)
    assert exc.rcvd is None, str(exc)
    record = await peer_report(servers, record_id)
    assert 9 in [f["opcode"] for f in record["frames"]], record["frames"]
    assert record["close"] == {"code": 1011, "reason": "keepalive ping timeout"}, record


@client_scenario
async def keepalive_keeps_a_live_connection_open(servers: Servers, api: ClientAPI) -> None:
    # The fault peer answers pings (and the close frame) here.
    record_id = new_id()
    url = servers.fault_url("frames", id=record_id, answer="echo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Pyodide: "ping_interval ignored"
        ws = await api.connect(url, ping_interval=0.05, ping_timeout=1)
    await asyncio.sleep(0.4)
    assert ws.state == api.State.OPEN
    await ws.close()
    record = await peer_report(servers, record_id)
    pings = [f for f in record["frames"] if f["opcode"] == 9]
    if api.differs.no_pings:
        assert pings == [], record["frames"]
    else:
        assert len(pings) >= 2, record["frames"]


# More of the API: cancelling, states, concurrency, limits, headers, reconnecting.


@client_scenario
async def cancelling_connect_stops_the_opening(servers: Servers, api: ClientAPI) -> None:
    connecting = asyncio.ensure_future(api.connect(servers.url("/slow-handshake", seconds=2)))
    await asyncio.sleep(0.2)
    connecting.cancel()
    await expect(asyncio.CancelledError, connecting, "a cancelled connect()")
    # wait_for() cancels it too: a TimeoutError, and nothing left running.
    slow = api.connect(servers.url("/slow-handshake", seconds=2))
    await expect(TimeoutError, asyncio.wait_for(slow, 0.2), "wait_for(connect(), 0.2)")


@client_scenario
async def close_is_closing_until_the_server_answers(servers: Servers, api: ClientAPI) -> None:
    # The fault peer does not answer the close frame: close_timeout ends it.
    record_id = new_id()
    ws = await api.connect(servers.fault_url("frames", id=record_id), close_timeout=0.5)
    closing = asyncio.ensure_future(ws.close(1001, "bye"))  # a code the DOM's close() refuses
    await asyncio.sleep(0.1)
    assert ws.state == api.State.CLOSING, ws.state
    await expect(api.ConnectionClosed, ws.send("closing"), "send() while closing")
    await closing
    assert ws.state == api.State.CLOSED
    exc = await expect(api.ConnectionClosedError, ws.recv(), "recv() once closed")
    code = 1000 if api.differs.dom_close_codes_only else 1001
    assert (frame_of(exc.rcvd), frame_of(exc.sent)) == (None, (code, "bye")), str(exc)
    if code == 1001:
        assert str(exc) == "sent 1001 (going away) bye; no close frame received", str(exc)
    assert (ws.close_code, ws.close_reason) == (1006, "")
    record = await peer_report(servers, record_id)
    assert record["close"] == {"code": code, "reason": "bye"}, record


@client_scenario
async def recv_streaming_is_one_receiver_at_a_time(servers: Servers, api: ClientAPI) -> None:
    async with api.connect(servers.url("/echo")) as ws:
        first = asyncio.ensure_future(ws.recv())
        await asyncio.sleep(0)
        exc = await expect(api.ConcurrencyError, anext(ws.recv_streaming()), "recv_streaming")
        assert str(exc) == (
            "cannot call recv_streaming while another coroutine is already running recv "
            "or recv_streaming"
        ), str(exc)
        await ws.send("one")
        assert await first == "one"
        await ws.send(b"two")
        assert [f async for f in ws.recv_streaming(decode=True)] == ["two"]
        await ws.send("three")
        assert [f async for f in ws.recv_streaming(decode=False)] == [b"three"]


@client_scenario
async def an_async_iterable_is_sent_before_the_next_message(
    servers: Servers, api: ClientAPI
) -> None:
    async def slow_parts() -> AsyncIterator[str]:
        yield "sl"  # the message has begun (websockets: its first frame is out)
        await asyncio.sleep(0.05)
        yield "ow"

    async def nothing() -> AsyncIterator[str]:
        parts: list[str] = []
        await asyncio.sleep(0)
        for part in parts:
            yield part

    async with api.connect(servers.url("/echo")) as ws:
        streaming = asyncio.ensure_future(ws.send(slow_parts()))
        await asyncio.sleep(0.01)
        await ws.send("next")  # waits for the message in progress
        await streaming
        assert [await ws.recv(), await ws.recv()] == ["slow", "next"]
        await ws.send(nothing())  # an empty async iterable sends nothing
        await ws.send("after")
        assert await ws.recv() == "after"


@client_scenario
async def max_queue_and_write_limit_take_a_high_low_pair(servers: Servers, api: ClientAPI) -> None:
    # (None, low): high is 4 x low; (high, None): low is high / 4. (Pairs
    # that break these rules: tests/test_client_units.py, pyws_shim.client
    # only: websockets fails with an AttributeError as it cleans up.)
    url = servers.url("/echo")
    async with api.connect(url, max_queue=(None, 4), write_limit=(2**16, None)) as ws:
        for i in range(3):
            await ws.send(str(i))
        assert [await ws.recv() for _ in range(3)] == ["0", "1", "2"]


@client_scenario
async def additional_headers_of_every_kind(servers: Servers, api: ClientAPI) -> None:
    class KeysAndItems:  # neither a Mapping nor pairs: keys() and [] only
        def keys(self) -> list[str]:
            return ["X-Keys"]

        def __getitem__(self, name: str) -> str:
            return "yes"

    cases: list[tuple[Any, dict[str, str]]] = [
        ([("X-Pairs", "1"), ("X-Other", "2")], {"x-pairs": "1", "x-other": "2"}),
        (KeysAndItems(), {"x-keys": "yes"}),
        ({"X-Map": "m"}, {"x-map": "m"}),
        (api.Headers([("X-Headers", "h")]), {"x-headers": "h"}),
    ]
    for headers, expected in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # browsers: "ignored"
            async with api.connect(
                servers.url("/headers"), additional_headers=headers, user_agent_header="agent/1"
            ) as ws:
                received = json.loads(await ws.recv())
        if api.differs.no_request_headers:
            assert not set(expected) & set(received), received
            continue
        for name, value in expected.items():
            assert received[name] == value, (name, received)
        assert received["user-agent"] == "agent/1", received
    if api.differs.no_request_headers:
        return
    # A User-Agent among the headers wins over user_agent_header.
    async with api.connect(
        servers.url("/headers"), additional_headers={"User-Agent": "mine"}, user_agent_header="x"
    ) as ws:
        assert json.loads(await ws.recv())["user-agent"] == "mine"


@client_scenario
async def process_exception_may_raise_or_replace_the_failure(
    servers: Servers, api: ClientAPI
) -> None:
    class Fatal(Exception):
        pass

    def raises(exc: Exception) -> Exception | None:
        raise Fatal("raised")

    def replaces(exc: Exception) -> Exception | None:
        return Fatal("returned")

    for process, text in ((raises, "raised"), (replaces, "returned")):
        attempts = 0

        async def first(process: Any = process) -> None:
            nonlocal attempts
            async for _ in api.connect(servers.refused, process_exception=process):
                attempts += 1
                raise AssertionError("connected")

        exc = await expect(Fatal, first(), f"process_exception that {text}")
        assert str(exc) == text
        assert isinstance(exc.__cause__, OSError), repr(exc.__cause__)  # the refusal
        assert attempts == 0


@client_scenario
async def pings_pending_at_close_raise_connection_closed(servers: Servers, api: ClientAPI) -> None:
    # The fault peer answers neither pings nor the close frame.
    record_id = new_id()
    ws = await api.connect(servers.fault_url("frames", id=record_id), close_timeout=0.3)
    await expect(TypeError, ws.pong(42), "pong(42)")
    if api.differs.no_pings:
        await expect(NotImplementedError, ws.pong("text"), "pong('text')")
        await ws.close()
        await peer_report(servers, record_id)
        return
    pong_waiter = await ws.ping(b"unanswered")
    await ws.pong("text")
    await ws.close()
    exc = await expect(api.ConnectionClosedError, pong_waiter, "a pong that never came")
    assert frame_of(exc.sent) == (1000, ""), str(exc)
    await expect(api.ConnectionClosedError, ws.ping(), "ping() once closed")
    record = await peer_report(servers, record_id)
    frames = [(f["opcode"], f["data"]) for f in record["frames"] if f["opcode"] in (9, 10)]
    assert frames == [(9, b"unanswered".hex()), (10, b"text".hex())], record["frames"]


@client_scenario
async def an_unsolicited_pong_is_ignored(servers: Servers, api: ClientAPI) -> None:
    pong = bytes([0x8A, 4]) + b"beat"
    text = bytes([0x81, 2]) + b"ok"
    record_id = new_id()
    ws = await api.connect(servers.fault_url("frames", id=record_id, hex=(pong + text).hex()))
    assert await ws.recv() == "ok"
    assert ws.latency == 0.0
    assert ws.state == api.State.OPEN
    await ws.close()
    await peer_report(servers, record_id)


@client_scenario
async def keepalive_without_ping_timeout_only_pings(servers: Servers, api: ClientAPI) -> None:
    record_id = new_id()
    url = servers.fault_url("frames", id=record_id, answer="echo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Pyodide: "ping_interval ignored"
        ws = await api.connect(url, ping_interval=0.05, ping_timeout=None)
    await asyncio.sleep(0.3)
    assert ws.state == api.State.OPEN
    await ws.close()
    record = await peer_report(servers, record_id)
    pings = [f for f in record["frames"] if f["opcode"] == 9]
    assert (pings == []) if api.differs.no_pings else (len(pings) >= 2), record["frames"]
