"""The CPython backend: RFC 6455 on asyncio.

An ``asyncio.Protocol`` of our own drives the websockets library's sans-I/O
``ClientProtocol`` (framing, masking, UTF-8 checks of close reasons, ping and
pong, permessage-deflate) and only moves bytes and events: the DOM rules
stay in :mod:`pyws_shim.websocket` and :mod:`pyws_shim.validation`.

Two things keep the delivery path cheap: messages reach the listeners as
plain callbacks from ``data_received`` (no future or queue per message), and
writes are combined: the first message of a loop iteration is written at
once, later ones are joined and written together at the next turn of the
loop, so latency does not suffer.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import platform
import ssl
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

import ada_url
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin, Subprotocol
from websockets.uri import WebSocketURI
from websockets.version import version as websockets_version

from . import __version__
from .backend import ABNORMAL_CLOSURE
from .blob import Blob
from .proxy import open_tunnel
from .validation import parse_url_with_ada

if TYPE_CHECKING:
    from .backend import ConnectionEvents
    from .options import ConnectOptions

__all__ = ["AsyncioConnection", "base_url", "connect", "parse_url"]

logger = logging.getLogger("pyws_shim")

USER_AGENT: Final = (
    f"Python/{platform.python_version()} pyws_shim/{__version__} websockets/{websockets_version}"
)
INVALID_DATA: Final = 1007

parse_url = parse_url_with_ada
_UTF8Decoder = codecs.getincrementaldecoder("utf-8")


def base_url() -> None:
    """No document here: a relative URL is a ``SyntaxError``."""
    return None


def connect(
    socket: ConnectionEvents,
    url: str,
    protocols: list[str],
    options: ConnectOptions,
) -> AsyncioConnection:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "pyws_shim.WebSocket() needs a running asyncio event loop: create it inside "
            "a coroutine, for example one started with asyncio.run()."
        ) from None
    connection = AsyncioConnection(socket, loop, url, protocols, options)
    connection.start()
    return connection


def _websocket_uri(url: str) -> WebSocketURI:
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


class AsyncioConnection(asyncio.Protocol):
    """One WebSocket connection on an asyncio transport."""

    def __init__(
        self,
        socket: ConnectionEvents,
        loop: asyncio.AbstractEventLoop,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> None:
        self._socket = socket
        self._loop = loop
        self._url = url
        self._options = options
        self._uri = _websocket_uri(url)
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
        self._connect_task: asyncio.Task[None] | None = None
        self._open_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        # Why the connection failed, when the user agent failed it.
        self._failed = False
        self._cause: BaseException | None = None
        self._reported = False
        # Writes. _buffered is bufferedAmount as of the last turn of the loop;
        # _handed counts the application bytes handed to the transport since.
        self._buffered = 0
        self._handed = 0
        self._out: list[bytes] = []
        self._out_app = 0
        self._paused = False
        self._wrote_this_turn = False
        self._settle_handle: asyncio.Handle | None = None
        self._close_frame_queued = False
        # A fragmented message being received.
        self._fragments: list[bytes] = []
        self._text_parts: list[str] = []
        self._decoder: codecs.IncrementalDecoder | None = None

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
            self._transport.abort()  # connection_lost() reports the close
        elif self._connect_task is not None:
            self._connect_task.cancel()  # _open_tcp() reports the close

    def _fail_with(self, cause: BaseException | None) -> None:
        if not self._failed:
            self._failed = True
            self._cause = cause

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        request = self._protocol.connect()
        headers = request.headers
        extra = self._options.headers
        if not any(name.lower() == "user-agent" for name, _ in extra):
            headers["User-Agent"] = USER_AGENT
        for name, value in extra:
            headers[name] = value
        self._protocol.send_request(request)
        self._write_protocol_output()

    # Receiving.

    def data_received(self, data: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._write_protocol_output()  # pongs, the echo of a close frame
        if protocol.handshake_exc is not None:
            # RFC 6455 4.1: "If the server's response does not conform to the
            # requirements ... the client MUST _Fail the WebSocket Connection_."
            self._fail_with(protocol.handshake_exc)
            self._close_transport()
            return
        for event in events:
            if isinstance(event, Frame):
                self._receive_frame(event)
            elif isinstance(event, Response):
                self._established(event)
        if protocol.parser_exc is not None and not isinstance(protocol.parser_exc, EOFError):
            # A protocol error, a message too big, a close frame with invalid
            # UTF-8: the sans-I/O core failed the connection (and sent its close frame).
            self._fail_with(protocol.parser_exc)
            self._close_transport()
        elif protocol.close_expected():
            self._arm_close_timer()

    def _established(self, response: Response) -> None:
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        extensions = ", ".join(response.headers.get_all("Sec-WebSocket-Extensions"))
        self._socket._on_established(self._protocol.subprotocol or "", extensions)

    def _receive_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
            try:
                message = self._assemble(frame)
            except UnicodeDecodeError as exc:
                # RFC 6455 8.1: "When an endpoint is to interpret a byte stream
                # as UTF-8 but finds that the byte stream is not, in fact, a
                # valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
                # Connection_."
                if self._protocol.state is State.OPEN:
                    self._protocol.fail(INVALID_DATA, "invalid UTF-8 in a text message")
                    self._write_protocol_output()
                self._fail_with(exc)
                self._close_transport()
                return
            if message is not None and not self._failed:
                self._socket._on_message(message)
        elif opcode is Opcode.CLOSE:
            self._socket._on_closing_handshake_started()
        # PING: the sans-I/O core queued the pong already. PONG: nothing to do.

    def _assemble(self, frame: Frame) -> str | bytes | None:
        """The whole message once its last frame is in, else ``None``."""
        if frame.opcode is Opcode.TEXT:
            if frame.fin:
                return bytes(frame.data).decode("utf-8")
            self._decoder = _UTF8Decoder()
            self._text_parts = [self._decoder.decode(frame.data)]
            return None
        if frame.opcode is Opcode.BINARY:
            if frame.fin:
                return bytes(frame.data)
            self._fragments = [bytes(frame.data)]
            return None
        # A continuation frame (the sans-I/O core checked that one was expected).
        if self._decoder is not None:
            self._text_parts.append(self._decoder.decode(frame.data, frame.fin))
            if not frame.fin:
                return None
            self._decoder = None
            text, self._text_parts = "".join(self._text_parts), []
            return text
        self._fragments.append(bytes(frame.data))
        if not frame.fin:
            return None
        data, self._fragments = b"".join(self._fragments), []
        return data

    def eof_received(self) -> None:
        self._protocol.receive_eof()
        self._write_protocol_output()
        # Returning None closes the transport; connection_lost() follows.

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.receive_eof()  # idempotent; the protocol is CLOSED now
        self._paused = False
        self._report_closed()

    # Closing.

    def start_closing_handshake(self, code: int | None, reason: str) -> None:
        # The server's close frame may have been processed already; then the
        # sans-I/O core echoed it and the handshake is under way.
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            self._write_protocol_output()
            if not self._close_frame_queued:
                self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        timeout = self._options.close_timeout
        if timeout is not None and self._close_timer is None and not self._reported:
            self._close_timer = self._loop.call_later(timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        # The server did not finish the closing handshake (or did not close
        # the TCP connection after it) in time: drop the connection.
        self._close_timer = None
        if self._transport is not None:
            self._transport.abort()

    def _close_transport(self) -> None:
        if self._transport is not None:
            self._flush()
            self._transport.close()  # after the buffered close frame, if any

    def _report_closed(self) -> None:
        if self._reported:
            return
        self._reported = True
        for timer in (self._open_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._open_timer = self._close_timer = None
        protocol = self._protocol
        # RFC 6455 7.1.5: the close code is that of the close frame received
        # (1005 when it had none), else ABNORMAL_CLOSURE. (When the connection
        # failed, WebSocket._on_closed reports 1006 whatever came.)
        if protocol.close_rcvd is None:
            code, reason, clean = ABNORMAL_CLOSURE, "", False
        else:
            code, reason = protocol.close_rcvd.code, protocol.close_rcvd.reason
            # RFC 6455 7.1.4: closed cleanly when close frames were both sent and received.
            clean = protocol.close_sent is not None
        if self._cause is not None:
            logger.warning(
                "WebSocket connection to %r failed: %s", self._url, _describe(self._cause)
            )
        self._socket._on_closed(code, reason, clean, self._failed, self._cause)

    # Sending.

    @property
    def buffered_amount(self) -> int:
        return self._buffered

    def binary_type_changed(self, binary_type: str) -> None:
        pass  # the shared WebSocket converts each message as it dispatches it

    def send(self, data: str | bytes | memoryview | Blob) -> bool:
        protocol = self._protocol
        if protocol.state is not State.OPEN:
            return False  # the server started the closing handshake
        payload: bytes | memoryview
        if isinstance(data, str):
            payload = data.encode("utf-8")
            protocol.send_text(payload)
        else:
            # A memoryview is framed (copied) here, before send() returns.
            payload = data._bytes() if isinstance(data, Blob) else data
            protocol.send_binary(payload)
        size = len(payload)
        self._buffered += size
        for chunk in protocol.data_to_send():
            self._write(chunk, size)
            size = 0
        return True

    def _write_protocol_output(self) -> None:
        for chunk in self._protocol.data_to_send():
            if chunk:
                self._write(chunk, 0)
            elif self._transport is not None:
                # The end of the stream: half-close after everything queued.
                self._flush()
                if self._transport.can_write_eof():
                    self._transport.write_eof()
                else:
                    self._transport.close()
        if self._protocol.close_sent is not None and self._out:
            self._close_frame_queued = True

    def _write(self, chunk: bytes, app_bytes: int) -> None:
        """Hand ``chunk`` to the transport now if it is the first write of
        this loop iteration, else at the next turn, joined with the others."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not (self._paused or self._out or self._wrote_this_turn):
            transport.write(chunk)
            self._handed += app_bytes
            self._wrote_this_turn = True
        else:
            self._out.append(chunk)
            self._out_app += app_bytes
        if self._settle_handle is None:
            self._settle_handle = self._loop.call_soon(self._settle)

    def _settle(self) -> None:
        """The next turn of the loop: write what was joined, and let
        bufferedAmount fall by what was handed to the transport."""
        self._settle_handle = None
        if not self._paused:
            self._flush()
        self._wrote_this_turn = False
        self._buffered -= self._handed
        self._handed = 0

    def _flush(self) -> None:
        transport = self._transport
        if self._out and transport is not None and not transport.is_closing():
            transport.write(b"".join(self._out) if len(self._out) > 1 else self._out[0])
            self._handed += self._out_app
            self._out.clear()
            self._out_app = 0
            if self._close_frame_queued:
                self._close_frame_queued = False
                self._arm_close_timer()

    def pause_writing(self) -> None:
        # The transport's buffer is over its high-water mark: keep the next
        # messages here, where they count in bufferedAmount.
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._settle_handle is None:
            self._settle_handle = self._loop.call_soon(self._settle)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
