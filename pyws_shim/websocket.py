"""The ``WebSocket`` interface: the standard's state machine, shared by
every backend, and the Pythonic additions built on its events.

Reference: the WHATWG WebSockets Standard, "The WebSocket interface" and
"Feedback from the protocol" (https://websockets.spec.whatwg.org/).
"""

from __future__ import annotations

import asyncio
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable
from types import TracebackType
from typing import Any, ClassVar, Final, Literal

from . import validation
from ._platform import load_backend
from .backends import Closure, ConnectionHandler, closing_outcome
from .blob import Blob
from .events import CloseEvent, Event, EventHandler, EventTarget, MessageEvent
from .exceptions import ConnectionClosed, DOMException
from .options import DEFAULT_MAX_SIZE, ConnectOptions

__all__ = ["WebSocket"]

BinaryType = Literal["blob", "arraybuffer"]
_STATE_NAMES: Final = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")


class WebSocket(EventTarget):
    """``WebSocket(url, protocols=())``: the DOM WebSocket.

    ``url`` is a ``ws:``, ``wss:``, ``http:`` or ``https:`` URL; ``protocols``
    one subprotocol or a sequence of them. The keyword-only options are
    those of :class:`~pyws_shim.options.ConnectOptions` (CPython only) and
    ``backend`` (``"asyncio"``, ``"pyodide"``, or an object providing
    :class:`pyws_shim.backends.Backend`; by default the one for this
    platform). In CPython it must be created while an asyncio event loop
    runs; its events are callbacks on that loop.
    """

    CONNECTING: ClassVar[int] = 0
    OPEN: ClassVar[int] = 1
    CLOSING: ClassVar[int] = 2
    CLOSED: ClassVar[int] = 3

    onopen = EventHandler["WebSocket"]("open")
    onmessage = EventHandler["WebSocket"]("message")
    onerror = EventHandler["WebSocket"]("error")
    onclose = EventHandler["WebSocket"]("close")

    def __init__(
        self,
        url: str,
        protocols: str | Iterable[str] = (),
        *,
        ssl: Any = None,
        origin: str | None = None,
        headers: Any = None,
        max_size: int | None = DEFAULT_MAX_SIZE,
        open_timeout: float | None = 30.0,
        close_timeout: float | None = 10.0,
        compression: str | None = "deflate",
        proxy: str | Literal[True] | None = True,
        backend: Any = None,
    ) -> None:
        super().__init__()
        runtime = load_backend(backend)
        # Constructor steps 1 to 9: every argument is checked before any I/O.
        self._url, protocol_list = validation.constructor_arguments(
            url, protocols, base=runtime.base_url(), parser=runtime.parse_url
        )
        options = ConnectOptions.from_arguments(
            ssl=ssl,
            origin=origin,
            headers=headers,
            max_size=max_size,
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            compression=compression,
            proxy=proxy,
        )
        self._origin: str = validation.origin_of(self._url)
        self._ready_state: int = WebSocket.CONNECTING
        self._protocol: str = ""
        self._extensions: str = ""
        self._binary_type: BinaryType = "blob"
        # Bytes passed to send() once the closing handshake had started: the
        # standard counts them in bufferedAmount for ever.
        self._buffered_after_close: int = 0
        self._opened: bool = False
        self._close_event: CloseEvent | None = None
        self._failure_cause: BaseException | None = None
        self._messages: _MessageQueue | None = None
        # Step 11: "Run this step in parallel: establish a WebSocket connection".
        feedback: ConnectionHandler = _Feedback(self)
        self._connection = runtime.connect(feedback, self._url, protocol_list, options)

    # The DOM attributes.

    @property
    def url(self) -> str:
        return self._url

    @property
    def readyState(self) -> int:
        return self._ready_state

    @property
    def bufferedAmount(self) -> int:
        return self._connection.buffered_amount + self._buffered_after_close

    @property
    def protocol(self) -> str:
        return self._protocol

    @property
    def extensions(self) -> str:
        return self._extensions

    @property
    def binaryType(self) -> BinaryType:
        return self._binary_type

    @binaryType.setter
    def binaryType(self, value: BinaryType) -> None:
        # WebIDL enumeration: an assignment of any other value is ignored.
        if value == "blob" or value == "arraybuffer":
            self._binary_type = value
            self._connection.binary_type_changed(value)
        else:
            warnings.warn(
                f"binaryType {value!r} ignored: it must be 'blob' or 'arraybuffer'",
                RuntimeWarning,
                stacklevel=2,
            )

    # The DOM methods.

    def send(self, data: str | bytes | bytearray | memoryview | Blob) -> None:
        """Send ``data``: a ``str`` as a text message, bytes-like or a
        ``Blob`` as a binary message."""
        # WebIDL converts the argument; ASCII text is already a USVString (the
        # first case of validation.send_payload, taken here without a call).
        payload = data if type(data) is str and data.isascii() else validation.send_payload(data)
        # send() step 1: "If this's ready state is CONNECTING, then throw an
        # InvalidStateError."
        if self._ready_state == WebSocket.CONNECTING:
            raise DOMException(
                "The WebSocket is still in the CONNECTING state.", "InvalidStateError"
            )
        # Step 2: send the message "if the WebSocket connection is established
        # and the WebSocket closing handshake has not yet started"; in every
        # case, increase bufferedAmount by the size of the data.
        if self._ready_state != WebSocket.OPEN or not self._connection.send(payload):
            self._buffered_after_close += _byte_length(payload)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (after every message already sent),
        or fail the connection if it is not established yet."""
        code, reason = validation.close_arguments(code, reason)
        state = self._ready_state
        # close() step 3, "Run the first matching steps from the following list".
        if state == WebSocket.CLOSING or state == WebSocket.CLOSED:
            return  # "Do nothing."
        self._ready_state = WebSocket.CLOSING
        if state == WebSocket.CONNECTING:
            # "If the WebSocket connection is not yet established: fail the
            # WebSocket connection and set this's ready state to CLOSING."
            self._connection.fail()
        else:
            # "If the WebSocket closing handshake has not yet been started:
            # start the WebSocket closing handshake and set this's ready state
            # to CLOSING."
            self._connection.start_closing_handshake(code, reason)

    def _message_received(self, data: str | bytes | Blob) -> None:
        """The standard's "when a WebSocket message has been received"
        (called by backends through this socket's ConnectionHandler)."""
        # "1. If ready state is not OPEN (1), then return."
        if self._ready_state != WebSocket.OPEN:
            return
        # Step 2, dataForEvent: a string for text, and for binary data a Blob
        # or an ArrayBuffer (bytes here) according to binaryType. A backend
        # gives a Blob only while binaryType is "blob" (it follows
        # binary_type_changed at once).
        if type(data) is bytes and self._binary_type == "blob":
            data = Blob.from_bytes(data)
        # Step 3: "Fire an event named message ... with the origin attribute
        # initialized to the serialization of the WebSocket object's url's origin".
        self._fire_message(data, self._origin)

    # Beyond the DOM: awaiting, async with, async for. Each is built on the
    # events above (trusted ones only), so it behaves the same in every runtime.

    async def wait_open(self) -> None:
        """Return once the ``open`` event has fired; raise
        :class:`~pyws_shim.ConnectionClosed` if the connection closes first."""
        if self._opened:
            return
        if self._close_event is None:
            event = await self._next_event("open", "close")
        else:
            event = self._close_event
        if isinstance(event, CloseEvent):
            raise ConnectionClosed(
                f"The WebSocket connection to {self._url!r} closed before it opened "
                f"(code {event.code}).",
                event,
            ) from self._failure_cause

    async def wait_closed(self) -> CloseEvent:
        """Return the ``close`` event, once it has fired."""
        if self._close_event is not None:
            return self._close_event
        event = await self._next_event("close")
        assert isinstance(event, CloseEvent)
        return event

    async def _next_event(self, *types: str) -> Event:
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

        def listener(event: Event) -> None:
            if event.isTrusted and not future.done():
                future.set_result(event)

        for type_ in types:
            self.addEventListener(type_, listener)
        try:
            return await future
        finally:
            for type_ in types:
                self.removeEventListener(type_, listener)

    def __await__(self) -> Generator[Any, None, WebSocket]:
        """``ws = await WebSocket(url)``: wait for the ``open`` event."""
        return self._opened_self().__await__()

    async def _opened_self(self) -> WebSocket:
        await self.wait_open()
        return self

    async def __aenter__(self) -> WebSocket:
        """Wait for ``open``; incoming messages are kept for ``async for``
        from here on."""
        self._message_queue()
        try:
            await self.wait_open()
        except BaseException:
            self.close()  # cancelled while connecting: do not leave it running
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close with code 1000 and wait for the ``close`` event."""
        self.close(1000)
        await self.wait_closed()

    def __aiter__(self) -> WebSocket:
        """Iterate over the ``data`` of incoming messages (from the first
        ``async with`` or ``async for`` on)."""
        self._message_queue().iterating = True
        return self

    async def __anext__(self) -> str | bytes | Blob:
        """The next message's data. The iteration stops when the connection
        closes cleanly and raises :class:`~pyws_shim.ConnectionClosed` when it
        does not."""
        queue = self._message_queue()
        queue.iterating = True  # anext(ws) need not call __aiter__ first
        while not queue.items:
            if queue.close_event is not None:
                if queue.close_event.wasClean:
                    raise StopAsyncIteration
                raise ConnectionClosed(
                    f"The WebSocket connection to {self._url!r} closed abnormally "
                    f"(code {queue.close_event.code}).",
                    queue.close_event,
                ) from self._failure_cause
            await queue.wait()
        return queue.items.popleft()

    def _message_queue(self) -> _MessageQueue:
        if self._messages is None:
            self._messages = _MessageQueue(self)
        return self._messages

    def __repr__(self) -> str:
        return f"<WebSocket url={self._url!r} readyState={_STATE_NAMES[self._ready_state]}>"


class _Feedback:
    """The standard's "feedback from the protocol" for one ``WebSocket``: what
    its backend reports (:class:`pyws_shim.backends.ConnectionHandler`), turned
    into the socket's state and its events. Kept apart from the socket so
    that the DOM surface has no backend-facing methods; ``message_received``,
    which runs once per message, is the socket's own ``_message_received``,
    bound (one call less)."""

    __slots__ = ("_ws", "message_received")
    message_received: Callable[[str | bytes | Blob], None]

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        # "When a WebSocket message has been received": the socket's own
        # method, bound here (a backend calls it once per message).
        self.message_received = ws._message_received

    def connection_established(self, protocol: str, extensions: str) -> None:
        # "When the WebSocket connection is established, the user agent must
        # queue a task to run these steps:"
        ws = self._ws
        if ws._ready_state != WebSocket.CONNECTING:
            return  # close() already failed it.
        ws._ready_state = WebSocket.OPEN  # 1. "Change the ready state to OPEN."
        ws._extensions = extensions  # 2. "Change the extensions attribute's value"
        ws._protocol = protocol  # 3. "Change the protocol attribute's value"
        ws._opened = True
        ws._fire(Event("open"))  # 4. "Fire an event named open at the WebSocket object."

    def closing_handshake_started(self) -> None:
        # "When the WebSocket closing handshake is started, the user agent must
        # queue a task to change the ready state to CLOSING (2)."
        ws = self._ws
        if ws._ready_state == WebSocket.OPEN:
            ws._ready_state = WebSocket.CLOSING

    def connection_closed(self, closure: Closure) -> None:
        # "When the WebSocket connection is closed, possibly cleanly, the user
        # agent must queue a task to run the following substeps:"
        ws = self._ws
        if ws._ready_state == WebSocket.CLOSED:
            return
        outcome = closing_outcome(closure, closing=ws._ready_state == WebSocket.CLOSING)
        ws._ready_state = WebSocket.CLOSED  # 1. "Change the ready state to CLOSED (3)."
        ws._failure_cause = closure.cause
        # 2. "If the user agent was required to fail the WebSocket connection,
        # or if the WebSocket connection was closed after being flagged as
        # full, fire an event named error at the WebSocket object."
        if outcome.error:
            ws._fire(Event("error"))
        # 3. "Fire an event named close at the WebSocket object, using
        # CloseEvent, with wasClean, code and reason."
        event = CloseEvent(
            "close", wasClean=outcome.was_clean, code=outcome.code, reason=outcome.reason
        )
        ws._close_event = event
        ws._fire(event)

    def pong_received(self, data: bytes) -> None:
        pass  # the DOM has no ping; pyws_shim.client interposes here


class _MessageQueue:
    """The messages kept for ``async for``: a ``message`` and a ``close``
    listener on the socket, and the tasks waiting for them.

    From ``async with`` (or the first ``async for``) on, every message is
    kept until ``async for`` reads it, with one exception that keeps memory
    bounded: while no ``async for`` has started, a message that a listener of
    the user's own (``onmessage`` or ``addEventListener``) receives is not
    kept, since nothing may ever iterate.
    """

    def __init__(self, socket: WebSocket) -> None:
        self.items: deque[str | bytes | Blob] = deque()
        self.close_event: CloseEvent | None = socket._close_event
        self.iterating = False
        self._socket = socket
        self._waiters: list[asyncio.Future[None]] = []
        if self.close_event is None:
            socket.addEventListener("message", self._on_message)
            socket.addEventListener("close", self._on_close)

    def _on_message(self, event: Event) -> None:
        if not event.isTrusted or self.close_event is not None:
            return
        if not self.iterating and self._socket._has_other_listener("message", self._on_message):
            return
        assert isinstance(event, MessageEvent)
        self.items.append(event.data)
        self._wake()

    def _on_close(self, event: Event) -> None:
        if event.isTrusted:
            assert isinstance(event, CloseEvent)
            self.close_event = event
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter


def _byte_length(payload: str | bytes | memoryview | Blob) -> int:
    if isinstance(payload, str):
        return len(payload.encode("utf-8"))
    if isinstance(payload, Blob):
        return payload.size
    return len(payload)  # bytes, or a memoryview of format "B"
