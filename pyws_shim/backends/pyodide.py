"""The Pyodide backend: the runtime's native ``WebSocket``.

Under Pyodide (in a browser page, a web worker or Node.js) a ``WebSocket``
wraps the JavaScript runtime's own. This module only moves bytes and events
between the two: every rule of the standard stays in the shared modules, and
the places where a native socket departs from the standard are evened out
here, each next to the evidence (the repository's ``RUNTIMES.md``):

- events fired synchronously inside ``close()`` (Node) are queued, so no
  event is ever dispatched inside the call that caused it;
- ``readyState`` is the shared one, which only moves forward (Node moves
  from CLOSED back to CLOSING);
- data sent once the closing handshake has started is counted by the shared
  ``bufferedAmount`` (Node counts nothing);
- ``bufferedAmount`` grows synchronously in ``send()`` (Bun's stays 0: the
  bytes it does not count are counted here until the next turn of the loop);
- ``binaryType`` is the shared one (Node resets an invalid value to "blob";
  Bun's default is "nodebuffer");
- URLs are parsed by the runtime's ``URL`` class, then held to the URL
  Standard's host rules (Chromium accepts a space in a host);
- ``headers=`` and ``origin=`` go to the native socket where it takes them
  (Node, Deno and Bun); a browser ignores them, with a warning;
- a failure while connecting always ends in ``close`` 1006 (Node 22 fires
  ``error`` and never ``close``);
- a close frame with a code no endpoint may send fails the connection
  (Firefox ends in a clean ``close`` with that code, 1005 included), and so
  does one longer than a control frame may be (Deno closes cleanly);
- a subprotocol or an extension that was not offered fails the connection
  (Deno opens with it);
- where the error event says why the connection failed (Deno, Bun, Node
  22), its words are the cause of ``ConnectionClosed`` (``FailureReported``).

One proxy per event type forwards the native events; all four are destroyed
when the socket closes, and nothing is created per message. Binary data is
copied once each way (``to_js`` to send, ``to_bytes`` to receive); with
``binaryType`` "blob" a message's data is a :class:`JsBlob`, which holds the
JavaScript Blob and reads it only when asked.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, create_proxy, to_js  # type: ignore[import-not-found]

from ..blob import Blob, Chunk
from ..exceptions import DOMException
from ..validation import check_special_host
from . import ABNORMAL_CLOSURE, CloseFrame, Closure, FailureReported
from .close_timer import CloseTimer

if TYPE_CHECKING:
    from ..options import ConnectOptions
    from . import ConnectionHandler

__all__ = [
    "JsBlob",
    "PyodideConnection",
    "base_url",
    "connect",
    "is_bun",
    "is_in_node",
    "parse_url",
    "sends_request_headers",
]

_NATIVE_OPEN: Final = 1
# The close codes a server may send (RFC 6455 7.4.1 and IANA's registry; the
# websockets library, which the CPython backend runs on, accepts these). 1005
# is what a close frame without a code reports.
_RECEIVABLE_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015), 1005})
_EVENT_TYPES: Final = ("open", "message", "error", "close")
# drain(): no event says when bufferedAmount falls; while a sender waits,
# it is looked at this often (seconds). The limits until write_limits() sets
# them are asyncio's own defaults.
_DRAIN_POLL: Final = 0.005
_DEFAULT_WRITE_LIMITS: Final = (64 * 1024, 16 * 1024)
_NO_STATUS: Final = 1005  # RFC 6455 7.1.5: a close frame "contains no status code"


# Small named probes of the runtime.


def is_in_node() -> bool:
    """True in Node.js (a ``process`` with a ``release.name`` of "node")."""
    process = getattr(js, "process", None)
    return process is not None and getattr(getattr(process, "release", None), "name", "") == "node"


def is_bun() -> bool:
    """True in Bun (which defines a global ``Bun``)."""
    return getattr(js, "Bun", None) is not None


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


class JsBlob(Blob):
    """A :class:`~pyws_shim.Blob` that holds a JavaScript Blob (a received
    message's data while ``binaryType`` is "blob") and reads it only when
    asked, as ``await blob.bytes()`` does in the browser."""

    __slots__ = ("_handle",)
    _handle: Any

    @classmethod
    def from_handle(cls, handle: Any) -> JsBlob:
        blob = object.__new__(cls)
        blob._data = None
        blob._type = str(handle.type)
        blob._handle = handle
        return blob

    @property
    def handle(self) -> Any:
        """The JavaScript Blob."""
        return self._handle

    @classmethod
    def _concatenate(cls, chunks: Sequence[Chunk], type: str) -> JsBlob:
        js_parts = js.Array.new()
        for chunk in chunks:
            js_parts.push(to_js(chunk) if isinstance(chunk, bytes) else chunk.handle)
        options = to_js({"type": type}, dict_converter=js.Object.fromEntries)
        return cls.from_handle(js.Blob.new(js_parts, options))

    async def _read(self) -> bytes:
        if self._data is None:
            buffer = await self._handle.arrayBuffer()
            self._data = bytes(buffer.to_bytes())
        return self._data

    @property
    def held_bytes(self) -> None:
        return None  # even once read: sending passes the JavaScript Blob itself

    @property
    def size(self) -> int:
        return int(self._handle.size)

    def _slice(self, start: int, end: int, content_type: str) -> JsBlob:
        return JsBlob.from_handle(self._handle.slice(start, end, content_type))


def _native_answer(received: CloseFrame) -> CloseFrame:
    """The close frame the native socket sends back when the server closes
    first, as measured in each runtime (the scenario
    client.the_client_answers_the_servers_close_frame_with_its_code): the
    server's code and reason (Chromium, Firefox, Deno, Bun), the code alone
    (Node.js: undici 6 and 7), 1000 for a close frame without a code
    (WebKitGTK; the others send one without a code back)."""
    code = received.code
    if is_in_node():
        if hasattr(js, "Deno") or hasattr(js, "Bun"):
            return received
        return CloseFrame(code, "")  # undici
    agent = str(getattr(getattr(js, "navigator", None), "userAgent", ""))
    if code == _NO_STATUS and "AppleWebKit/" in agent and "Chrome/" not in agent:
        return CloseFrame(1000, "")  # WebKit
    return received


def sends_request_headers() -> bool:
    """Whether the native WebSocket takes request headers: Node.js (undici),
    Deno and Bun accept a non-standard ``new WebSocket(url, {protocols,
    headers})`` and send them, ``Origin`` and ``User-Agent`` included
    (measured with Node 22 and 24, Deno 2.9, Bun 1.4; RUNTIMES.md); a
    browser sets its own and has no way to add any."""
    return is_in_node()  # Deno and Bun say "node" too


def connect(
    handler: ConnectionHandler,
    url: str,
    protocols: list[str],
    options: ConnectOptions,
) -> PyodideConnection:
    # The shim keeps the timeouts itself, and passes headers where the
    # runtime takes them; the runtime decides the rest.
    kept = ["open_timeout", "close_timeout"]
    if sends_request_headers():
        kept += ["headers", "origin"]
    ignored = [name for name in options.non_defaults() if name not in kept]
    if ignored:
        where = "the JavaScript runtime's" if sends_request_headers() else "the browser's"
        warnings.warn(
            f"WebSocket(): {', '.join(ignored)} ignored: under Pyodide {where} own "
            "WebSocket decides TLS, proxies, compression and limits"
            + ("" if sends_request_headers() else ", and sets its own request headers"),
            RuntimeWarning,
            stacklevel=3,
        )
    return PyodideConnection(handler, url, protocols, options)


def _native_arguments(protocols: list[str], options: ConnectOptions) -> Any:
    """The native constructor's second argument: the protocols, or where the
    runtime takes them and there are some, ``{protocols, headers}``."""
    if not sends_request_headers() or (not options.headers and options.origin is None):
        return to_js(protocols)
    headers: dict[str, str] = {}
    for name, value in options.headers:
        # One field per name, as a JavaScript object holds them (RFC 9110 5.3).
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if options.origin is not None:  # (never also in headers: options.py refuses that)
        headers["Origin"] = options.origin
    return to_js({"protocols": protocols, "headers": headers}, dict_converter=js.Object.fromEntries)


class PyodideConnection:
    """One native WebSocket, forwarding its events to the shared ``WebSocket``."""

    def __init__(
        self,
        handler: ConnectionHandler,
        url: str,
        protocols: list[str],
        options: ConnectOptions,
    ) -> None:
        self._handler = handler
        self._message_received = handler.message_received
        self._protocols = protocols
        self._options = options
        self._loop = asyncio.get_event_loop()
        try:
            self._native = js.WebSocket.new(url, _native_arguments(protocols, options))
        except JsException as exc:
            # Our checks ran first, so this is the runtime's own refusal
            # (a blocked port, mixed content): still a DOMException, never a JsException.
            raise DOMException(str(exc), _js_error_name(exc)) from None
        # The native socket's binaryType follows ours; messages come as
        # ArrayBuffers (bytes) or JavaScript Blobs accordingly. Set at once:
        # Bun's default is "nodebuffer" (Bun 1.4.5; RUNTIMES.md), and would
        # deliver Node Buffers.
        self._native.binaryType = "blob"
        # Bytes sent in this turn of the event loop that the native
        # bufferedAmount did not count (Bun 1.4 counts none: its bufferedAmount
        # is 0 right after send(); RUNTIMES.md). The standard's getter reports
        # them "as of the last time the event loop reached step 1".
        self._uncounted = 0
        # Whether the native bufferedAmount grows in send(), as the standard
        # says: everywhere but Bun (which the shim then counts for, above).
        self._counts_sends = not is_bun()
        self._opened = False
        self._closing = False
        self._reported = False
        self._failed = False
        self._cause: BaseException | None = None
        # Flow control beyond the DOM (write_limits, drain).
        self._write_limits = _DEFAULT_WRITE_LIMITS
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._drain_timer: asyncio.TimerHandle | None = None
        # The close frame the native socket was asked to send (Closure.sent).
        self._sent: CloseFrame | None = None
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
        # shim keeps both timeouts, as the CPython backend does. The close
        # timeout counts from when the native bufferedAmount reached 0 (the
        # close frame follows): what the runtime has not sent yet is the
        # progress a wrapper can see.
        self._open_timer: asyncio.TimerHandle | None = None
        if options.open_timeout is not None:
            self._open_timer = self._loop.call_later(options.open_timeout, self._open_timed_out)
        self._close_timer = CloseTimer(
            self._loop, options.close_timeout, self._native_buffered, self._close_timed_out
        )
        # bufferedAmount once the connection is over for the page (the native
        # socket may still be draining, or go back to 0, after the shim gave up).
        self._final_buffered: int | None = None

    # Calls into the native socket.

    def _call(self, method: Callable[..., Any], *args: Any) -> None:
        self._in_native_call += 1
        try:
            method(*args)
        finally:
            self._in_native_call -= 1

    @property
    def buffered_amount(self) -> int:
        if self._final_buffered is not None:
            return self._final_buffered
        return self._native_buffered()

    def _native_buffered(self) -> int:
        return int(self._native.bufferedAmount) + self._uncounted

    def binary_type_changed(self, binary_type: str) -> None:
        self._native.binaryType = binary_type

    def send(self, data: str | bytes | memoryview | Blob) -> bool:
        native = self._native
        if self._reported or native.readyState != _NATIVE_OPEN:
            return False  # the closing handshake has started
        if self._counts_sends:
            if type(data) is str:
                native.send(data)
            elif isinstance(data, JsBlob):
                native.send(data.handle)
            elif isinstance(data, Blob):
                native.send(to_js(data.held_bytes))
            else:
                native.send(to_js(data))  # one copy, into a Uint8Array
            return True
        # Bun: count what its bufferedAmount does not, until the next turn.
        before = int(native.bufferedAmount)
        if isinstance(data, str):
            native.send(data)
            size = len(data.encode("utf-8"))
        elif isinstance(data, JsBlob):
            native.send(data.handle)
            size = data.size
        elif isinstance(data, Blob):
            held = data.held_bytes
            assert held is not None  # a Blob held elsewhere is a JsBlob here
            native.send(to_js(held))
            size = len(held)
        else:
            native.send(to_js(data))
            size = memoryview(data).nbytes
        uncounted = size - (int(native.bufferedAmount) - before)
        if uncounted > 0:
            if not self._uncounted:
                self._loop.call_soon(self._next_turn)
            self._uncounted += uncounted
        return True

    def _next_turn(self) -> None:
        self._uncounted = 0

    def start_closing_handshake(self, code: int | None, reason: str) -> None:
        self._closing = True
        # What the native socket sends (a close frame without a body when
        # there is no code: RFC 6455 7.1.5 calls that 1005).
        self._sent = CloseFrame(_NO_STATUS, "") if code is None else CloseFrame(code, reason)
        if code is None:
            self._call(self._native.close)
        else:
            self._call(self._native.close, code, reason)
        if not self._reported:
            self._close_timer.start()

    def fail(self) -> None:
        self._failed = True
        if self._opened and self._sent is None:
            self._sent = CloseFrame(_NO_STATUS, "")  # native close(): no body
        self._call(self._native.close)

    # Beyond the DOM: what no runtime's WebSocket offers a wrapper.

    can_ping = False
    can_close_with_any_code = False
    can_pause_reading = False

    def ping(self, data: bytes) -> bool:
        raise NotImplementedError(
            "ping: the runtime's WebSocket sends no pings and offers no way to send one"
        )

    def pong(self, data: bytes) -> bool:
        raise NotImplementedError(
            "pong: the runtime's WebSocket answers pings itself and offers no way to send a pong"
        )

    def pause_reading(self) -> None:
        raise NotImplementedError(
            "pause_reading: the runtime's WebSocket delivers every message; "
            "a wrapper cannot hold them back"
        )

    resume_reading = pause_reading

    def write_limits(self, high: int, low: int) -> None:
        self._write_limits = (high, low)

    def drain(self) -> asyncio.Future[None] | None:
        if self._reported or self._native_buffered() <= self._write_limits[0]:
            return None
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        if self._drain_timer is None:
            self._drain_timer = self._loop.call_later(_DRAIN_POLL, self._check_drain)
        return waiter

    def _check_drain(self) -> None:
        self._drain_timer = None
        if not self._reported and self._native_buffered() > self._write_limits[1]:
            self._drain_timer = self._loop.call_later(_DRAIN_POLL, self._check_drain)
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if not self._opened and not self._reported:
            self.fail()
            timeout = self._options.open_timeout
            self._report_closed(
                Closure(
                    failed=True,
                    cause=TimeoutError(f"the opening handshake took more than {timeout} s"),
                )
            )

    def _close_timed_out(self) -> None:
        # The server did not finish the closing handshake in time: the
        # connection is over for the page, whatever the native socket does.
        self._report_closed(Closure())

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
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        protocol, extensions = str(native.protocol), str(native.extensions)
        unoffered = _not_offered(protocol, extensions, self._protocols)
        if unoffered is not None:
            # RFC 6455 4.1: a subprotocol or an extension the client did not
            # offer fails the connection. Deno 2.9 opens with it
            # (faults.handshake_unrequested_subprotocol_fails,
            # handshake_unrequested_extension_fails): fail it here, before
            # open. Its close() still sends a close frame; no script can do less.
            self._failed = True
            self._call(native.close)
            self._forward(self._report_closed, Closure(failed=True, cause=unoffered))
            return
        self._forward(self._handler.connection_established, protocol, extensions)

    def _native_message(self, event: Any) -> None:
        # Once per message: no more than the conversion and the handler's call.
        data = event.data
        if type(data) is str:
            message: str | bytes | Blob = data
        elif hasattr(data, "arrayBuffer"):  # a JavaScript Blob
            message = JsBlob.from_handle(data)
        else:  # an ArrayBuffer
            message = bytes(data.to_bytes())
        if self._in_native_call or self._queued:
            self._forward(self._handler.message_received, message)
        else:
            self._message_received(message)

    def _native_error(self, event: Any) -> None:
        if self._closing:
            # Undici 7 fires error for every unclean close, including a server
            # that never answered our close frame: not a failure (see
            # pyws_shim.backends.closing_outcome, which decides it for every runtime).
            return
        # The runtime had to fail the connection: the close event says 1006.
        self._failed = True
        message = getattr(event, "message", None)
        if isinstance(message, str) and message and self._cause is None:
            # Deno, Bun and Node 22 say why in the error event (an ErrorEvent:
            # "Invalid UTF-8", "...failed: Connection ended"; RUNTIMES.md), the
            # browsers and Node 24 do not: where it is said, it is the
            # failure's cause.
            self._cause = FailureReported(message)
        if not self._opened:
            # A failure while connecting ends in close 1006 at once: undici 6
            # (Node 22) fires error and never close after a refused
            # connection or handshake; the other runtimes' close finds the
            # socket already reported.
            self._forward(self._report_closed, Closure(failed=True, cause=self._cause))

    def _native_close(self, event: Any) -> None:
        code, reason, clean = int(event.code), str(event.reason), bool(event.wasClean)
        if clean and (
            (code not in _RECEIVABLE_CLOSE_CODES and not 3000 <= code <= 4999)
            # 1005 stands for a close frame without a code, which has no
            # reason either: with one, the frame said 1005 itself (Firefox
            # 153 reports that so, cleanly: faults.close_code_1005_fails).
            # Without a reason the two cannot be told apart.
            or (code == 1005 and reason)
            # A control frame holds at most 125 bytes (RFC 6455 5.5): a code
            # and 123 bytes of reason. Deno 2.9 takes a longer close frame and
            # closes cleanly with it (faults.oversized_control_frames_fail).
            or len(reason.encode("utf-8", "surrogatepass")) > 123
        ):
            # A close frame with an invalid code is a protocol error (RFC 6455
            # 7.4.1, 7.1.7): fail the connection (error, then close 1006), as
            # Chromium, Node and the CPython backend do. Firefox 153 ends in a
            # clean close with the server's code (999 in
            # failures.invalid_close_code_from_the_server_fails).
            self._failed = True
            clean = False
        # The native close event says 1006 when no close frame came (Deno
        # says 0, a code no close frame carries: README's table).
        received = None if code in (ABNORMAL_CLOSURE, 0) else CloseFrame(code, reason)
        if clean and received is not None and self._sent is None:
            # The server closed first, and the native socket answered with a
            # close frame of its own, which it does not show (Closure.sent).
            self._sent = _native_answer(received)
        self._forward(
            self._report_closed,
            Closure(received=received, clean=clean, failed=self._failed, cause=self._cause),
        )

    def _report_closed(self, closure: Closure) -> None:
        if self._reported:
            return
        self._reported = True
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        self._close_timer.cancel()
        self._final_buffered = self._native_buffered()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._check_drain()  # the senders waiting: the connection is over
        if self._sent is not None:
            closure = replace(closure, sent=self._sent)
        self._handler.connection_closed(closure)
        self._loop.call_soon(self._release)

    def _release(self) -> None:
        # Every proxy goes with the socket (after the event that closed it).
        for type_, proxy in self._proxies.items():
            self._native.removeEventListener(type_, proxy)
            proxy.destroy()
        self._proxies.clear()


def _not_offered(protocol: str, extensions: str, protocols: list[str]) -> ConnectionError | None:
    """Why the handshake's outcome is not what the client offered, if it is not:
    a subprotocol not in ``protocols``, or an extension the native socket does
    not offer (permessage-deflate; Deno offers none: RUNTIMES.md)."""
    if protocol and protocol not in protocols:
        return ConnectionError(f"the server chose the subprotocol {protocol!r}, not offered")
    offered = () if hasattr(js, "Deno") else ("permessage-deflate",)
    for extension in extensions.split(","):
        name = extension.partition(";")[0].strip()
        if name and name.lower() not in offered:
            return ConnectionError(f"the server chose the extension {name!r}, not offered")
    return None


def _js_error_name(exc: Exception) -> str:
    name = getattr(exc, "name", "")
    return name if isinstance(name, str) and name and name != "JsException" else "SyntaxError"
