"""``ClientConnection``: websockets' client connection on pyws_shim's ``WebSocket``.

A ``ClientConnection`` owns one :class:`pyws_shim.WebSocket` and reads it
through its events only (``message`` and ``close``, ``binaryType``
"arraybuffer"), so it behaves the same in CPython and in every Pyodide
runtime. What the DOM does not offer comes through the public backend seam
(:mod:`pyws_shim.backends`): the ``WebSocket`` is given a backend of the
client's own, :class:`_Interposer`, which wraps the platform's, keeps the
:class:`~pyws_shim.backends.Connection` it makes, and puts a handler of its
own, :class:`_Relay`, between that connection and the ``WebSocket``. Through
them the client sees pongs, how the connection closed (the close frames
received and sent, and why it failed), and uses what the backend can do
beyond the DOM: ping and pong, pause reading, wait for the write buffer to
drain, and close with codes the DOM refuses. In CPython the backend can do
all of these; under Pyodide none (each ``can_*`` of the seam says so), and
the client does what its documentation (the README's table) says instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
import warnings
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Iterable,
    Mapping,
)
from enum import IntEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, overload

from .._platform import load_backend
from ..backends import FailureReported
from ..events import CloseEvent, Event, MessageEvent
from ..exceptions import ConnectionClosed as DOMConnectionClosed
from ..exceptions import DOMException
from ..websocket import WebSocket
from .exceptions import (
    OK_CLOSE_CODES,
    Close,
    ConcurrencyError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    ConnectionFailed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
    PayloadTooBig,
    ProtocolError,
)
from .http import Headers, Response

if TYPE_CHECKING:
    from ..backends import Backend, Closure, Connection, ConnectionHandler
    from ..blob import Blob
    from ..options import ConnectOptions

__all__ = ["PING_UNAVAILABLE", "ClientConnection", "Data", "State"]

Data = str | bytes
"""A message: ``str`` for a text message, ``bytes`` for a binary one."""

# RFC 6455 7.4.1 and IANA's registry: the codes a close frame may carry
# (websockets.frames.EXTERNAL_CLOSE_CODES), and those the DOM's close() takes.
_SENDABLE_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})
_INTERNAL_ERROR: Final = 1011
_MAX_CLOSE_REASON: Final = 123  # RFC 6455 5.5: 125 bytes of payload, 2 of them the code

PING_UNAVAILABLE: Final = (
    "the runtime's WebSocket (Pyodide) sends no pings and no pongs, and offers no "
    "way to send one: ping() and pong() work in CPython only"
)


class State(IntEnum):
    """The state of a connection (``websockets.protocol.State``)."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


def _is_dom_close_code(code: int) -> bool:
    """Whether the DOM's ``close()`` takes ``code`` (1000 or 3000-4999)."""
    return code == 1000 or 3000 <= code <= 4999


class _Relay:
    """The handler the backend reports to: every report goes on to the
    ``WebSocket``'s own handler, and the client takes note of what the DOM
    does not show (a :class:`pyws_shim.backends.ConnectionHandler`)."""

    __slots__ = ("_client", "_handler")

    def __init__(self, handler: ConnectionHandler, client: ClientConnection) -> None:
        self._handler = handler
        self._client = client

    def connection_established(self, protocol: str, extensions: str) -> None:
        self._handler.connection_established(protocol, extensions)

    def message_received(self, data: str | bytes | Blob) -> None:
        self._handler.message_received(data)

    def closing_handshake_started(self) -> None:
        self._client._close_frame_received()
        self._handler.closing_handshake_started()

    def connection_closed(self, closure: Closure) -> None:
        self._client._closure = closure  # before the close event that it causes
        self._handler.connection_closed(closure)

    def pong_received(self, data: bytes) -> None:
        self._client._acknowledge_pings(data)
        self._handler.pong_received(data)


class _Interposer:
    """A :class:`pyws_shim.backends.Backend` around the platform's own: it
    keeps the connection the platform's backend makes, and puts a
    :class:`_Relay` between it and the ``WebSocket``."""

    def __init__(self, base: Backend, client: ClientConnection) -> None:
        self._base = base
        self._client = client
        self.parse_url = base.parse_url
        self.connection: Connection | None = None

    def base_url(self) -> str | None:
        return self._base.base_url()

    def connect(
        self,
        handler: ConnectionHandler,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> Connection:
        connection = self._base.connect(_Relay(handler, self._client), url, protocols, options)
        self.connection = connection
        return connection


def _limits(
    value: int | tuple[int | None, int | None] | None, name: str
) -> tuple[int | None, int | None]:
    """A high-water mark, or a ``(high, low)`` pair, as websockets reads it."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise TypeError(f"connect(): {name} must be an int, None or a (high, low) pair")
        high, low = value
    else:
        high, low = value, None
    for mark in (high, low):
        if mark is not None and (not isinstance(mark, int) or isinstance(mark, bool)):
            raise TypeError(f"connect(): {name} must hold ints or None, not {type(mark).__name__}")
    if high is not None and low is None:
        low = high // 4
    if high is None and low is not None:
        high = low * 4
    if high is not None and low is not None:
        if low < 0:
            raise ValueError(f"connect(): {name}: the low-water mark must be 0 or more, not {low}")
        if high < low:
            raise ValueError(
                f"connect(): {name}: the high-water mark ({high}) is below the low one ({low})"
            )
    return high, low


def _byte_size(data: Data) -> int:
    """A message's size in bytes (UTF-8 for text)."""
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


def _random_ping_data() -> bytes:
    return os.urandom(4)


class ClientConnection:
    """A WebSocket client connection, as ``websockets.asyncio.client`` has it.

    Made by :func:`pyws_shim.client.connect`, open: ``await recv()`` or
    ``async for message in connection`` to receive, ``await send(message)``
    to send, ``await close()`` to close. Built on a :class:`pyws_shim.WebSocket`
    (one per connection), so it runs in CPython and under Pyodide alike;
    where a runtime cannot do what websockets does, the README's table says
    what happens instead.
    """

    def __init__(
        self,
        url: str,
        protocols: list[str],
        options: dict[str, Any],
        *,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        max_size: int | None = 2**20,
        max_queue: int | tuple[int | None, int | None] | None = 16,
        write_limit: int | tuple[int, int | None] = 2**15,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self.id: uuid.UUID = uuid.uuid4()
        """A unique identifier of the connection, for logs."""
        self.logger: logging.Logger | logging.LoggerAdapter[Any] = (
            logging.getLogger("pyws_shim.client") if logger is None else logger
        )
        self.latency: float = 0.0
        """The last round trip of a ping and its pong, in seconds (0.0 until
        the first pong; it stays 0.0 where pings cannot be sent)."""
        self.request: None = None
        """websockets' handshake request: not shown by the DOM WebSocket (None)."""
        self.response: None = None
        """websockets' handshake response: not shown by the DOM WebSocket (None)."""
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._max_queue_high, self._max_queue_low = _limits(max_queue, "max_queue")
        write_high, write_low = _limits(write_limit, "write_limit")
        if write_high is None or write_low is None:
            raise TypeError("connect(): write_limit must be an int or a (high, low) pair")
        self._write_limits = (write_high, write_low)
        self._loop = asyncio.get_running_loop()
        self._messages: deque[tuple[Data, int]] = deque()
        self._queued_bytes = 0
        self._recv_waiter: asyncio.Future[None] | None = None
        self._recv_busy = False
        self._reading_paused = False
        self._send_in_progress: asyncio.Future[None] | None = None
        self._pending_pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self._keepalive_task: asyncio.Task[None] | None = None
        # How the connection ends, as far as the client knows it.
        self._closure: Closure | None = None
        self._closing_started = False  # close() or a failure of ours started it
        self._close_frame_first: bool | None = None  # the server's frame came before ours
        self._failing = False  # the client failed the connection: no more messages
        self._fail_cause: BaseException | None = None
        self._close_exc_args: tuple[type[ConnectionClosed], Close | None, Close | None] | None = (
            None
        )
        self._close_rcvd_then_sent: bool | None = None
        self._close_cause: BaseException | None = None
        self._closed: asyncio.Future[None] = self._loop.create_future()

        # The WebSocket, on the platform's backend through the interposer.
        self._seam = _Interposer(load_backend(None), self)
        self._ws = WebSocket(url, protocols, backend=self._seam, **options)
        connection = self._seam.connection
        assert connection is not None
        self._connection: Connection = connection
        self._ws.binaryType = "arraybuffer"  # binary messages as bytes
        self._ws.addEventListener("message", self._on_message)
        self._ws.addEventListener("close", self._on_close)
        # max_size: where connect() passed it on (CPython), the backend fails
        # a larger message itself (1009) as it reads it; the runtime's
        # WebSocket takes messages of any size, so under Pyodide the client
        # checks each one as it arrives.
        self._max_size = None if "max_size" in options else max_size
        # max_queue: where reading cannot be paused, the messages waiting
        # are bounded by max_queue x max_size bytes (websockets' own bound,
        # up to the messages of one read): beyond it the connection fails.
        self._queue_bound: int | None = None
        if (
            not connection.can_pause_reading
            and self._max_queue_high is not None
            and max_size is not None
        ):
            self._queue_bound = max(self._max_queue_high, 1) * max_size
        if not connection.can_ping:
            for name, value in (("ping_interval", ping_interval), ("ping_timeout", ping_timeout)):
                if value is not None and value != 20:
                    warnings.warn(
                        f"connect(): {name} ignored: {PING_UNAVAILABLE}",
                        RuntimeWarning,
                        stacklevel=4,
                    )

    # Opening (for connect()).

    async def _opening(self) -> None:
        """Wait for the connection to open; raise what websockets raises if
        it does not."""
        try:
            await self._ws.wait_open()
        except DOMConnectionClosed:
            opened = False
        except BaseException:
            self._ws.close()  # cancelled while connecting: do not leave it running
            raise
        else:
            opened = True
        if not opened:  # (raised here, outside the except clause: no context)
            closure = self._closure
            raise _opening_error(self._ws.url, closure.cause if closure else None)
        self._connection.write_limits(*self._write_limits)
        if self._connection.can_ping and self.ping_interval is not None:
            self._keepalive_task = self._loop.create_task(self._keepalive())

    # The state.

    @property
    def state(self) -> State:
        """CONNECTING, OPEN, CLOSING or CLOSED (``websockets.protocol.State``)."""
        ready = self._ws.readyState
        if ready == WebSocket.OPEN and (self._closing_started or self._failing):
            return State.CLOSING
        return State(ready)

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, if any."""
        return self._ws.protocol or None

    @property
    def close_code(self) -> int | None:
        """The code of the close frame received once the connection is
        closed (1006 if none was; ``None`` until then)."""
        if self._close_exc_args is None:
            return None
        rcvd = self._close_exc_args[1]
        return 1006 if rcvd is None else rcvd.code

    @property
    def close_reason(self) -> str | None:
        """The reason of the close frame received once the connection is
        closed ("" if none was; ``None`` until then)."""
        if self._close_exc_args is None:
            return None
        rcvd = self._close_exc_args[1]
        return "" if rcvd is None else rcvd.reason

    @property
    def local_address(self) -> None:
        """websockets' socket address: the DOM WebSocket shows none (None)."""
        return None

    @property
    def remote_address(self) -> None:
        """websockets' socket address: the DOM WebSocket shows none (None)."""
        return None

    # async with, async for.

    async def __aenter__(self) -> ClientConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close(1000 if exc_type is None else _INTERNAL_ERROR)

    async def __aiter__(self) -> AsyncIterator[Data]:
        """Each message in turn; ends when the connection closes normally
        (:class:`ConnectionClosedOK`), raises :class:`ConnectionClosedError`
        when it does not."""
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    # Receiving.

    @overload
    async def recv(self, decode: Literal[True]) -> str: ...
    @overload
    async def recv(self, decode: Literal[False]) -> bytes: ...
    @overload
    async def recv(self, decode: bool | None = None) -> Data: ...
    async def recv(self, decode: bool | None = None) -> Data:
        """The next message: ``str`` for text, ``bytes`` for binary
        (``decode=False``: text as UTF-8 bytes; ``decode=True``: binary
        decoded as UTF-8). Once the connection is closed, and every message
        received before was returned, raises :class:`ConnectionClosedOK` or
        :class:`ConnectionClosedError`. Cancelling it loses no message."""
        return await self._decoded(await self._receive("recv"), decode)

    async def recv_streaming(self, decode: bool | None = None) -> AsyncIterator[Data]:
        """The next message, as an iterator of its fragments: here always one,
        the whole message (the DOM WebSocket delivers whole messages)."""
        yield await self._decoded(await self._receive("recv_streaming"), decode)

    async def _receive(self, caller: str) -> Data:
        """The next message, for one receiver at a time (``caller``: the
        method that asks, for websockets' ConcurrencyError message)."""
        if self._recv_busy:
            raise ConcurrencyError(
                f"cannot call {caller} while another coroutine is already running recv "
                "or recv_streaming"
            )
        self._recv_busy = True
        try:
            return await self._next_message()
        finally:
            self._recv_busy = False

    async def _next_message(self) -> Data:
        messages = self._messages
        while not messages:
            if self._close_exc_args is not None:
                raise self._close_exc()
            waiter = self._loop.create_future()
            self._recv_waiter = waiter
            try:
                await waiter
            finally:
                self._recv_waiter = None
        data, size = messages.popleft()
        self._queued_bytes -= size
        if self._reading_paused and len(messages) <= (self._max_queue_low or 0):
            self._reading_paused = False
            self._connection.resume_reading()
        return data

    async def _decoded(self, data: Data, decode: bool | None) -> Data:
        if isinstance(data, str):
            return data.encode("utf-8", "surrogatepass") if decode is False else data
        if decode is not True:
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # As websockets does: a binary message that is not UTF-8, read as
            # text, fails the connection with 1007 (RFC 6455 7.4.1, "data
            # within a message that was not consistent with the type").
            self._fail(1007, f"{exc.reason} at position {exc.start}", exc)
        await asyncio.shield(self._closed)
        raise self._close_exc()  # (its cause: the UnicodeDecodeError)

    def _on_message(self, event: Event) -> None:
        if not event.isTrusted or self._failing:
            return
        assert isinstance(event, MessageEvent)
        data: Data = event.data
        size = 0
        if self._max_size is not None or self._queue_bound is not None:
            size = _byte_size(data)
            if self._max_size is not None and size > self._max_size:
                self._fail(
                    1009,
                    "message too big",
                    PayloadTooBig(
                        f"a message of {size} bytes exceeds max_size ({self._max_size} bytes)"
                    ),
                )
                return
            if self._queue_bound is not None and self._queued_bytes + size > self._queue_bound:
                self._fail(
                    1008,
                    "messages not read",
                    BufferError(
                        f"more than {self._queue_bound} bytes of messages (max_queue x "
                        "max_size) waited for recv(), and the runtime's WebSocket cannot "
                        "pause reading: the connection was failed to bound memory"
                    ),
                )
                return
        self._messages.append((data, size))
        self._queued_bytes += size
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        high = self._max_queue_high
        if (
            high is not None
            and not self._reading_paused
            and len(self._messages) > high
            and self._connection.can_pause_reading
        ):
            self._reading_paused = True
            self._connection.pause_reading()

    # Sending.

    async def send(
        self,
        message: Data | bytearray | memoryview | Iterable[Any] | AsyncIterable[Any],
        *,
        text: bool | None = None,
    ) -> None:
        """Send one message: ``str`` as text, bytes-like as binary
        (``text=True``: bytes as text; ``text=False``: str as binary). An
        iterable or async iterable of str (or of bytes-like) is one message
        in fragments: the DOM WebSocket sends whole messages, so they are
        joined and sent at once, when the last has come. Waits while the
        write buffer is over ``write_limit``. Raises :class:`ConnectionClosed`
        once the connection is closing or closed."""
        while self._send_in_progress is not None:
            await asyncio.shield(self._send_in_progress)
        payload: Data | bytearray | memoryview
        if isinstance(message, str):
            payload = message.encode("utf-8") if text is False else message
        elif isinstance(message, (bytes, bytearray, memoryview)):
            payload = bytes(message).decode("utf-8") if text is True else message
        elif isinstance(message, Mapping):
            raise TypeError("data is a dict-like object")
        elif isinstance(message, Iterable):
            joined = _join(message, text, "iterable")
            if joined is None:
                return
            payload = joined
        elif isinstance(message, AsyncIterable):
            self._send_in_progress = self._loop.create_future()
            try:
                joined = await _join_async(message, text)
            finally:
                self._send_in_progress.set_result(None)
                self._send_in_progress = None
            if joined is None:
                return
            payload = joined
        else:
            raise TypeError("data must be str, bytes, iterable, or async iterable")
        await self._check_open()
        self._ws.send(payload)
        waiter = self._connection.drain()
        if waiter is not None:
            await waiter

    async def _check_open(self) -> None:
        """Raise :class:`ConnectionClosed` unless the connection is open
        (once it has closed, as websockets does)."""
        if self.state is not State.OPEN:
            await asyncio.shield(self._closed)
            raise self._close_exc()

    # Closing.

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake with ``code`` and ``reason``, and wait
        until the connection is closed. Codes the runtime's WebSocket cannot
        send (under Pyodide: all but 1000 and 3000-4999) go out as 1000."""
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"close(): code must be an int, not {type(code).__name__}")
        if not isinstance(reason, str):
            raise TypeError(f"close(): reason must be a str, not {type(reason).__name__}")
        if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
            raise ProtocolError(f"invalid status code {code}")
        if len(reason.encode("utf-8", "surrogatepass")) > _MAX_CLOSE_REASON:
            raise ProtocolError(f"close reason longer than {_MAX_CLOSE_REASON} bytes in UTF-8")
        self._start_closing(code, reason)
        await asyncio.shield(self._closed)

    def _start_closing(self, code: int, reason: str) -> None:
        if self._closing_started or self._ws.readyState != WebSocket.OPEN:
            return  # already closing (either side), or closed
        self._closing_started = True
        if self._close_frame_first is None:
            self._close_frame_first = False
        if _is_dom_close_code(code):
            self._ws.close(code, reason)
        elif self._connection.can_close_with_any_code:
            # The DOM's close() refuses this code; the backend can send it.
            # The WebSocket follows when the server answers (CLOSING, then
            # its close event).
            self._connection.start_closing_handshake(code, reason)
        else:
            self._ws.close(1000, reason)

    def _fail(self, code: int, reason: str, cause: BaseException | None) -> None:
        """Fail the connection from this side (RFC 6455 7.1.7), as websockets'
        ``fail()``: a close frame with ``code`` where the backend can send
        it, else at once; no message is taken after this."""
        if self._failing or self._close_exc_args is not None:
            return
        self._failing = True
        self._fail_cause = cause
        if self._ws.readyState != WebSocket.OPEN or self._closing_started:
            return
        self._closing_started = True
        if self._close_frame_first is None:
            self._close_frame_first = False
        if self._connection.can_close_with_any_code:
            self._connection.start_closing_handshake(code, reason)
        else:
            self._connection.fail()

    def _close_frame_received(self) -> None:
        if self._close_frame_first is None:
            self._close_frame_first = True

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        await asyncio.shield(self._closed)

    def _on_close(self, event: Event) -> None:
        if not event.isTrusted:
            return
        assert isinstance(event, CloseEvent)
        closure = self._closure
        rcvd = sent = None
        cause = self._fail_cause
        if closure is not None:
            if closure.received is not None:
                rcvd = Close(*closure.received)
            if closure.sent is not None:
                sent = Close(*closure.sent)
            if cause is None:
                cause = closure.cause
        kind: type[ConnectionClosed] = ConnectionClosedError
        if rcvd is not None and sent is not None:
            # websockets' rule: normal when both frames say 1000, 1001 or no
            # code; never when either side failed the connection (under
            # Pyodide the client's own failure sends a close frame without
            # a code, which the server may well answer alike).
            failed = self._failing or (closure is not None and closure.failed)
            if not failed and rcvd.code in OK_CLOSE_CODES and sent.code in OK_CLOSE_CODES:
                kind = ConnectionClosedOK
            # The server's frame came first unless the client had sent its own.
            self._close_rcvd_then_sent = self._close_frame_first is not False
        self._close_exc_args = (kind, rcvd, sent)
        self._close_cause = cause
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self._closed.done():
            self._closed.set_result(None)
        for pong_waiter, _ in self._pending_pings.values():
            if not pong_waiter.done():
                pong_waiter.set_exception(self._close_exc())
            # Done already: this only keeps asyncio from logging an exception
            # that nobody retrieved (no one may wait for this pong).
            pong_waiter.cancel()
        self._pending_pings.clear()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            self._keepalive_task = None

    def _close_exc(self) -> ConnectionClosed:
        """A new exception that says how the connection closed."""
        assert self._close_exc_args is not None
        kind, rcvd, sent = self._close_exc_args
        exc = kind(rcvd, sent, self._close_rcvd_then_sent if rcvd and sent else None)
        exc.__cause__ = self._close_cause
        return exc

    # Pings and pongs.

    async def ping(
        self, data: str | bytes | bytearray | memoryview | None = None
    ) -> Awaitable[float]:
        """Send a ping; return a future of the round trip's latency in
        seconds, done when its pong comes. CPython only: under Pyodide the
        runtime's WebSocket cannot send one, and this raises
        ``NotImplementedError``."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data)
        elif isinstance(data, str):
            data = data.encode("utf-8")
        elif data is not None:
            raise TypeError("data must be str or bytes-like")
        if not self._connection.can_ping:
            raise NotImplementedError(f"ping(): {PING_UNAVAILABLE}")
        await self._check_open()
        if data in self._pending_pings:
            raise ConcurrencyError("already waiting for a pong with the same data")
        while data is None or data in self._pending_pings:
            data = _random_ping_data()
        pong_waiter: asyncio.Future[float] = self._loop.create_future()
        self._pending_pings[data] = (pong_waiter, self._loop.time())
        self._connection.ping(data)
        return pong_waiter

    async def pong(self, data: str | bytes | bytearray | memoryview = b"") -> None:
        """Send an unsolicited pong. CPython only (``NotImplementedError``
        under Pyodide, as :meth:`ping`)."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data)
        elif isinstance(data, str):
            data = data.encode("utf-8")
        else:
            raise TypeError("data must be str or bytes-like")
        if not self._connection.can_ping:
            raise NotImplementedError(f"pong(): {PING_UNAVAILABLE}")
        await self._check_open()
        self._connection.pong(data)

    def _acknowledge_pings(self, data: bytes) -> None:
        """A pong came: it answers its ping and every earlier one (as
        websockets: "sending a pong for only the most recent ping is legal")."""
        if data not in self._pending_pings:
            return  # unsolicited
        now = self._loop.time()
        answered = []
        for ping_id, (pong_waiter, sent_at) in self._pending_pings.items():
            answered.append(ping_id)
            latency = now - sent_at
            if not pong_waiter.done():
                pong_waiter.set_result(latency)
            if ping_id == data:
                self.latency = latency
                break
        for ping_id in answered:
            del self._pending_pings[ping_id]

    async def _keepalive(self) -> None:
        """Ping every ``ping_interval`` seconds; fail the connection (1011)
        when a pong does not come within ``ping_timeout``."""
        assert self.ping_interval is not None
        latency = 0.0
        try:
            while True:
                await asyncio.sleep(self.ping_interval - latency)
                pong_waiter = await self.ping()
                if self.ping_timeout is None:
                    continue
                try:
                    async with asyncio.timeout(self.ping_timeout):
                        latency = await pong_waiter
                except TimeoutError:
                    self.logger.debug("timed out waiting for a keepalive pong")
                    self._fail(_INTERNAL_ERROR, "keepalive ping timeout", None)
                    return
        except ConnectionClosed:
            return
        except Exception:
            self.logger.error("keepalive ping failed", exc_info=True)

    def __repr__(self) -> str:
        return f"<ClientConnection {self._ws.url!r} {self.state.name}>"


def _join(fragments: Iterable[Any], text: bool | None, what: str) -> Data | None:
    """The fragments of one message joined into it (``None`` for none)."""
    chunks = iter(fragments)
    try:
        first = next(chunks)
    except StopIteration:
        return None
    parts: list[Any] = [first]
    kind = _fragment_kind(first, what)
    for chunk in chunks:
        _check_fragment(chunk, kind, what)
        parts.append(chunk)
    return _joined(parts, kind, text)


async def _join_async(fragments: AsyncIterable[Any], text: bool | None) -> Data | None:
    chunks = aiter(fragments)
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        return None
    parts: list[Any] = [first]
    kind = _fragment_kind(first, "async iterable")
    async for chunk in chunks:
        _check_fragment(chunk, kind, "async iterable")
        parts.append(chunk)
    return _joined(parts, kind, text)


def _fragment_kind(first: object, what: str) -> type:
    """The type every fragment of a message must have: the first one's."""
    if isinstance(first, str):
        return str
    if isinstance(first, (bytes, bytearray, memoryview)):
        return bytes
    raise TypeError(f"{what} must contain bytes or str")


def _check_fragment(chunk: object, kind: type, what: str) -> None:
    if kind is str and isinstance(chunk, str):
        return
    if kind is bytes and isinstance(chunk, (bytes, bytearray, memoryview)):
        return
    raise TypeError(f"{what} must contain uniform types")


def _joined(parts: list[Any], kind: type, text: bool | None) -> Data:
    if kind is str:
        message = "".join(parts)
        return message.encode("utf-8") if text is False else message
    data = b"".join(parts)
    return data.decode("utf-8") if text is True else data


def _opening_error(url: str, cause: BaseException | None) -> BaseException:
    """What websockets raises when a connection does not open, from what the
    backend knows of why (in CPython always; under Pyodide a timeout, and
    at most the runtime's words)."""
    error: BaseException
    if cause is None or isinstance(cause, FailureReported):
        said = "" if cause is None else f"; it says: {cause}"
        error = ConnectionFailed(
            f"the WebSocket connection to {url} failed before it opened (the runtime's "
            "WebSocket does not say which failure it was: a refused connection, a TLS error "
            f"and a refused handshake look the same{said})"
        )
        error.__cause__ = cause
        return error
    if isinstance(cause, TimeoutError):
        error = TimeoutError("timed out during opening handshake")
        error.__cause__ = cause
        return error
    if isinstance(cause, OSError):
        return cause  # a refused connection, a TLS error, a proxy's refusal
    response = _response_of(cause)
    if response is not None:
        error = InvalidStatus(response)
    elif isinstance(cause, EOFError):
        error = InvalidMessage("did not receive a valid HTTP response")
    elif _is_invalid_message(cause):
        # websockets' InvalidMessage (in CPython, the sans-I/O core's own):
        # caused, as websockets has it, by what broke the response (an
        # EOFError for one cut short, which process_exception retries).
        error = InvalidMessage(str(cause))
        error.__cause__ = cause.__cause__ or cause
        return error
    else:
        error = InvalidHandshake(str(cause) or type(cause).__name__)
    error.__cause__ = cause
    return error


def _is_invalid_message(cause: BaseException) -> bool:
    """Whether ``cause`` is websockets' ``InvalidMessage`` (read by its name:
    no class of websockets is needed here)."""
    return any(
        kind.__name__ == "InvalidMessage" and kind.__module__.startswith("websockets.")
        for kind in type(cause).__mro__
    )


def _response_of(cause: BaseException) -> Response | None:
    """The HTTP response of a refused handshake, where the backend's error
    holds one (in CPython, websockets' ``InvalidStatus``; read by its
    documented attributes, so no class of websockets is needed here)."""
    response = getattr(cause, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    headers = getattr(response, "headers", None)
    raw_items = getattr(headers, "raw_items", None)
    pairs = list(raw_items()) if callable(raw_items) else []
    body = getattr(response, "body", b"")
    return Response(
        status_code=status,
        reason_phrase=str(getattr(response, "reason_phrase", "")),
        headers=Headers(pairs),
        body=bytes(body) if isinstance(body, (bytes, bytearray)) else b"",
    )


def dom_error_to_client(url: str, exc: DOMException) -> BaseException:
    """A ``DOMException`` of the ``WebSocket`` constructor, as websockets would say it."""
    if exc.name == "SyntaxError":
        return InvalidURI(url, exc.message)
    return ConnectionFailed(f"the runtime refused to connect to {url}: {exc}")
