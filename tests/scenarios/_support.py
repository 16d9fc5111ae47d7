"""Small helpers for scenarios (public API and standard library only)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import uuid
from collections.abc import Callable
from typing import Any

from pyws_shim import CloseEvent, DOMException, Event, MessageEvent, WebSocket

from . import Servers

__all__ = [
    "LEGACY_CODES",
    "MS",
    "QUIET",
    "TIMING_FACTOR",
    "EventLog",
    "LogRecords",
    "dom_error",
    "eventually",
    "first_message",
    "frame",
    "json_message",
    "new_id",
    "raises",
    "report",
    "request_headers",
]

TIMING_FACTOR = "PYWS_SHIM_TIMING_FACTOR"
"""The environment variable that scales every wait of the scenarios (``MS``)."""


def _timing_factor() -> float:
    text = os.environ.get(TIMING_FACTOR, "1")
    try:
        factor = float(text)
    except ValueError:
        factor = 0.0
    if not 0 < factor < float("inf"):
        raise ValueError(f"{TIMING_FACTOR} must be a positive number, not {text!r}")
    return factor


MS = 0.001 * _timing_factor()
"""The scenarios' unit of time, in seconds: every wait, timeout and time limit
is a multiple of it, as websockets' own tests do with ``MS``. On a slow
machine, ``PYWS_SHIM_TIMING_FACTOR=4 ./tests/run`` makes each one four times
longer; inside Pyodide the host sets the variable from the run's
configuration (``tests/engines.py``, ``tests/host/runner.py``)."""

QUIET = 50 * MS
"""How long a check that nothing more happens (no late event, nothing left
for the loop's exception handler) waits, where no signal can say so."""


class EventLog:
    """Records the events of a socket, with its readyState at each one."""

    def __init__(
        self, ws: WebSocket, types: tuple[str, ...] = ("open", "message", "error", "close")
    ) -> None:
        self.ws = ws
        self.events: list[Event] = []
        self.states: list[int] = []
        self.in_call = False
        self.dispatched_in_call: list[str] = []
        for type_ in types:
            ws.addEventListener(type_, self._record)

    def _record(self, event: Event) -> None:
        if self.in_call:
            self.dispatched_in_call.append(event.type)
        self.events.append(event)
        self.states.append(self.ws.readyState)

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]

    @property
    def close_event(self) -> CloseEvent:
        """The last event, which must be the ``close`` event."""
        event = self.events[-1] if self.events else None
        assert isinstance(event, CloseEvent), f"the last event is not close: {self.types}"
        return event

    def call(self, function: Callable[[], Any]) -> Any:
        """Call ``function``, noting any event dispatched inside the call."""
        self.in_call = True
        try:
            return function()
        finally:
            self.in_call = False


class LogRecords(logging.Handler):
    """Keeps the records of the ``"pyws_shim"`` logger while it is attached
    (``with LogRecords() as log:``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._logger = logging.getLogger("pyws_shim")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> LogRecords:
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._logger.removeHandler(self)


LEGACY_CODES = {"SyntaxError": 12, "InvalidStateError": 11, "InvalidAccessError": 15}


def raises(
    kind: type[BaseException], what: str, call: Callable[..., object], *args: Any, **kwargs: Any
) -> BaseException:
    """Call ``call(*args, **kwargs)``; return the ``kind`` exception it raised, or fail."""
    try:
        result = call(*args, **kwargs)
    except kind as exc:
        return exc
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected {kind.__name__}, got {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(result, WebSocket):
        result.close()  # do not leave a connection running behind a failure
    raise AssertionError(f"{what}: expected {kind.__name__}, nothing was raised")


def dom_error(
    name: str, what: str, call: Callable[..., object], *args: Any, **kwargs: Any
) -> DOMException:
    """Call ``call(*args, **kwargs)``; check it raised the ``name`` DOMException,
    with its legacy code."""
    exc = raises(DOMException, what, call, *args, **kwargs)
    assert isinstance(exc, DOMException)
    assert exc.name == name, f"{what}: expected a {name}, got {exc.name} ({exc})"
    assert exc.code == LEGACY_CODES[name], f"{what}: code {exc.code}, expected {name}'s"
    return exc


async def eventually(predicate: Callable[[], bool], within: float = 5000 * MS) -> None:
    """Wait until ``predicate()`` is true, looking every 5 ``MS``; fail after ``within``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, f"timed out after {within:g} s waiting for a condition"
        await asyncio.sleep(5 * MS)


def new_id() -> str:
    return uuid.uuid4().hex


async def first_message(ws: WebSocket) -> Any:
    """The data of the first message of a socket created just before; fail
    if it closes first."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_event(event: Event) -> None:
        if future.done():
            return
        if isinstance(event, MessageEvent):
            future.set_result(event.data)
        else:
            future.set_exception(AssertionError(f"{event.type} before any message"))

    ws.addEventListener("message", on_event)
    ws.addEventListener("close", on_event)
    return await future


async def request_headers(servers: Servers, *args: Any, **kwargs: Any) -> dict[str, str]:
    """The request headers the ``/headers`` route saw (names in lower case)
    from ``WebSocket(its URL, *args, **kwargs)``."""
    ws = WebSocket(servers.url("/headers"), *args, **kwargs)
    try:
        data = await first_message(ws)
    finally:
        ws.close()
        await ws.wait_closed()
    assert isinstance(data, str), repr(data)
    headers: dict[str, str] = json.loads(data)
    return headers


async def json_message(url: str) -> dict[str, Any]:
    """The first message from ``url``, a JSON object (a server's report)."""
    async with WebSocket(url) as ws:
        async for data in ws:
            assert isinstance(data, str), repr(data)
            result: dict[str, Any] = json.loads(data)
            return result
    raise AssertionError(f"{url} sent nothing")


async def report(servers: Servers, record_id: str) -> dict[str, Any]:
    """What the server's ``/record?id=`` route received, once it ended."""
    return await json_message(servers.url("/report", id=record_id))


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """One frame, byte by byte (RFC 6455 5.2), with whatever it is told:
    ``rsv`` is the three RSV bits (4, 2, 1), ``mask`` a 4-byte masking key,
    ``length`` the payload length to announce (by default the true one)."""
    size = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)])
    mask_bit = 0x80 if mask is not None else 0
    if size < 126:
        head.append(mask_bit | size)
    elif size < 1 << 16:
        head.append(mask_bit | 126)
        head += struct.pack("!H", size)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", size)
    if mask is not None:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload
