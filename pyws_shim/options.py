"""Connection options that the DOM has no place for.

They are keyword-only arguments of ``WebSocket(...)``, validated here in
every runtime. The CPython backend uses them all. Under Pyodide the runtime's
native WebSocket decides TLS, headers, limits and timeouts itself, so a
non-default value there is ignored with a ``RuntimeWarning`` naming it.
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from .validation import is_token

if TYPE_CHECKING:
    import ssl as _ssl

__all__ = ["DEFAULT_MAX_SIZE", "PROXY_SCHEMES", "ConnectOptions"]

DEFAULT_MAX_SIZE = 128 * 2**20
"""The largest incoming message accepted by default: 128 MiB."""

# A header value as the handshake writes it: websockets encodes header values
# as ISO-8859-1 and accepts exactly tab, printable ASCII and 0x80-0xFF
# (websockets.datastructures.is_valid_header_value, http11._value_re), which is
# also what a JavaScript ByteString holds, less the control characters that
# the Fetch Standard's "header value" forbids (NUL, CR, LF).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_FIELD_VALUE_RULE = "only tab, printable ASCII and U+0080 to U+00FF"

# The proxies pyws_shim.proxy goes through: HTTP CONNECT, and SOCKS through python-socks.
PROXY_SCHEMES = ("http", "socks5", "socks5h", "socks4", "socks4a")
# Headers the opening handshake writes itself (RFC 6455 section 4.1).
_HANDSHAKE_HEADERS = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
    }
)
# Fetch's forbidden request-headers that describe the message body: a request
# that says it has one can desynchronise a proxy.
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding"})
# The longest timeout: the largest finite float. A larger int is a ValueError,
# never an OverflowError.
_MAX_TIMEOUT = sys.float_info.max


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """The validated keyword-only options of ``WebSocket(...)``.

    ``ssl``: the ``ssl.SSLContext`` for ``wss:`` URLs; by default
    ``ssl.create_default_context()``, the system trust store (so
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` work) with hostname checks.
    ``origin``: the ``Origin`` header (none is sent by default).
    ``headers``: extra request headers, a mapping or (name, value) pairs; a
    ``User-Agent`` here replaces the default one.
    ``max_size``: the largest incoming message in bytes, after
    decompression (``None``: no limit); a larger one fails the connection
    with close code 1009.
    ``open_timeout``: seconds for the TCP, TLS and WebSocket handshakes
    together (``None``: no limit).
    ``close_timeout``: seconds to wait for the server's part of the closing
    handshake before dropping the connection (``None``: no limit).
    ``compression``: ``"deflate"`` offers permessage-deflate as browsers do;
    ``None`` offers no extension.
    ``proxy``: ``True`` goes through the proxy that the environment names
    (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY`` ...: see
    :mod:`pyws_shim.proxy`), as a browser follows the system's; ``None``
    connects directly; a URL (``http://[user:password@]host:port``,
    ``socks5://``, ``socks5h://``, ``socks4://``, ``socks4a://``) goes
    through that proxy.
    """

    ssl: _ssl.SSLContext | None = None
    origin: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    max_size: int | None = DEFAULT_MAX_SIZE
    open_timeout: float | None = 30.0
    close_timeout: float | None = 10.0
    compression: str | None = "deflate"
    proxy: str | Literal[True] | None = True

    @classmethod
    def from_arguments(cls, **kwargs: Any) -> ConnectOptions:
        """Validate the keyword arguments of ``WebSocket(...)``."""
        ssl_context = kwargs["ssl"]
        if ssl_context is not None:
            import ssl

            if not isinstance(ssl_context, ssl.SSLContext):
                raise TypeError(
                    "WebSocket(): ssl must be an ssl.SSLContext or None, "
                    f"not {type(ssl_context).__name__}"
                )
        origin = _origin(kwargs["origin"])
        headers = _headers(kwargs["headers"])
        origins = [name for name, _ in headers if name.lower() == "origin"]
        if origin is not None and origins:
            raise ValueError(
                "WebSocket(): give the Origin header once: either origin= or an 'Origin' "
                "in headers=, not both"
            )
        if len(origins) > 1:
            raise ValueError("WebSocket(): headers holds more than one 'Origin' header")
        return cls(
            ssl=ssl_context,
            origin=origin,
            headers=headers,
            max_size=_size(kwargs["max_size"]),
            open_timeout=_timeout("open_timeout", kwargs["open_timeout"]),
            close_timeout=_timeout("close_timeout", kwargs["close_timeout"]),
            compression=_compression(kwargs["compression"]),
            proxy=_proxy(kwargs["proxy"]),
        )

    def non_defaults(self) -> list[str]:
        """The names of the options set to something other than their default."""
        default = ConnectOptions()
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)]


def _origin(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"WebSocket(): origin must be a str or None, not {type(value).__name__}")
    if _FIELD_VALUE.fullmatch(value) is None:
        raise ValueError(
            f"WebSocket(): origin {_brief(value)} is not a valid header value ({_FIELD_VALUE_RULE})"
        )
    return value


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    pairs: Iterable[object]
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray)):
        pairs = value
    else:
        raise TypeError(
            "WebSocket(): headers must be a mapping or (name, value) pairs, "
            f"not {type(value).__name__}"
        )
    result: list[tuple[str, str]] = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(
                f"WebSocket(): headers must hold (name, value) pairs, not {_brief(pair)}"
            )
        name, field_value = pair
        # The types first (as WebIDL converts a record<ByteString, ByteString>),
        # then the values.
        if not isinstance(name, str):
            raise TypeError(
                f"WebSocket(): headers: a header name must be a str, not {type(name).__name__}"
            )
        if not isinstance(field_value, str):
            raise TypeError(
                f"WebSocket(): headers: the value of {name!r} must be a str, "
                f"not {type(field_value).__name__}"
            )
        if not is_token(name):
            raise ValueError(
                f"WebSocket(): headers: invalid header name {_brief(name)} (not an HTTP token)"
            )
        if _FIELD_VALUE.fullmatch(field_value) is None:
            raise ValueError(
                f"WebSocket(): headers: invalid value for {name!r}: {_brief(field_value)} "
                f"(a header value holds {_FIELD_VALUE_RULE})"
            )
        folded = name.lower()
        if folded in _HANDSHAKE_HEADERS:
            raise ValueError(
                f"WebSocket(): headers: {name!r} belongs to the opening handshake; "
                "use the url, protocols or compression arguments instead"
            )
        if folded in _BODY_HEADERS:
            raise ValueError(
                f"WebSocket(): headers: {name!r} is forbidden: the opening handshake has no body"
            )
        result.append((name, field_value))
    return tuple(result)


def _brief(value: object) -> str:
    """A short repr of ``value`` for a message (never one that cannot be made)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an int of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _size(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"WebSocket(): max_size must be an int or None, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"WebSocket(): max_size must be positive, not {value}")
    return value


def _timeout(name: str, value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(
            f"WebSocket(): {name} must be a number of seconds or None, not {type(value).__name__}"
        )
    if not value > 0 or value > _MAX_TIMEOUT:  # NaN, infinities, ints beyond a float
        raise ValueError(
            f"WebSocket(): {name} must be a positive, finite number of seconds, not {_brief(value)}"
        )
    return float(value)


def _compression(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(
            f"WebSocket(): compression must be 'deflate' or None, not {type(value).__name__}"
        )
    if value != "deflate":
        raise ValueError(f"WebSocket(): compression must be 'deflate' or None, not {value!r}")
    return value


def _proxy(value: object) -> str | Literal[True] | None:
    if value is None or value is True:
        return value
    if not isinstance(value, str):
        raise TypeError(
            "WebSocket(): proxy must be a proxy URL, True (the proxy the environment names) "
            f"or None (connect directly), not {type(value).__name__}"
        )
    # The rules of websockets.proxy.parse_proxy, checked here in every runtime.
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as exc:
        raise ValueError(f"WebSocket(): invalid proxy URL {value!r}: {exc}") from None
    problem = None
    if parts.scheme not in PROXY_SCHEMES:
        problem = f"its scheme must be one of {', '.join(PROXY_SCHEMES)}"
    elif not parts.hostname:
        problem = "it has no host"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem = "a proxy URL has no path, query or fragment"
    elif parts.username is not None and parts.password is None:
        problem = "a user name needs a password"
    if problem is not None:
        raise ValueError(f"WebSocket(): invalid proxy URL {value!r}: {problem}")
    return value
