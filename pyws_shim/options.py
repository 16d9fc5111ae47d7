"""Connection options that the DOM has no place for.

They are keyword-only arguments of ``WebSocket(...)``, validated here in
every runtime. The CPython backend uses them all. Under Pyodide the runtime's
native WebSocket decides TLS, headers, limits and timeouts itself, so a
non-default value there is ignored with a ``RuntimeWarning`` naming it.
"""

from __future__ import annotations

import math
import re
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

# The proxies pyws_shim.proxy goes through: HTTP CONNECT, and SOCKS through python-socks.
PROXY_SCHEMES = ("http", "socks5", "socks5h", "socks4", "socks4a")

# RFC 7230 section 3.2: field-value has no CR, LF or NUL.
_FIELD_VALUE = re.compile(r"[^\r\n\x00]*")
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
        origin = kwargs["origin"]
        if origin is not None and (
            not isinstance(origin, str) or _FIELD_VALUE.fullmatch(origin) is None
        ):
            raise TypeError("WebSocket(): origin must be a str without CR, LF or NUL, or None")
        return cls(
            ssl=ssl_context,
            origin=origin,
            headers=_headers(kwargs["headers"]),
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


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    pairs: Iterable[object]
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        pairs = value
    else:
        raise TypeError(
            "WebSocket(): headers must be a mapping or (name, value) pairs, "
            f"not {type(value).__name__}"
        )
    result: list[tuple[str, str]] = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"WebSocket(): each header must be a (name, value) pair, not {pair!r}")
        name, field_value = pair
        if not isinstance(name, str) or not is_token(name):
            raise ValueError(f"WebSocket(): invalid header name {name!r}")
        if not isinstance(field_value, str) or _FIELD_VALUE.fullmatch(field_value) is None:
            raise ValueError(f"WebSocket(): invalid value for header {name!r}: {field_value!r}")
        if name.lower() in _HANDSHAKE_HEADERS:
            raise ValueError(
                f"WebSocket(): the header {name!r} belongs to the opening handshake; "
                "use the url, protocols or compression arguments instead"
            )
        result.append((name, field_value))
    return tuple(result)


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
    if not value > 0 or math.isinf(value):
        raise ValueError(
            f"WebSocket(): {name} must be a positive, finite number of seconds, not {value}"
        )
    return float(value)


def _compression(value: object) -> str | None:
    if value is None or value == "deflate":
        return value
    raise ValueError(f"WebSocket(): compression must be 'deflate' or None, not {value!r}")


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
