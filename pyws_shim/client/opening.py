"""``connect()``: opening a :class:`~.ClientConnection`, once or again and again.

As ``websockets.asyncio.client.connect``: ``await connect(uri)``, ``async
with connect(uri) as websocket``, and ``async for websocket in connect(uri)``,
which reconnects after transient failures with websockets' backoff
(:func:`backoff`, :func:`process_exception`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import ssl as ssl_module
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Literal

from .._platform import is_emscripten, load_backend
from ..exceptions import DOMException
from ..options import DEFAULT_MAX_SIZE, ConnectOptions
from ..validation import constructor_arguments
from .connection import ClientConnection, dom_error_to_client
from .exceptions import InvalidMessage, InvalidProxy, InvalidStatus, InvalidURI

__all__ = ["backoff", "connect", "process_exception"]

# websockets.client's reconnection delays, from the same environment variables.
BACKOFF_INITIAL_DELAY: Final = float(os.environ.get("WEBSOCKETS_BACKOFF_INITIAL_DELAY", "5"))
BACKOFF_MIN_DELAY: Final = float(os.environ.get("WEBSOCKETS_BACKOFF_MIN_DELAY", "3.1"))
BACKOFF_MAX_DELAY: Final = float(os.environ.get("WEBSOCKETS_BACKOFF_MAX_DELAY", "90.0"))
BACKOFF_FACTOR: Final = float(os.environ.get("WEBSOCKETS_BACKOFF_FACTOR", "1.618"))

# The keyword arguments of loop.create_connection() that websockets passes on;
# pyws_shim.client takes ssl only (the WebSocket's ssl=, CPython).
_CREATE_CONNECTION_ARGUMENTS: Final = frozenset({"ssl"})


def backoff(
    initial_delay: float = BACKOFF_INITIAL_DELAY,
    min_delay: float = BACKOFF_MIN_DELAY,
    max_delay: float = BACKOFF_MAX_DELAY,
    factor: float = BACKOFF_FACTOR,
) -> Generator[float]:
    """websockets' delays between reconnection attempts: a random one up to
    ``initial_delay`` (RFC 6455 7.2.3), then ``min_delay`` growing by
    ``factor`` up to ``max_delay``."""
    yield random.random() * initial_delay
    delay = min_delay
    while delay < max_delay:
        yield delay
        delay *= factor
    while True:
        yield max_delay


def process_exception(exc: Exception) -> Exception | None:
    """Whether a failure to connect is transient (``None``: reconnect) or
    fatal (the exception to raise), by websockets' rules: network errors
    (``OSError``, which includes :class:`~.ConnectionFailed`, and timeouts),
    a response cut short, and the statuses 500, 502, 503 and 504 are
    transient; everything else is fatal (websockets 17's rules)."""
    if isinstance(exc, (OSError, TimeoutError)):
        return None
    if isinstance(exc, InvalidMessage) and isinstance(exc.__cause__, EOFError):
        return None
    if isinstance(exc, InvalidStatus) and exc.response.status_code in (500, 502, 503, 504):
        return None
    return exc


class _Default:
    """The default ``user_agent_header``: the backend's own User-Agent."""

    def __repr__(self) -> str:
        return "<the backend's User-Agent>"


_DEFAULT_USER_AGENT: Final = _Default()


class connect:  # noqa: N801 (websockets' name: it is used as a function)
    """Connect to the WebSocket server at ``uri``, as
    ``websockets.asyncio.client.connect``::

        async with connect("wss://example.com/") as websocket:
            await websocket.send("hello")
            print(await websocket.recv())

    also ``websocket = await connect(...)`` and, reconnecting after
    transient failures, ``async for websocket in connect(...)``.

    The arguments are websockets', with these rules (the README's table has
    them by runtime): ``extensions`` other than permessage-deflate
    (``compression="deflate"``) are not supported; ``user_agent_header=None``
    leaves the backend's own User-Agent; of ``loop.create_connection()``'s
    arguments only ``ssl`` is taken (CPython). Under Pyodide the runtime's
    WebSocket decides TLS, proxies, compression and, in a browser, the
    request headers (pyws_shim's ``WebSocket`` warns when one of these is
    set); it sends no pings (``ping_interval`` and ``ping_timeout`` do
    nothing there).
    """

    def __init__(
        self,
        uri: str,
        *,
        origin: str | None = None,
        extensions: Sequence[Any] | None = None,
        subprotocols: Sequence[str] | None = None,
        compression: str | None = "deflate",
        additional_headers: Any = None,
        user_agent_header: str | _Default | None = _DEFAULT_USER_AGENT,
        proxy: str | Literal[True] | None = True,
        process_exception: Callable[[Exception], Exception | None] = process_exception,
        open_timeout: float | None = 10,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        close_timeout: float | None = 10,
        reconnect_delays: Callable[[], Generator[float]] = backoff,
        max_size: int | tuple[int | None, int | None] | None = 2**20,
        max_queue: int | tuple[int | None, int | None] | None = 16,
        write_limit: int | tuple[int, int | None] = 2**15,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        create_connection: type[ClientConnection] | None = None,
        **kwargs: Any,
    ) -> None:
        unsupported = sorted(set(kwargs) - _CREATE_CONNECTION_ARGUMENTS)
        if unsupported:
            raise TypeError(
                f"connect(): unsupported keyword argument {unsupported[0]!r}: pyws_shim.client "
                "connects through pyws_shim's WebSocket, which takes ssl= (CPython) but no "
                "other argument of loop.create_connection()"
            )
        self.uri = uri
        self._url = _checked_uri(uri)
        secure = self._url.startswith("wss:")
        ssl_context = kwargs.get("ssl")
        if not secure and ssl_context is not None:
            raise ValueError("ssl argument is incompatible with a ws:// URI")
        if secure and "ssl" in kwargs and ssl_context is None:
            raise ValueError("ssl=None is incompatible with a wss:// URI")
        if ssl_context is True:
            ssl_context = None  # the default context
        elif ssl_context is not None and not isinstance(ssl_context, ssl_module.SSLContext):
            raise TypeError(
                "connect(): ssl must be an ssl.SSLContext or True, "
                f"not {type(ssl_context).__name__}"
            )
        if subprotocols is not None:
            if isinstance(subprotocols, str):
                raise TypeError("subprotocols must be a list, not a str")
            if not isinstance(subprotocols, Sequence):
                raise TypeError("subprotocols must be a list")
        if extensions:
            raise NotImplementedError(
                "connect(): extensions: pyws_shim.client negotiates permessage-deflate only "
                "(compression='deflate'); the DOM WebSocket takes no other extension"
            )
        self._protocols = list(subprotocols or ())
        try:
            constructor_arguments(
                self._url, self._protocols, base=None, parser=load_backend(None).parse_url
            )
        except DOMException as exc:
            raise ValueError(f"connect(): subprotocols: {exc.message}") from None
        headers = _header_pairs(additional_headers)
        if isinstance(user_agent_header, str) and not any(
            name.lower() == "user-agent" for name, _ in headers
        ):
            headers.append(("User-Agent", user_agent_header))
        message_limit = max_size[0] if isinstance(max_size, tuple) else max_size
        # What the WebSocket takes (checked here, before any connection):
        # every option in CPython; under Pyodide only those set to other than
        # pyws_shim's defaults (the WebSocket warns that it ignores them), and
        # never max_size, which the runtime's WebSocket cannot apply (the
        # client does; see ClientConnection).
        options: dict[str, Any] = {
            "ssl": ssl_context,
            "origin": origin,
            "headers": headers or None,
            "open_timeout": open_timeout,
            "close_timeout": close_timeout,
            "compression": compression,
            "proxy": proxy,
        }
        if not is_emscripten():
            options["max_size"] = message_limit
        if isinstance(proxy, str):
            try:
                ConnectOptions.from_arguments(**_with_defaults({"proxy": proxy}))
            except ValueError as exc:
                raise InvalidProxy(proxy, str(exc)) from None
        ConnectOptions.from_arguments(**_with_defaults(options))
        self._options = options
        self._max_size = message_limit
        self._connection_options: dict[str, Any] = {
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
            "max_size": message_limit,
            "max_queue": max_queue,
            "write_limit": write_limit,
            "logger": logger,
        }
        self.process_exception = process_exception
        self.reconnect_delays = reconnect_delays
        self.logger: logging.Logger | logging.LoggerAdapter[Any] = (
            logging.getLogger("pyws_shim.client") if logger is None else logger
        )
        self._factory = ClientConnection if create_connection is None else create_connection
        self.connection: ClientConnection | None = None

    async def _connect(self) -> ClientConnection:
        try:
            connection = self._factory(
                self._url, self._protocols, dict(self._options), **self._connection_options
            )
        except DOMException as exc:  # the runtime refused to connect
            raise dom_error_to_client(self.uri, exc) from None
        await connection._opening()
        return connection

    # websocket = await connect(...)

    def __await__(self) -> Generator[Any, None, ClientConnection]:
        return self._connect().__await__()

    # async with connect(...) as websocket:

    async def __aenter__(self) -> ClientConnection:
        if self.connection is not None:
            raise RuntimeError("connect() isn't reentrant")
        self.connection = await self
        return await self.connection.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.connection is not None
        try:
            await self.connection.__aexit__(exc_type, exc_value, traceback)
        finally:
            self.connection = None

    # async for websocket in connect(...):

    async def __aiter__(self) -> AsyncIterator[ClientConnection]:
        delays: Generator[float] | None = None
        while True:
            try:
                async with self as connection:
                    yield connection
            except Exception as exc:
                # As websockets: process_exception() returns None (retry) or
                # an exception (raise it); raising one is taken as returning it.
                try:
                    new_exc = self.process_exception(exc)
                except Exception as raised_exc:
                    new_exc = raised_exc
                if new_exc is exc:
                    raise
                if new_exc is not None:
                    raise new_exc from exc
                if delays is None:
                    delays = self.reconnect_delays()
                delay = next(delays)
                self.logger.info(
                    "connect failed; reconnecting in %.1f seconds: %s",
                    delay,
                    traceback.format_exception_only(exc)[0].strip(),
                )
                await asyncio.sleep(delay)
            else:
                delays = None  # it connected: the backoff starts over


def _with_defaults(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with pyws_shim's defaults for the others, for
    ``ConnectOptions.from_arguments``."""
    return {
        "ssl": None,
        "origin": None,
        "headers": None,
        "max_size": DEFAULT_MAX_SIZE,
        "open_timeout": 30.0,
        "close_timeout": 10.0,
        "compression": "deflate",
        "proxy": True,
    } | dict(options)


def _checked_uri(uri: object) -> str:
    """``uri`` if it is a WebSocket URI websockets takes, else :class:`InvalidURI`."""
    if not isinstance(uri, str):
        raise TypeError(f"connect(): uri must be a str, not {type(uri).__name__}")
    try:
        parsed = urllib.parse.urlparse(uri)
        parsed.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as exc:
        raise InvalidURI(uri, str(exc)) from None
    # websockets.uri.parse_uri's rules: websockets takes no http:, https: or
    # relative URL (the DOM WebSocket would).
    if parsed.scheme not in ("ws", "wss"):
        raise InvalidURI(uri, "scheme isn't ws or wss")
    if parsed.hostname is None:
        raise InvalidURI(uri, "hostname isn't provided")
    if parsed.fragment != "":
        raise InvalidURI(uri, "fragment identifier is meaningless")
    if parsed.username is not None and parsed.password is None:
        raise InvalidURI(uri, "username provided without password")
    # Then the WHATWG URL rules of the DOM WebSocket, in this runtime.
    try:
        url, _ = constructor_arguments(uri, (), base=None, parser=load_backend(None).parse_url)
    except DOMException as exc:
        raise InvalidURI(uri, exc.message) from None
    return url


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    """websockets' ``HeadersLike`` as ``(name, value)`` pairs: a ``Headers``
    (or anything with ``raw_items()``), a mapping, or pairs."""
    if headers is None:
        return []
    raw_items = getattr(headers, "raw_items", None)
    if callable(raw_items):
        return list(raw_items())
    if isinstance(headers, Mapping):
        return list(headers.items())
    if hasattr(headers, "keys") and hasattr(headers, "__getitem__"):
        return [(key, headers[key]) for key in headers.keys()]  # noqa: SIM118
    if isinstance(headers, Iterable) and not isinstance(headers, (str, bytes)):
        return list(headers)
    raise TypeError(
        "connect(): additional_headers must be a Headers, a mapping or (name, value) pairs, "
        f"not {type(headers).__name__}"
    )
