"""Small helpers for scenarios (public API and standard library only)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from pyws_shim import DOMException, Event, WebSocket

from . import Servers

__all__ = ["LEGACY_CODES", "EventLog", "dom_error", "eventually", "new_id", "raises", "report"]


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

    def call(self, function: Callable[[], Any]) -> Any:
        """Call ``function``, noting any event dispatched inside the call."""
        self.in_call = True
        try:
            return function()
        finally:
            self.in_call = False


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


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait, turn by turn of the loop, until ``predicate()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "timed out waiting for a condition"
        await asyncio.sleep(0.005)


def new_id() -> str:
    return uuid.uuid4().hex


async def report(servers: Servers, record_id: str) -> dict[str, Any]:
    """What the server's ``/record?id=`` route received, once it ended."""
    async with WebSocket(servers.url("/report", id=record_id)) as ws:
        async for data in ws:
            assert isinstance(data, str)
            result: dict[str, Any] = json.loads(data)
            return result
    raise AssertionError("the report route sent nothing")
