"""The Pyodide backend: the runtime's native ``WebSocket``.

Under Pyodide (in a browser page, a web worker or Node.js) a ``WebSocket``
wraps the JavaScript runtime's own. This module only moves bytes and events
between the two: every rule of the standard stays in the shared modules, and
the places where a native socket departs from the standard are evened out
here, each next to the evidence (``RUNTIMES.md``):

- events fired synchronously inside ``close()`` (Node) are queued, so no
  event is ever dispatched inside the call that caused it;
- ``readyState`` is the shared one, which only moves forward (Node moves
  from CLOSED back to CLOSING);
- data sent once the closing handshake has started is counted by the shared
  ``bufferedAmount`` (Node counts nothing);
- ``binaryType`` is the shared one (Node resets an invalid value to "blob");
- URLs are parsed by the runtime's ``URL`` class, then held to the URL
  Standard's host rules (Chromium accepts a space in a host);
- a failure while connecting always ends in ``close`` 1006 (Node 22 fires
  ``error`` and never ``close``).

One proxy per event type forwards the native events; all four are destroyed
when the socket closes, and nothing is created per message. Binary data is
copied once each way (``to_js`` to send, ``to_bytes`` to receive); with
``binaryType`` "blob" a message's ``Blob`` holds the JavaScript Blob and
reads it only when asked.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, create_proxy, to_js  # type: ignore[import-not-found]

from .backend import ABNORMAL_CLOSURE
from .blob import Blob
from .exceptions import DOMException
from .validation import check_special_host

if TYPE_CHECKING:
    from .backend import ConnectionEvents
    from .options import ConnectOptions

__all__ = ["PyodideConnection", "base_url", "connect", "is_in_node", "parse_url"]

_NATIVE_OPEN: Final = 1
_EVENT_TYPES: Final = ("open", "message", "error", "close")


# Small named probes of the runtime.


def is_in_node() -> bool:
    """True in Node.js (a ``process`` with a ``release.name`` of "node")."""
    process = getattr(js, "process", None)
    return process is not None and getattr(getattr(process, "release", None), "name", "") == "node"


def is_in_browser_page() -> bool:
    return hasattr(js, "document") and not is_in_node()


def base_url() -> str | None:
    """The API base URL: the document's base URL in a page, the worker's
    location in a worker; none in Node.js (relative URLs are errors)."""
    if is_in_node():
        return None
    if is_in_browser_page():
        return str(js.document.baseURI)
    location = getattr(js, "location", None)
    return None if location is None else str(location.href)


def parse_url(url: str, base: str | None, /) -> str:
    """The runtime's WHATWG URL parser, held to the standard's host rules."""
    try:
        record = js.URL.new(url) if base is None else js.URL.new(url, base)
    except JsException as exc:
        raise ValueError(str(exc)) from None
    href = str(record.href)
    if href.partition(":")[0] in ("ws", "wss", "http", "https"):
        check_special_host(href)
    return href


# Blobs held in JavaScript.


class _JsBlobs:
    """``Blob.external`` under Pyodide: a handle is a JavaScript Blob."""

    def size(self, handle: Any, /) -> int:
        return int(handle.size)

    def type(self, handle: Any, /) -> str:
        return str(handle.type)

    def slice(self, handle: Any, start: int, end: int, content_type: str, /) -> Any:
        return handle.slice(start, end, content_type)

    def concat(self, parts: Sequence[bytes | Any], content_type: str, /) -> Any:
        js_parts = js.Array.new()
        for part in parts:
            js_parts.push(to_js(part) if isinstance(part, bytes) else part)
        return js.Blob.new(
            js_parts, to_js({"type": content_type}, dict_converter=js.Object.fromEntries)
        )

    async def read(self, handle: Any, /) -> bytes:
        buffer = await handle.arrayBuffer()
        return bytes(buffer.to_bytes())


Blob.external = _JsBlobs()


def connect(
    socket: ConnectionEvents,
    url: str,
    protocols: list[str],
    options: ConnectOptions,
) -> PyodideConnection:
    # The shim keeps the timeouts itself; the runtime decides the rest.
    ignored = [
        name for name in options.non_defaults() if name not in ("open_timeout", "close_timeout")
    ]
    if ignored:
        warnings.warn(
            f"WebSocket(): {', '.join(ignored)} ignored: under Pyodide the runtime's own "
            "WebSocket decides TLS, proxies, headers, compression and limits",
            RuntimeWarning,
            stacklevel=3,
        )
    return PyodideConnection(socket, url, protocols, options)


class PyodideConnection:
    """One native WebSocket, forwarding its events to the shared ``WebSocket``."""

    def __init__(
        self,
        socket: ConnectionEvents,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> None:
        self._socket = socket
        self._options = options
        self._loop = asyncio.get_event_loop()
        try:
            self._native = js.WebSocket.new(url, to_js(protocols))
        except JsException as exc:
            # Our checks ran first, so this is the runtime's own refusal
            # (a blocked port, mixed content): still a DOMException, never a JsException.
            raise DOMException(str(exc), _js_error_name(exc)) from None
        # The native socket's binaryType follows ours; messages come as
        # ArrayBuffers (bytes) or JavaScript Blobs accordingly.
        self._native.binaryType = "blob"
        self._opened = False
        self._closing = False
        self._reported = False
        self._failed = False
        # Events fired inside a call we made (Node fires close()'s events
        # synchronously) wait here until the call has returned.
        self._in_native_call = 0
        self._queued: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._proxies: dict[str, Any] = {}
        for type_ in _EVENT_TYPES:
            proxy = create_proxy(getattr(self, "_native_" + type_))
            self._proxies[type_] = proxy
            self._native.addEventListener(type_, proxy)
        # Neither Node nor Chromium bounds the opening handshake, and Node
        # never gives up on a closing handshake (Chromium after 60 s): the
        # shim keeps both timeouts, as the CPython backend does.
        self._timer: asyncio.TimerHandle | None = None
        if options.open_timeout is not None:
            self._timer = self._loop.call_later(options.open_timeout, self._open_timed_out)

    # Calls into the native socket.

    def _call(self, method: Callable[..., Any], *args: Any) -> None:
        self._in_native_call += 1
        try:
            method(*args)
        finally:
            self._in_native_call -= 1

    @property
    def buffered_amount(self) -> int:
        return int(self._native.bufferedAmount)

    def binary_type_changed(self, binary_type: str) -> None:
        self._native.binaryType = binary_type

    def send(self, data: str | bytes | memoryview | Blob) -> bool:
        native = self._native
        if self._reported or native.readyState != _NATIVE_OPEN:
            return False  # the closing handshake has started
        if isinstance(data, str):
            native.send(data)
        elif isinstance(data, Blob):
            if data._data is None:
                native.send(data._external)
            else:
                native.send(to_js(data._data))
        else:
            native.send(to_js(data))  # one copy, into a Uint8Array
        return True

    def start_closing_handshake(self, code: int | None, reason: str) -> None:
        self._closing = True
        if code is None:
            self._call(self._native.close)
        else:
            self._call(self._native.close, code, reason)
        if self._options.close_timeout is not None and not self._reported:
            self._timer = self._loop.call_later(self._options.close_timeout, self._close_timed_out)

    def fail(self) -> None:
        self._failed = True
        self._call(self._native.close)

    def _open_timed_out(self) -> None:
        self._timer = None
        if not self._opened and not self._reported:
            self.fail()
            timeout = self._options.open_timeout
            self._report_closed(
                ABNORMAL_CLOSURE,
                "",
                False,
                TimeoutError(f"the opening handshake took more than {timeout} s"),
            )

    def _close_timed_out(self) -> None:
        # The server did not finish the closing handshake in time: the
        # connection is over for the page, whatever the native socket does.
        self._timer = None
        self._report_closed(ABNORMAL_CLOSURE, "", False)

    # Native events, forwarded.

    def _forward(self, function: Callable[..., None], *args: Any) -> None:
        if self._in_native_call or self._queued:
            if not self._queued:
                self._loop.call_soon(self._flush)
            self._queued.append((function, args))
        else:
            function(*args)

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        for function, args in queued:
            function(*args)

    def _native_open(self, event: Any) -> None:
        native = self._native
        self._opened = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._forward(self._socket._on_established, str(native.protocol), str(native.extensions))

    def _native_message(self, event: Any) -> None:
        data = event.data
        if isinstance(data, str):
            message: str | bytes | Blob = data
        elif hasattr(data, "arrayBuffer"):  # a JavaScript Blob
            message = Blob._from_external(data)
        else:  # an ArrayBuffer
            message = bytes(data.to_bytes())
        self._forward(self._socket._on_message, message)

    def _native_error(self, event: Any) -> None:
        if self._closing:
            # Undici 7 fires error for every unclean close, including a server
            # that never answered our close frame: not a failure (see
            # WebSocket._on_closed, which decides that for every runtime).
            return
        # The runtime had to fail the connection: the close event says 1006.
        self._failed = True
        if not self._opened:
            # A failure while connecting ends in close 1006 at once: undici 6
            # (Node 22) fires error and never close after a refused
            # connection or handshake; the other runtimes' close finds the
            # socket already reported.
            self._forward(self._report_closed, ABNORMAL_CLOSURE, "", False)

    def _native_close(self, event: Any) -> None:
        code, reason, clean = int(event.code), str(event.reason), bool(event.wasClean)
        self._forward(self._report_closed, code, reason, clean)

    def _report_closed(
        self, code: int, reason: str, was_clean: bool, cause: BaseException | None = None
    ) -> None:
        if self._reported:
            return
        self._reported = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._socket._on_closed(code, reason, was_clean, self._failed, cause)
        self._loop.call_soon(self._release)

    def _release(self) -> None:
        # Every proxy goes with the socket (after the event that closed it).
        for type_, proxy in self._proxies.items():
            self._native.removeEventListener(type_, proxy)
            proxy.destroy()
        self._proxies.clear()


def _js_error_name(exc: Exception) -> str:
    name = getattr(exc, "name", "")
    return name if isinstance(name, str) and name and name != "JsException" else "SyntaxError"
