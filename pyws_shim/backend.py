"""What a backend provides, and what it may call back.

A backend is a module (see :mod:`pyws_shim._platform`) that moves bytes and
events; every rule of the standard stays in the shared modules. It provides
:class:`Backend`; :meth:`Backend.connect` returns a :class:`Connection`, and
reports the network's progress through the ``WebSocket``'s ``_on_*``
methods (:class:`ConnectionEvents`).

Those reports must come from the event loop, never from inside a
``Connection`` method that the ``WebSocket`` called: the standard queues a
task for every event, so no event is dispatched inside the call that caused
it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from .blob import Blob
    from .options import ConnectOptions
    from .validation import URLParser

__all__ = ["ABNORMAL_CLOSURE", "Backend", "Connection", "ConnectionEvents"]

# RFC 6455 7.1.5: "If _The WebSocket Connection is Closed_ and no Close control
# frame was received by the endpoint ... _The WebSocket Connection Close Code_
# is considered to be 1006."
ABNORMAL_CLOSURE: Final = 1006


class ConnectionEvents(Protocol):
    """The WebSocket Protocol's feedback, as the standard names it."""

    def _on_established(self, protocol: str, extensions: str) -> None:
        """ "When the WebSocket connection is established" (with the
        subprotocol and the extensions in use)."""

    def _on_message(self, data: str | bytes | Blob) -> None:
        """ "When a WebSocket message has been received"."""

    def _on_closing_handshake_started(self) -> None:
        """ "When the WebSocket closing handshake is started" by the server."""

    def _on_closed(
        self,
        code: int,
        reason: str,
        was_clean: bool,
        failed: bool,
        cause: BaseException | None = None,
    ) -> None:
        """ "When the WebSocket connection is closed": ``failed`` when the
        user agent had to fail the connection (an ``error`` event comes
        first); ``cause`` is what made it fail, when the backend knows."""


class Connection(Protocol):
    """One connection, as the ``WebSocket`` drives it."""

    @property
    def buffered_amount(self) -> int:
        """Bytes of application data queued by :meth:`send` and not yet
        handed to the network, as of the last turn of the event loop."""

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
        """Fail the connection while it is still being established."""


class Backend(Protocol):
    """A backend module."""

    parse_url: URLParser

    def base_url(self) -> str | None:
        """The API base URL that relative URLs resolve against (``None``:
        relative URLs are a ``SyntaxError``)."""

    def connect(
        self,
        socket: ConnectionEvents,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> Connection:
        """Start establishing a connection to ``url`` (already validated)."""
