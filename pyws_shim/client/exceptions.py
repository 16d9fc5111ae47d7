"""The exceptions of :mod:`pyws_shim.client`: websockets' names and hierarchy.

They mirror ``websockets.exceptions`` (websockets 15 to 17) so that code
written for ``websockets.asyncio.client`` catches them unchanged, but they
are pyws_shim's own classes: websockets is not installed under Pyodide, and
the same code path runs in every runtime. Only what the client can raise is
here::

    WebSocketException
    ├── ConnectionClosed
    │   ├── ConnectionClosedOK
    │   └── ConnectionClosedError
    ├── InvalidURI
    ├── InvalidProxy
    ├── InvalidHandshake
    │   ├── InvalidMessage
    │   ├── InvalidStatus
    │   └── ConnectionFailed (also a ConnectionError: pyws_shim's own)
    ├── ProtocolError
    ├── PayloadTooBig
    └── ConcurrencyError (also a RuntimeError)

:class:`ConnectionFailed` is the one addition: under Pyodide the runtime's
WebSocket says only that a connection failed before it opened, never why (a
refused TCP connection, a TLS error and an HTTP 403 look the same), so it is
both an ``OSError`` (``except OSError`` and ``process_exception`` treat it as
the network error it usually is) and an :class:`InvalidHandshake`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .http import Response

__all__ = [
    "CLOSE_CODE_EXPLANATIONS",
    "OK_CLOSE_CODES",
    "Close",
    "ConcurrencyError",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "ConnectionFailed",
    "InvalidHandshake",
    "InvalidMessage",
    "InvalidProxy",
    "InvalidStatus",
    "InvalidURI",
    "PayloadTooBig",
    "ProtocolError",
    "WebSocketException",
]

# RFC 6455 7.4.1 and IANA's registry, as websockets words them.
CLOSE_CODE_EXPLANATIONS: Final[dict[int, str]] = {
    1000: "OK",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status received [internal]",
    1006: "abnormal closure [internal]",
    1007: "invalid frame payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
    1015: "TLS handshake failure [internal]",
}

# websockets.frames.OK_CLOSE_CODES: a connection that ended with close frames
# of these codes both received and sent ended normally.
OK_CLOSE_CODES: Final = frozenset({1000, 1001, 1005})


@dataclass(frozen=True)
class Close:
    """The code and reason of a close frame (``websockets.frames.Close``); a
    close frame without a body is ``Close(1005, "")``."""

    code: int
    reason: str

    def __str__(self) -> str:
        if 3000 <= self.code < 4000:
            explanation = "registered"
        elif 4000 <= self.code < 5000:
            explanation = "private use"
        else:
            explanation = CLOSE_CODE_EXPLANATIONS.get(self.code, "unknown")
        result = f"{self.code} ({explanation})"
        return f"{result} {self.reason}" if self.reason else result


class WebSocketException(Exception):
    """Base class of every exception of :mod:`pyws_shim.client`."""


class ConnectionClosed(WebSocketException):
    """Raised when using a connection that is closed.

    ``rcvd`` and ``sent`` are the close frames received and sent, where
    known (``None`` otherwise), and ``rcvd_then_sent`` their order when both
    are known. Why a connection failed, where the backend knows, is the
    ``__cause__``.
    """

    def __init__(
        self, rcvd: Close | None, sent: Close | None, rcvd_then_sent: bool | None = None
    ) -> None:
        super().__init__(rcvd, sent, rcvd_then_sent)
        self.rcvd = rcvd
        self.sent = sent
        self.rcvd_then_sent = rcvd_then_sent

    def __str__(self) -> str:
        rcvd, sent = self.rcvd, self.sent
        if rcvd is None:
            if sent is None:
                return "no close frame received or sent"
            return f"sent {sent}; no close frame received"
        if sent is None:
            return f"received {rcvd}; no close frame sent"
        if self.rcvd_then_sent:
            return f"received {rcvd}; then sent {sent}"
        return f"sent {sent}; then received {rcvd}"

    # Deprecated in websockets 13.1; kept for code written before.

    @property
    def code(self) -> int:
        warnings.warn(
            "ConnectionClosed.code is deprecated; use ClientConnection.close_code or "
            "ConnectionClosed.rcvd.code",
            DeprecationWarning,
            stacklevel=2,
        )
        return 1006 if self.rcvd is None else self.rcvd.code

    @property
    def reason(self) -> str:
        warnings.warn(
            "ConnectionClosed.reason is deprecated; use ClientConnection.close_reason or "
            "ConnectionClosed.rcvd.reason",
            DeprecationWarning,
            stacklevel=2,
        )
        return "" if self.rcvd is None else self.rcvd.reason


class ConnectionClosedOK(ConnectionClosed):
    """The connection ended normally: close frames of code 1000, 1001 or
    without a code were received and sent."""


class ConnectionClosedError(ConnectionClosed):
    """The connection ended with an error: another close code was received or
    sent, or the closing handshake did not complete."""


class InvalidURI(WebSocketException):
    """The URI is not a valid WebSocket URI."""

    def __init__(self, uri: str, msg: str) -> None:
        super().__init__(uri, msg)
        self.uri = uri
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.uri} isn't a valid URI: {self.msg}"


class InvalidProxy(WebSocketException):
    """The proxy is not a valid proxy URL."""

    def __init__(self, proxy: str, msg: str) -> None:
        super().__init__(proxy, msg)
        self.proxy = proxy
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.proxy} isn't a valid proxy: {self.msg}"


class InvalidHandshake(WebSocketException):
    """The opening handshake failed."""


class InvalidMessage(InvalidHandshake):
    """The handshake response is malformed (or the connection ended in it)."""


class InvalidStatus(InvalidHandshake):
    """The server refused the upgrade with this HTTP response (where the
    status is known: in CPython; under Pyodide a refusal is a
    :class:`ConnectionFailed`)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response)
        self.response = response

    def __str__(self) -> str:
        return f"server rejected WebSocket connection: HTTP {self.response.status_code:d}"


class ConnectionFailed(InvalidHandshake, ConnectionError):
    """The connection failed before it opened, and the runtime does not say
    why (under Pyodide). An ``OSError`` and an :class:`InvalidHandshake`:
    pyws_shim's own, not one of websockets'."""


class ProtocolError(WebSocketException):
    """An argument would break the protocol (an invalid close code, a close
    reason too long for a close frame)."""


class PayloadTooBig(WebSocketException):
    """A message exceeded ``max_size``."""


class ConcurrencyError(WebSocketException, RuntimeError):
    """Two coroutines received at once, or waited for pongs to the same ping."""
