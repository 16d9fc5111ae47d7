"""The CPython driver: one WebSocket connection on an asyncio transport.

It ties the parts together and to asyncio (and uvloop, whose transports
follow the same protocols):

- the websockets sans-I/O ``ClientProtocol`` (the "core") writes the opening
  request and checks the response, frames and parses control frames, and
  fails the connection with the right close code;
- :class:`~.receiver.Receiver` reads data frames and hands messages to the
  ``WebSocket``, without a future or a queue per message;
- :class:`~.writer.WriteBuffer` combines writes and keeps ``bufferedAmount``;
- this module opens the TCP and TLS connection, keeps the open and close
  timeouts, and reports how the connection closed.

Every path ends in exactly one :meth:`ConnectionHandler.connection_closed`:
a refused connection, a failed handshake, the open timeout (whatever the
connection is doing then), a protocol error, a lost connection, the close
timeout, and an event loop that shuts down with the connection still open
(it is closed with 1001, "going away", as a page that unloads closes its
sockets). Nothing raises into the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import ssl
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import unquote

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import Protocol, State
from websockets.typing import Origin, Subprotocol
from websockets.uri import WebSocketURI
from websockets.version import version as websockets_version

from ... import __version__
from ...blob import Blob
from ...proxy import open_tunnel
from .. import CloseFrame, Closure
from ..close_timer import CloseTimer
from .framing import (
    BINARY,
    FIN,
    LARGE_FRAME,
    RSV1,
    SHORT_HEADERS,
    TEXT,
    apply_mask,
    frame_header,
    masked_pieces,
    masking_keys,
)
from .handshake import ResponseHeadTooLarge, handshake_head, response_head_length
from .receiver import INTERNAL_ERROR, Receiver, scratch_buffer
from .writer import WriteBuffer

if TYPE_CHECKING:
    from ...options import ConnectOptions
    from .. import ConnectionHandler

__all__ = ["USER_AGENT", "AsyncioConnection"]

logger = logging.getLogger("pyws_shim")

USER_AGENT: Final = (
    f"Python/{platform.python_version()} pyws_shim/{__version__} websockets/{websockets_version}"
)
# RFC 6455 7.4.1: "1001 indicates that an endpoint is 'going away', such as a
# server going down or a browser having navigated away from a page."
GOING_AWAY: Final = 1001
# How long a connection still open when its event loop shuts down may take
# to send its close frame before it is dropped.
SHUTDOWN_GRACE: Final = 1.0
# asyncio's own write buffer limit (its transports' default high-water mark),
# until write_limits() sets one.
DEFAULT_WRITE_HIGH: Final = 64 * 1024


def websocket_uri(url: str) -> WebSocketURI:
    """The parts of a serialized ``ws:``/``wss:`` URL that the core needs."""
    import ada_url

    record = ada_url.URL(url)
    secure = record.protocol == "wss:"
    host = record.hostname
    if host.startswith("["):  # an IPv6 address
        host = host[1:-1]
    username = unquote(record.username) if record.username or record.password else None
    return WebSocketURI(
        secure=secure,
        host=host,
        port=int(record.port) if record.port else (443 if secure else 80),
        path=record.pathname,
        query=record.search[1:],
        username=username,
        password=None if username is None else unquote(record.password),
    )


class AsyncioConnection(asyncio.BufferedProtocol):
    """One WebSocket connection on an asyncio transport (a
    :class:`pyws_shim.backends.Connection`)."""

    def __init__(
        self,
        handler: ConnectionHandler,
        loop: asyncio.AbstractEventLoop,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> None:
        self._handler = handler
        self._loop = loop
        self._url = url
        self._options = options
        self._uri = websocket_uri(url)
        self._protocol = ClientProtocol(
            self._uri,
            origin=None if options.origin is None else Origin(options.origin),
            extensions=(
                # What browsers offer: "permessage-deflate; client_max_window_bits".
                [ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5})]
                if options.compression == "deflate"
                else None
            ),
            subprotocols=[Subprotocol(p) for p in protocols] or None,
            max_size=options.max_size,
        )
        self._transport: asyncio.Transport | None = None
        self._writer = WriteBuffer(loop)
        self._masks: list[bytes] = []  # masking keys, drawn from the end (framing.masking_keys)
        # Whether data frames may be sent: open, and the closing handshake not
        # started (the core's state, kept here for send(), which runs per message).
        self._sendable = False
        self._receiver: Receiver | None = None
        self._deflate = None  # the negotiated permessage-deflate, once open
        # The opening handshake's response until its head is complete.
        self._head: bytearray | None = bytearray()
        self._connect_task: asyncio.Task[None] | None = None
        self._open_timer: asyncio.TimerHandle | None = None
        # The closing handshake's clock: it counts from when our bytes, the
        # close frame last, have reached the server's TCP (acknowledged).
        self._close_timer = CloseTimer(
            loop, options.close_timeout, self._writer.undelivered, self._abort
        )
        self._aborted = False
        # Whether the user agent failed the connection, and why.
        self._failed = False
        self._cause: BaseException | None = None
        self._reported = False
        # Flow control beyond the DOM (write_limits, drain): the senders
        # waiting, and how many bytes may wait to be handed to the transport.
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._write_high = DEFAULT_WRITE_HIGH

    # Opening.

    def start(self) -> None:
        self._connect_task = self._loop.create_task(self._open_tcp())
        self._connect_task.add_done_callback(self._tcp_attempt_ended)
        if self._options.open_timeout is not None:
            self._open_timer = self._loop.call_later(
                self._options.open_timeout, self._open_timed_out
            )

    async def _open_tcp(self) -> None:
        uri = self._uri
        try:
            # Through the environment's proxy or proxy=, as a browser does: a
            # socket tunnelled to the server (None: connect directly).
            agent = [v for n, v in self._options.headers if n.lower() == "user-agent"]
            sock = await open_tunnel(uri, self._options.proxy, user_agent=(*agent, USER_AGENT)[0])
            address: dict[str, Any] = {"host": uri.host, "port": uri.port} if sock is None else {}
            if uri.secure:
                context = self._options.ssl or ssl.create_default_context()
                await self._loop.create_connection(
                    lambda: self, **address, sock=sock, ssl=context, server_hostname=uri.host
                )
            else:
                await self._loop.create_connection(lambda: self, **address, sock=sock)
        except Exception as exc:  # OSError, ssl.SSLError, a proxy's refusal ...
            self._fail_with(exc)
            self._report_closed()

    def _tcp_attempt_ended(self, task: asyncio.Task[None]) -> None:
        self._connect_task = None
        if task.cancelled():
            # fail() or the open timeout cancelled the attempt (possibly before
            # it started), or the loop is shutting down: the connection is over.
            self._fail_with(None)
            self._report_closed()

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if self._protocol.state is State.CONNECTING:
            timeout = self._options.open_timeout
            self._abandon(TimeoutError(f"the opening handshake took more than {timeout} s"))

    def fail(self) -> None:
        """``close()`` while CONNECTING: abandon the attempt."""
        self._abandon(None)

    def _abandon(self, cause: BaseException | None) -> None:
        self._fail_with(cause)
        if self._transport is not None:
            self._abort()  # connection_lost() reports the close
        elif self._connect_task is not None:
            self._connect_task.cancel()  # _tcp_attempt_ended() reports the close
        else:
            self._report_closed()

    def _fail_with(self, cause: BaseException | None) -> None:
        if not self._failed:
            self._failed = True
            self._cause = cause

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport instances, but they
        # have its methods.
        self._transport = transport  # type: ignore[assignment]
        self._writer.attach(transport)  # type: ignore[arg-type]
        _Guardian.of(self._loop).add(self)
        if self._reported:  # abandoned while the TCP connection was being made
            self._abort()
            return
        try:
            request = self._protocol.connect()
            headers = request.headers
            extra = self._options.headers
            if not any(name.lower() == "user-agent" for name, _ in extra):
                headers["User-Agent"] = USER_AGENT
            for name, value in extra:
                headers[name] = value
            self._protocol.send_request(request)
            self.write_protocol_output()
        except Exception as exc:
            self._internal_error(exc)

    def _handshake_received(self, data: memoryview) -> None:
        protocol = self._protocol
        head = self._head
        if head is None:
            # A refusal, whose body the core reads to report it.
            protocol.receive_data(bytes(data))
            self._check_handshake()
            return
        head += data
        try:
            length = response_head_length(head)
        except ResponseHeadTooLarge as exc:
            self._fail_with(exc)
            self._abort()
            return
        if length is None:
            return
        self._head = None
        protocol.receive_data(handshake_head(bytes(head[:length])))
        events = protocol.events_received()
        rest = bytes(head[length:])
        if protocol.state is State.OPEN:
            self.write_protocol_output()
            response = events[0]
            assert isinstance(response, Response)
            self._established(response)
            receiver = self._receiver
            if rest and receiver is not None:
                receiver.receive(rest)
            return
        if rest and protocol.handshake_exc is None:
            protocol.receive_data(rest)
        self._check_handshake()

    def _check_handshake(self) -> None:
        self.write_protocol_output()
        exc = self._protocol.handshake_exc
        if exc is not None:
            # RFC 6455 4.1: "If the server's response does not conform to the
            # requirements ... the client MUST _Fail the WebSocket Connection_."
            self._fail_with(exc)
            self._close_transport()

    def _established(self, response: Response) -> None:
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        protocol = self._protocol
        # The core's parser is a generator whose frame keeps the handshake
        # response for the life of the connection (about 1 KiB). It is at a
        # frame boundary now, with nothing buffered (what followed the
        # response goes to the receiver): a fresh frame parser takes over, as
        # the core itself swaps parsers (ClientProtocol.parse, to discard()).
        protocol.parser = Protocol.parse(protocol)
        next(protocol.parser)
        self._deflate = protocol.extensions[0] if protocol.extensions else None  # type: ignore[assignment]
        self._sendable = True
        self._receiver = Receiver(protocol, self._handler, self, self._options.max_size)
        extensions = ", ".join(response.headers.get_all("Sec-WebSocket-Extensions"))
        self._handler.connection_established(protocol.subprotocol or "", extensions)

    # Receiving.

    def get_buffer(self, sizehint: int) -> memoryview:
        receiver = self._receiver
        if receiver is not None:
            return receiver.get_buffer(sizehint)
        return scratch_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        try:
            receiver = self._receiver
            if receiver is not None:
                receiver.buffer_updated(nbytes)
            else:
                self._handshake_received(scratch_buffer()[:nbytes])
        except Exception as exc:
            self._internal_error(exc)

    def eof_received(self) -> None:
        try:
            receiver = self._receiver
            if receiver is not None:
                receiver.receive_eof()
            else:
                self._protocol.receive_eof()
                self._check_handshake()
        except Exception as exc:
            self._internal_error(exc)
        # Returning None closes the transport; connection_lost() follows.

    def connection_lost(self, exc: Exception | None) -> None:
        self._sendable = False
        self._writer.detach(drained=exc is None and not self._aborted)
        if exc is not None and self._cause is None and not self._reported:
            self._cause = exc  # a reset, or a TLS failure
        receiver = self._receiver
        try:
            if receiver is not None:
                receiver.receive_eof()  # idempotent; the core is CLOSED now
            else:
                self._protocol.receive_eof()
                if self._protocol.handshake_exc is not None:
                    self._fail_with(self._protocol.handshake_exc)
        except Exception as error:  # pragma: no cover - a bug: still report the close
            logger.exception("pyws_shim: error while closing %r", self._url, exc_info=error)
        self._report_closed()

    # Receiver's owner (receiver.ReceiverOwner).

    def write_protocol_output(self) -> None:
        """Write what the core has to send: the request, pongs, close frames."""
        for chunk in self._protocol.data_to_send():
            if chunk:
                self._writer.write(chunk)
            elif self._transport is not None and not self._transport.is_closing():
                # The end of the stream: half-close after everything queued.
                self._writer.flush(force=True)
                self._writer.closing()
                if self._transport.can_write_eof():
                    self._transport.write_eof()
                else:
                    self._transport.close()

    def close_frame_received(self) -> None:
        # The server started (or finished) the closing handshake: it should
        # now close the TCP connection.
        self._sendable = False
        self._arm_close_timer()

    def fail_connection(self, cause: BaseException) -> None:
        self._sendable = False
        self._fail_with(cause)
        self._close_transport()

    def _internal_error(self, exc: BaseException) -> None:
        # A bug of ours, never an exception in the event loop: fail the
        # connection as the core does ("1011 ... an unexpected condition").
        logger.error("pyws_shim: internal error on %r", self._url, exc_info=exc)
        self._sendable = False
        if self._protocol.state is State.OPEN:
            self._protocol.fail(INTERNAL_ERROR)
            self.write_protocol_output()
        self._fail_with(exc)
        self._close_transport()

    # Closing.

    def start_closing_handshake(self, code: int | None, reason: str) -> None:
        # The server's close frame may have been processed already; then the
        # core echoed it and the handshake is under way.
        self._sendable = False
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            self.write_protocol_output()
            self._arm_close_timer()

    def _close_transport(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._writer.flush(force=True)
            self._writer.closing()
            transport.close()  # after what is buffered (the close frame, if any)
        self._arm_close_timer()

    def _abort(self) -> None:
        if self._transport is not None:
            self._aborted = True
            self._writer.closing()
            self._transport.abort()

    def _arm_close_timer(self) -> None:
        """Start the close timeout (see :mod:`pyws_shim.backends.close_timer`)."""
        if not self._reported:
            self._close_timer.start()

    def _going_away(self) -> None:
        """The event loop shuts down: close with 1001, as a page that unloads does."""
        self._sendable = False
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(GOING_AWAY, "")
            self.write_protocol_output()
        if self._transport is not None and not self._transport.is_closing():
            self._writer.flush(force=True)
            self._writer.closing()
            self._transport.close()

    def _report_closed(self) -> None:
        if self._reported:
            return
        self._reported = True
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        self._close_timer.cancel()
        _Guardian.of(self._loop).discard(self)
        if self._drain_waiters:
            self._wake_drain_waiters()
        protocol = self._protocol
        close_rcvd = protocol.close_rcvd
        received = None if close_rcvd is None else CloseFrame(close_rcvd.code, close_rcvd.reason)
        close_sent = protocol.close_sent
        sent = None if close_sent is None else CloseFrame(close_sent.code, close_sent.reason)
        # RFC 6455 7.1.4: closed cleanly when close frames were both sent and
        # received before the TCP connection closed.
        clean = close_rcvd is not None and protocol.close_sent is not None
        if self._cause is not None and self._failed:
            logger.warning(
                "WebSocket connection to %r failed: %s", self._url, _describe(self._cause)
            )
        self._handler.connection_closed(Closure(received, clean, self._failed, self._cause, sent))

    # Sending.

    @property
    def buffered_amount(self) -> int:
        return self._writer.buffered_amount

    def binary_type_changed(self, binary_type: str) -> None:
        pass  # the shared WebSocket converts each message as it dispatches it

    def send(self, data: str | bytes | memoryview | Blob) -> bool:
        if not self._sendable:
            return False  # the closing handshake has started
        payload: bytes | memoryview
        if type(data) is str:
            payload = data.encode()
            head1 = FIN | TEXT
        else:
            if isinstance(data, Blob):
                held = data.held_bytes
                assert held is not None, "a Blob held outside Python cannot be sent here"
                payload = held
            else:
                payload = data  # type: ignore[assignment]
            head1 = FIN | BINARY
        size = len(payload)
        deflate = self._deflate
        if deflate is not None:
            frame = deflate.encode(Frame(Opcode(head1 & 0x0F), payload))
            payload = frame.data
            if frame.rsv1:
                head1 |= RSV1
        # RFC 6455 5.3: a fresh masking key per frame; "octet i of the
        # transformed data is the XOR of octet i of the original data with
        # octet at index i modulo 4 of the masking key".
        masks = self._masks
        if not masks:
            masks = self._masks = masking_keys()
        mask = masks.pop()
        length = len(payload)
        if length < 126:
            header = SHORT_HEADERS[head1][length] + mask
            self._writer.write(header + apply_mask(payload, mask), size)
        elif length < LARGE_FRAME:
            header = frame_header(head1, length, mask)
            self._writer.write(header + apply_mask(payload, mask), size)
        else:
            header = frame_header(head1, length, mask)
            self._writer.write_large(header, masked_pieces(payload, mask), size)
        return True

    def pause_writing(self) -> None:
        # The transport's buffer is over its high-water mark: keep the next
        # messages here, where they count in bufferedAmount.
        self._writer.pause()

    def resume_writing(self) -> None:
        self._writer.resume()
        if self._drain_waiters:
            self._wake_drain_waiters()

    # Beyond the DOM, for pyws_shim.client.

    can_ping = True
    can_close_with_any_code = True
    can_pause_reading = True

    def ping(self, data: bytes) -> bool:
        if not self._sendable:
            return False
        self._protocol.send_ping(data)
        self.write_protocol_output()
        return True

    def pong(self, data: bytes) -> bool:
        if not self._sendable:
            return False
        self._protocol.send_pong(data)
        self.write_protocol_output()
        return True

    def write_limits(self, high: int, low: int) -> None:
        self._write_high = high
        if self._transport is not None and not self._transport.is_closing():
            self._transport.set_write_buffer_limits(high, low)

    def drain(self) -> asyncio.Future[None] | None:
        writer = self._writer
        if self._reported or (not writer.paused and writer.unhanded <= self._write_high):
            return None
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        if not writer.paused:
            # Writes combined in this turn go to the transport at the next
            # one (WriteBuffer._next_turn, scheduled first): look again then.
            self._loop.call_soon(self._wake_drain_waiters)
        return waiter

    def _wake_drain_waiters(self) -> None:
        if self._writer.paused and not self._reported:
            return  # resume_writing() will wake them
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def pause_reading(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()


class _Guardian:
    """Closes the connections still open when their event loop shuts down.

    ``asyncio.run()`` cancels every task left when its coroutine returns; this
    one task per loop (alive only while the loop has connections) then closes
    each connection with 1001, waits a moment for the close frames to go, and
    drops what is left, so no socket is left open (no "unclosed transport").
    """

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Guardian]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._connections: set[AsyncioConnection] = set()
        self._idle: asyncio.Future[None] | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Guardian:
        guardian = cls._by_loop.get(loop)
        if guardian is None:
            guardian = cls._by_loop[loop] = cls(loop)
        return guardian

    def add(self, connection: AsyncioConnection) -> None:
        self._connections.add(connection)
        if self._idle is None and not self._loop.is_closed():
            self._idle = self._loop.create_future()
            self._loop.create_task(self._guard(self._idle), name="pyws_shim connections")

    def discard(self, connection: AsyncioConnection) -> None:
        self._connections.discard(connection)
        if not self._connections and self._idle is not None:
            if not self._idle.done():
                self._idle.set_result(None)
            self._idle = None

    async def _guard(self, idle: asyncio.Future[None]) -> None:
        try:
            await idle
        except asyncio.CancelledError:
            connections = list(self._connections)
            for connection in connections:
                connection._going_away()
            deadline = self._loop.time() + SHUTDOWN_GRACE
            # A deadline over many connections: a short poll, only at shutdown.
            while any(not c._reported for c in connections) and self._loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            for connection in connections:
                connection._abort()
            await asyncio.sleep(0)  # their connection_lost()
            raise


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
