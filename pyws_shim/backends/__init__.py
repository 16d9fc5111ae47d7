"""The seam between the shared ``WebSocket`` and the backends that move its bytes.

Every rule of the standard lives in the shared modules (:mod:`pyws_shim.validation`,
:mod:`pyws_shim.events`, :mod:`pyws_shim.websocket`). A backend only moves bytes
and events, through three interfaces:

- :class:`Backend`: what ``WebSocket(url, ..., backend=...)`` needs to parse a URL
  and start a connection. ``backend=`` takes a name (``"asyncio"`` for
  :mod:`pyws_shim.backends.asyncio`, ``"pyodide"`` for
  :mod:`pyws_shim.backends.pyodide`) or any object that provides this interface:
  a test double, or a wrapper that interposes on another backend.
- :class:`Connection`: one connection, as the ``WebSocket`` drives it (send,
  close, fail).
- :class:`ConnectionHandler`: what the backend reports to, named after the
  standard's "feedback from the protocol". When the connection is over the
  backend reports a :class:`Closure`: the facts it saw. One function,
  :func:`closing_outcome`, turns them into the ``close`` event's code, reason
  and ``wasClean``, and says whether an ``error`` event comes first.

Reports must come from the event loop, never from inside a :class:`Connection`
method that the ``WebSocket`` called: the standard queues a task for every
event, so no event is dispatched inside the call that caused it.

Reference: the WHATWG WebSockets Standard, "Feedback from the protocol"
(https://websockets.spec.whatwg.org/#feedback-from-the-protocol), and RFC 6455.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    import asyncio

    from ..blob import Blob
    from ..options import ConnectOptions
    from ..validation import URLParser

__all__ = [
    "ABNORMAL_CLOSURE",
    "Backend",
    "CloseFrame",
    "CloseOutcome",
    "Closure",
    "Connection",
    "ConnectionHandler",
    "FailureReported",
    "closing_outcome",
]

# RFC 6455 7.1.5: "If _The WebSocket Connection is Closed_ and no Close control
# frame was received by the endpoint ... _The WebSocket Connection Close Code_
# is considered to be 1006."
ABNORMAL_CLOSURE: Final = 1006


class FailureReported(ConnectionError):
    """Why a connection failed, in the runtime's own words only: the message
    of its ``error`` event (Deno, Bun and Node 22 give one; the standard's
    ``error`` event has none). It says why, not which kind of failure: Node
    22 gives "Received network error or non-101 status code." for a refused
    connection and a refused handshake alike."""


class CloseFrame(NamedTuple):
    """The code and reason of a close frame (code 1005 when it had no body:
    RFC 6455 7.1.5, "If this Close control frame contains no status code,
    _The WebSocket Connection Close Code_ is considered to be 1005")."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Closure:
    """What a backend saw when the connection closed: facts, not decisions."""

    received: CloseFrame | None = None
    """The server's close frame, if one was received."""
    clean: bool = False
    """RFC 6455 7.1.4: the TCP connection closed after the closing handshake
    completed (close frames both sent and received)."""
    failed: bool = False
    """The backend had to *fail the WebSocket connection* (RFC 6455 7.1.7): a
    refused connection or handshake, a TLS failure, a protocol violation, a
    message too big, the open timeout, or ``close()`` while connecting."""
    cause: BaseException | None = None
    """What made it fail, when the backend knows (CPython: the ``OSError``,
    the TLS error, the handshake or protocol error)."""
    sent: CloseFrame | None = None
    """The close frame this side sent, where the backend knows it (beyond the
    DOM, for pyws_shim.client): in CPython always (an echo of the server's,
    or the backend's own when it failed the connection: 1002, 1007, 1009,
    1011); under Pyodide the one ``close()`` asked for, or the runtime's
    answer to the server's close frame as measured in each runtime (it does
    not show it)."""


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    """The ``close`` event's fields, and whether ``error`` is fired first."""

    code: int
    reason: str
    was_clean: bool
    error: bool


def closing_outcome(closure: Closure, *, closing: bool) -> CloseOutcome:
    """Decide how a connection ended, for every backend.

    ``closing`` says whether the closing handshake had started (either side)
    when the connection closed, that is whether ``readyState`` was CLOSING.
    """
    failed = closure.failed
    # RFC 6455 7.2.1: "If at any point the underlying transport layer
    # connection is unexpectedly lost, the client MUST _Fail the WebSocket
    # Connection_." Unexpectedly: before either side started the closing
    # handshake. (A server that never answers our close frame is dropped, not
    # failed.) Chromium and undici 6 fire no error here; the shim does, in
    # every runtime.
    if not closure.clean and not closing:
        failed = True
    if failed:
        # WHATWG "When the WebSocket connection is closed": "If the user agent
        # was required to fail the WebSocket connection ... fire an event named
        # error". A failed connection never received a close frame that counts.
        return CloseOutcome(ABNORMAL_CLOSURE, "", False, True)
    if closure.received is None:
        return CloseOutcome(ABNORMAL_CLOSURE, "", False, False)
    code, reason = closure.received
    return CloseOutcome(code, reason, closure.clean, False)


@runtime_checkable
class ConnectionHandler(Protocol):
    """The feedback a backend gives about one connection, named after the
    standard's "feedback from the protocol". The ``WebSocket`` provides it."""

    def connection_established(self, protocol: str, extensions: str) -> None:
        """ "When the WebSocket connection is established", with the
        subprotocol and the extensions in use."""

    def message_received(self, data: str | bytes | Blob) -> None:
        """ "When a WebSocket message has been received": ``str`` for text;
        for binary data ``bytes``, or a :class:`~pyws_shim.Blob` when the
        backend holds it as one (only while ``binaryType`` is ``"blob"``)."""

    def closing_handshake_started(self) -> None:
        """ "When the WebSocket closing handshake is started" by the server."""

    def connection_closed(self, closure: Closure) -> None:
        """ "When the WebSocket connection is closed": what the backend saw
        (see :func:`closing_outcome`). Reported exactly once."""

    def pong_received(self, data: bytes) -> None:
        """A pong arrived (beyond the DOM: for keepalive, where the backend
        can ping)."""


@runtime_checkable
class Connection(Protocol):
    """One connection, as the ``WebSocket`` drives it."""

    @property
    def buffered_amount(self) -> int:
        """Bytes of application data queued by :meth:`send` and not yet
        transmitted to the network, as of the last turn of the event loop."""

    def send(self, data: str | bytes | memoryview | Blob) -> bool:
        """Send one message; return ``False``, sending nothing, when the
        closing handshake has already started (the server's close frame may
        be processed before the ``WebSocket`` hears of it). A ``memoryview``
        is the caller's buffer: read it before returning."""

    def binary_type_changed(self, binary_type: str) -> None:
        """``binaryType`` is now ``binary_type``, for the next messages."""

    def start_closing_handshake(self, code: int | None, reason: str) -> None:
        """Send a close frame (no body when ``code`` is ``None``) after every
        message already sent; drop the connection if the server does not
        finish the handshake in time."""

    def fail(self) -> None:
        """Fail the connection while it is still being established; beyond
        the DOM (pyws_shim.client, under Pyodide, where no other close code
        can be sent), also once it is open: close it at once (RFC 6455
        7.1.7), reported as failed."""

    # Beyond the DOM, for pyws_shim.client: what the runtime allows.

    @property
    def can_ping(self) -> bool:
        """Whether :meth:`ping` can send a ping (not under Pyodide: no
        runtime's WebSocket offers one)."""

    def ping(self, data: bytes) -> bool:
        """Send a ping; ``False`` when the connection is not open. A pong is
        reported through :meth:`ConnectionHandler.pong_received`."""

    def pong(self, data: bytes) -> bool:
        """Send an unsolicited pong (RFC 6455 5.5.3: "A Pong frame MAY be sent
        unsolicited. This serves as a unidirectional heartbeat."); ``False``
        when the connection is not open. Available where :attr:`can_ping` is."""

    @property
    def can_close_with_any_code(self) -> bool:
        """Whether :meth:`start_closing_handshake` may send any code a close
        frame may carry (RFC 6455 7.4: 1000-1003, 1007-1014, 3000-4999), not
        only the DOM's 1000 and 3000-4999 (not under Pyodide: the runtime's
        ``close()`` refuses the others)."""

    @property
    def can_pause_reading(self) -> bool:
        """Whether :meth:`pause_reading` can hold incoming data back (not
        under Pyodide: a wrapper of the runtime's WebSocket cannot)."""

    def pause_reading(self) -> None:
        """Stop reading from the network (backpressure) until resumed."""

    def resume_reading(self) -> None:
        """Read from the network again."""

    def write_limits(self, high: int, low: int) -> None:
        """Flow control for senders beyond the DOM (pyws_shim.client's
        ``send()``), once the connection is open: from now on :meth:`drain`
        waits while more than ``high`` bytes wait to go out, until no more
        than ``low`` do. CPython counts the bytes the transport holds (as
        ``asyncio.WriteTransport.set_write_buffer_limits``, which websockets'
        ``write_limit`` sets), and those not handed to it yet; Pyodide the
        native ``bufferedAmount``."""

    def drain(self) -> asyncio.Future[None] | None:
        """``None`` when a sender need not wait (see :meth:`write_limits`);
        else a future done once it need not, or once the connection is over.
        CPython is told when its transport's buffer falls; under Pyodide no
        event says when ``bufferedAmount`` falls, so it is looked at every
        few milliseconds while someone waits."""


@runtime_checkable
class Backend(Protocol):
    """What a backend provides: a module, or any object with these members."""

    parse_url: URLParser
    """The WHATWG URL parser of this runtime."""

    def base_url(self) -> str | None:
        """The API base URL that relative URLs resolve against (``None``:
        relative URLs are a ``SyntaxError``)."""

    def connect(
        self,
        handler: ConnectionHandler,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> Connection:
        """Start establishing a connection to ``url`` (already validated):
        "establish a WebSocket connection", run in parallel."""
