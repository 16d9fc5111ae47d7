"""Scenarios: the event model (Event, MessageEvent, CloseEvent, EventTarget,
the event handler attributes) and DOMException.

The DOM Standard (events, dispatch, "inner invoke"), HTML's "event
handlers" and WebIDL's DOMException are the reference; the README ("The
API": Events) adds that a raising listener is logged on the ``"pyws_shim"``
logger and that a listener returning a coroutine has it scheduled as a task.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyws_shim import (
    CloseEvent,
    DOMException,
    Event,
    EventTarget,
    MessageEvent,
    WebSocket,
)

from . import Servers, scenario
from ._support import MS, LogRecords, raises


async def target_socket(servers: Servers) -> WebSocket:
    """An open WebSocket, to be used as an EventTarget."""
    ws = WebSocket(servers.url("/echo"))
    await ws.wait_open()
    return ws


async def finish(ws: WebSocket) -> None:
    ws.close()
    await ws.wait_closed()


# Event, MessageEvent, CloseEvent.


@scenario
async def event_constructor_defaults(servers: Servers) -> None:
    event = Event("x")
    assert event.type == "x"
    assert event.target is None
    assert event.currentTarget is None
    assert event.eventPhase == 0
    assert event.bubbles is False
    assert event.cancelable is False
    assert event.defaultPrevented is False
    assert event.isTrusted is False
    assert isinstance(event.timeStamp, float), type(event.timeStamp)
    assert event.timeStamp >= 0, event.timeStamp
    later = Event("y")
    assert later.timeStamp >= event.timeStamp, (event.timeStamp, later.timeStamp)
    assert Event("").type == ""


@scenario
async def event_init_dict_and_keywords(servers: Servers) -> None:
    event = Event("x", {"cancelable": True})
    assert (event.cancelable, event.bubbles) == (True, False)
    event = Event("x", {"bubbles": True, "cancelable": False})
    assert (event.cancelable, event.bubbles) == (False, True)
    event = Event("x", cancelable=True, bubbles=True)
    assert (event.cancelable, event.bubbles) == (True, True)
    event = Event("x", {"unknown": 1})  # unknown dictionary members are ignored
    assert event.cancelable is False
    assert Event("x", None).cancelable is False
    assert Event("x", {}).bubbles is False


@scenario
async def message_event_fields(servers: Servers) -> None:
    event = MessageEvent("message")
    assert isinstance(event, Event)
    assert (event.type, event.data, event.origin, event.lastEventId) == ("message", None, "", "")
    assert (event.isTrusted, event.cancelable) == (False, False)
    event = MessageEvent("message", data="d", origin="o", lastEventId="l")
    assert (event.data, event.origin, event.lastEventId) == ("d", "o", "l")
    event = MessageEvent("message", {"data": b"\x00\x01", "origin": "ws://h:1"})
    assert (event.data, event.origin, event.lastEventId) == (b"\x00\x01", "ws://h:1", "")
    event = MessageEvent("custom", {"cancelable": True}, data=[1, 2])
    assert (event.type, event.cancelable, event.data) == ("custom", True, [1, 2])


@scenario
async def close_event_fields(servers: Servers) -> None:
    event = CloseEvent("close")
    assert isinstance(event, Event)
    assert (event.type, event.code, event.reason, event.wasClean) == ("close", 0, "", False)
    event = CloseEvent("close", {"code": 4000, "reason": "r", "wasClean": True})
    assert (event.code, event.reason, event.wasClean) == (4000, "r", True)
    event = CloseEvent("close", code=1006, reason="gone")
    assert (event.code, event.reason, event.wasClean) == (1006, "gone", False)
    assert event.isTrusted is False


@scenario
async def event_type_must_be_str(servers: Servers) -> None:
    for cls in (Event, MessageEvent, CloseEvent):
        for bad in (5, None, b"message", ["x"]):
            raises(TypeError, f"{cls.__name__}({bad!r})", cls, bad)
        raises(TypeError, f"{cls.__name__}()", cls)


# DOMException.


@scenario
async def dom_exception_fields(servers: Servers) -> None:
    exc = DOMException("bad url", "SyntaxError")
    assert isinstance(exc, Exception)
    assert (exc.message, exc.name, exc.code) == ("bad url", "SyntaxError", 12)
    for name, code in (
        ("InvalidStateError", 11),
        ("InvalidAccessError", 15),
        ("SyntaxError", 12),
        ("NotFoundError", 8),
        ("UnknownError", 0),
        ("NoSuchNameError", 0),
        ("Error", 0),
    ):
        exc = DOMException("m", name)
        assert exc.code == code, f"DOMException('m', {name!r}).code == {exc.code}"
        assert (exc.name, exc.message) == (name, "m")
    default = DOMException()
    assert (default.message, default.name, default.code) == ("", "Error", 0)
    message_only = DOMException("just a message")
    assert (message_only.message, message_only.name) == ("just a message", "Error")
    assert "just a message" in str(message_only)
    # It is raised and caught like any exception.
    caught: Exception | None = None
    try:
        raise DOMException("closed", "InvalidStateError")
    except Exception as exc_:
        caught = exc_
    assert isinstance(caught, DOMException), repr(caught)
    assert caught.code == 11


# EventTarget: the listener list.


def check_listener_order(target: EventTarget, kind: str) -> None:
    calls: list[str] = []
    target.addEventListener(kind, lambda e: calls.append("a"))
    target.addEventListener(kind, lambda e: calls.append("b"))
    target.addEventListener(kind + "-other", lambda e: calls.append(kind + "-other"))
    target.addEventListener(kind, lambda e: calls.append("c"))
    assert target.dispatchEvent(Event(kind)) is True
    assert calls == ["a", "b", "c"], calls


def check_duplicates_ignored(target: EventTarget, kind: str) -> None:
    calls: list[str] = []

    def listener(event: Event) -> None:
        calls.append("f")

    target.addEventListener(kind, listener)
    target.addEventListener(kind, listener)
    target.addEventListener(kind, listener, False)
    target.addEventListener(kind, listener, {"capture": False})
    target.addEventListener(kind, listener, {"once": True})  # same callback and capture
    target.dispatchEvent(Event(kind))
    assert calls == ["f"], f"duplicate registrations were called: {calls}"
    target.dispatchEvent(Event(kind))
    assert calls == ["f", "f"], "the first registration (not once) stays"
    # capture True is another registration.
    target.addEventListener(kind, listener, True)
    target.addEventListener(kind, listener, {"capture": True})
    calls.clear()
    target.dispatchEvent(Event(kind))
    assert calls == ["f", "f"], calls
    # Removal matches the capture flag too.
    target.removeEventListener(kind, listener, True)
    calls.clear()
    target.dispatchEvent(Event(kind))
    assert calls == ["f"], calls
    target.removeEventListener(kind, listener)
    calls.clear()
    target.dispatchEvent(Event(kind))
    assert calls == [], calls


def check_once(target: EventTarget, kind: str) -> None:
    calls: list[str] = []
    target.addEventListener(kind, lambda e: calls.append("once"), {"once": True})
    target.addEventListener(kind, lambda e: calls.append("always"))
    target.dispatchEvent(Event(kind))
    target.dispatchEvent(Event(kind))
    target.dispatchEvent(Event(kind))
    assert calls == ["once", "always", "always", "always"], calls


def check_once_removed_before_it_runs(target: EventTarget, kind: str) -> None:
    # A once listener that dispatches the same type from inside itself is
    # not called again by the nested dispatch.
    calls: list[str] = []

    def once(event: Event) -> None:
        calls.append("once")
        target.dispatchEvent(Event(kind))

    target.addEventListener(kind, once, {"once": True})
    target.dispatchEvent(Event(kind))
    assert calls == ["once"], calls


def check_remove(target: EventTarget, kind: str) -> None:
    calls: list[str] = []

    def first(event: Event) -> None:
        calls.append("first")

    def second(event: Event) -> None:
        calls.append("second")

    target.addEventListener(kind, first)
    target.addEventListener(kind, second)
    target.removeEventListener(kind, first)
    target.removeEventListener(kind, first)  # removing twice is harmless
    target.removeEventListener(kind, lambda e: None)  # never added: harmless
    target.removeEventListener(kind + "-other", second)  # another type: harmless
    target.dispatchEvent(Event(kind))
    assert calls == ["second"], calls
    # Added again, it goes to the end.
    target.addEventListener(kind, first)
    calls.clear()
    target.dispatchEvent(Event(kind))
    assert calls == ["second", "first"], calls


def check_removed_during_dispatch(target: EventTarget, kind: str) -> None:
    calls: list[str] = []

    def later(event: Event) -> None:
        calls.append("later")

    def remover(event: Event) -> None:
        calls.append("remover")
        target.removeEventListener(kind, later)

    target.addEventListener(kind, remover)
    target.addEventListener(kind, later)
    target.dispatchEvent(Event(kind))
    assert calls == ["remover"], f"a listener removed during dispatch was called: {calls}"


def check_added_during_dispatch(target: EventTarget, kind: str) -> None:
    calls: list[str] = []

    def added(event: Event) -> None:
        calls.append("added")

    def adder(event: Event) -> None:
        calls.append("adder")
        target.addEventListener(kind, added)

    target.addEventListener(kind, adder)
    target.dispatchEvent(Event(kind))
    assert calls == ["adder"], f"a listener added during dispatch was called: {calls}"
    target.dispatchEvent(Event(kind))
    assert calls == ["adder", "adder", "added"], calls


def check_handle_event_objects(target: EventTarget, kind: str) -> None:
    calls: list[tuple[str, object]] = []

    class Listener:
        def __init__(self, name: str) -> None:
            self.name = name

        def handleEvent(self, event: Event) -> None:
            calls.append((self.name, event.currentTarget))

    first, second = Listener("first"), Listener("second")
    target.addEventListener(kind, first)
    target.addEventListener(kind, lambda e: calls.append(("function", e.currentTarget)))
    target.addEventListener(kind, second)
    target.addEventListener(kind, first)  # a duplicate
    target.dispatchEvent(Event(kind))
    assert calls == [("first", target), ("function", target), ("second", target)], calls
    target.removeEventListener(kind, first)
    calls.clear()
    target.dispatchEvent(Event(kind))
    assert [name for name, _ in calls] == ["function", "second"], calls


def check_bad_listeners(target: EventTarget, kind: str) -> None:
    calls: list[str] = []
    target.addEventListener(kind, None)  # a null callback is ignored
    for bad in (5, "listener", object()):
        raises(
            TypeError, f"addEventListener({kind!r}, {bad!r})", target.addEventListener, kind, bad
        )
    target.addEventListener(kind, lambda e: calls.append("ok"))
    target.dispatchEvent(Event(kind))
    assert calls == ["ok"], calls


LISTENER_CHECKS = (
    check_listener_order,
    check_duplicates_ignored,
    check_once,
    check_once_removed_before_it_runs,
    check_remove,
    check_removed_during_dispatch,
    check_added_during_dispatch,
    check_handle_event_objects,
    check_bad_listeners,
)


@scenario
async def event_target_listener_list(servers: Servers) -> None:
    for check in LISTENER_CHECKS:
        check(EventTarget(), "x")


@scenario
async def websocket_listener_list(servers: Servers) -> None:
    ws = await target_socket(servers)
    try:
        for check in LISTENER_CHECKS:
            # A type of its own for each check: one socket holds them all.
            check(ws, check.__name__)
    finally:
        await finish(ws)


def check_raising_listener(target: EventTarget) -> None:
    calls: list[str] = []

    def failing(event: Event) -> None:
        calls.append("failing")
        raise ValueError("listener failure")

    target.addEventListener("x", failing)
    target.addEventListener("x", lambda e: calls.append("next"))
    with LogRecords() as log:
        result = target.dispatchEvent(Event("x"))
    assert result is True
    assert calls == ["failing", "next"], calls
    errors = [r for r in log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in log.records]
    exc_info = errors[0].exc_info
    assert exc_info is not None, "the exception was not logged"
    assert isinstance(exc_info[1], ValueError), exc_info


@scenario
async def raising_listener_is_reported_and_the_next_still_runs(servers: Servers) -> None:
    check_raising_listener(EventTarget())
    ws = await target_socket(servers)
    check_raising_listener(ws)
    await finish(ws)


@scenario
async def raising_handler_attribute_does_not_stop_listeners(servers: Servers) -> None:
    ws = await target_socket(servers)
    calls: list[str] = []

    def handler(event: Event) -> None:
        calls.append("handler")
        raise RuntimeError("handler failure")

    ws.onmessage = handler
    ws.addEventListener("message", lambda e: calls.append(f"listener:{e.data}"))
    received = asyncio.Event()
    ws.addEventListener("message", lambda e: received.set())
    with LogRecords() as log:
        ws.send("ping")
        await received.wait()
    assert calls == ["handler", "listener:ping"], calls
    assert any(
        r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in log.records
    ), [r.getMessage() for r in log.records]
    assert ws.readyState == WebSocket.OPEN, "a raising listener must not close the socket"
    await finish(ws)


async def check_coroutine_listener(target: EventTarget) -> None:
    steps: list[str] = []
    done = asyncio.Event()

    async def listener(event: Event) -> None:
        steps.append("coroutine started")
        await asyncio.sleep(0)
        steps.append(f"coroutine saw {event.type}")
        done.set()

    target.addEventListener("x", listener)
    target.addEventListener("x", lambda e: steps.append("next listener"))
    result = target.dispatchEvent(Event("x"))
    steps.append("dispatch returned")
    assert result is True
    await asyncio.wait_for(done.wait(), 1000 * MS)
    assert steps == [
        "next listener",
        "dispatch returned",
        "coroutine started",
        "coroutine saw x",
    ], steps


@scenario
async def coroutine_listener_runs_as_a_task(servers: Servers) -> None:
    await check_coroutine_listener(EventTarget())
    ws = await target_socket(servers)
    await check_coroutine_listener(ws)
    await finish(ws)


@scenario
async def coroutine_handler_attribute_runs_as_a_task(servers: Servers) -> None:
    ws = await target_socket(servers)
    received: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def on_message(event: MessageEvent) -> None:
        await asyncio.sleep(0)
        received.set_result(event.data)

    ws.onmessage = on_message
    assert ws.onmessage is on_message
    ws.send("from a coroutine handler")
    assert await asyncio.wait_for(received, 1000 * MS) == "from a coroutine handler"
    await finish(ws)


@scenario
async def failing_coroutine_listener_is_reported(servers: Servers) -> None:
    target = EventTarget()
    finished = asyncio.Event()

    async def listener(event: Event) -> None:
        try:
            await asyncio.sleep(0)
            raise KeyError("in a coroutine listener")
        finally:
            finished.set()

    target.addEventListener("x", listener)
    with LogRecords() as log:
        target.dispatchEvent(Event("x"))
        await asyncio.wait_for(finished.wait(), 1000 * MS)
        for _ in range(3):  # let the task's done callback run
            await asyncio.sleep(0)
    assert any(
        r.exc_info is not None and isinstance(r.exc_info[1], KeyError) for r in log.records
    ), [r.getMessage() for r in log.records]


@scenario
async def stop_immediate_propagation_stops_later_listeners(servers: Servers) -> None:
    target = EventTarget()
    calls: list[str] = []

    def stopper(event: Event) -> None:
        calls.append("stopper")
        event.stopImmediatePropagation()

    target.addEventListener("x", lambda e: calls.append("before"))
    target.addEventListener("x", stopper)
    target.addEventListener("x", lambda e: calls.append("after"))
    event = Event("x")
    assert target.dispatchEvent(event) is True
    assert calls == ["before", "stopper"], calls
    # A new event goes through the same listeners again.
    calls.clear()
    target.dispatchEvent(Event("x"))
    assert calls == ["before", "stopper"], calls


@scenario
async def prevent_default_cancels_only_cancelable_events(servers: Servers) -> None:
    target = EventTarget()
    seen: list[bool] = []

    def cancel(event: Event) -> None:
        event.preventDefault()
        seen.append(event.defaultPrevented)

    target.addEventListener("x", cancel)
    target.addEventListener("x", lambda e: seen.append(e.defaultPrevented))
    cancelable = Event("x", {"cancelable": True})
    assert target.dispatchEvent(cancelable) is False
    assert cancelable.defaultPrevented is True
    assert seen == [True, True], seen
    seen.clear()
    plain = Event("x")
    assert target.dispatchEvent(plain) is True
    assert plain.defaultPrevented is False
    assert seen == [False, False], seen
    # No listener: nothing cancels it.
    assert EventTarget().dispatchEvent(Event("x", {"cancelable": True})) is True


def check_dispatch_fields(target: EventTarget) -> None:
    during: list[tuple[object, object, int]] = []
    target.addEventListener("x", lambda e: during.append((e.target, e.currentTarget, e.eventPhase)))
    event = Event("x")
    target.dispatchEvent(event)
    assert during == [(target, target, 2)], during
    assert event.target is target, "target stays after dispatch"
    assert event.currentTarget is None, event.currentTarget
    assert event.eventPhase == 0, event.eventPhase


@scenario
async def dispatch_sets_target_current_target_and_phase(servers: Servers) -> None:
    check_dispatch_fields(EventTarget())
    ws = await target_socket(servers)
    check_dispatch_fields(ws)
    await finish(ws)


@scenario
async def redispatch_inside_listener_is_invalid_state_error(servers: Servers) -> None:
    target = EventTarget()
    errors: list[BaseException] = []

    def listener(event: Event) -> None:
        try:
            target.dispatchEvent(event)
        except Exception as exc:
            errors.append(exc)

    target.addEventListener("x", listener)
    event = Event("x")
    target.dispatchEvent(event)
    assert len(errors) == 1, errors
    error = errors[0]
    assert isinstance(error, DOMException), repr(error)
    assert (error.name, error.code) == ("InvalidStateError", 11), error
    # Once the dispatch is over the same event can be dispatched again.
    errors.clear()
    calls: list[str] = []
    other = EventTarget()
    other.addEventListener("x", lambda e: calls.append("other"))
    assert other.dispatchEvent(event) is True
    assert calls == ["other"]
    assert event.target is other


@scenario
async def dispatch_of_non_event_is_type_error(servers: Servers) -> None:
    target = EventTarget()
    for bad in ("x", None, {"type": "x"}, 5, object()):
        raises(TypeError, f"dispatchEvent({bad!r})", target.dispatchEvent, bad)
    raises(TypeError, "addEventListener(5, f)", target.addEventListener, 5, lambda e: None)


@scenario
async def is_trusted_only_for_network_events(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    opened: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
    ws.onopen = lambda event: opened.set_result(event)
    seen: list[bool] = []
    ws.addEventListener("open", lambda event: seen.append(event.isTrusted))
    network_open = await opened
    assert network_open.isTrusted is True
    assert isinstance(ws, EventTarget)
    assert network_open.target is ws
    assert (network_open.bubbles, network_open.cancelable) == (False, False)
    assert network_open.currentTarget is None, "currentTarget is reset after dispatch"
    assert seen == [True], seen
    # The same kind of event, dispatched by the program: not trusted.
    ws.onopen = None
    synthetic = Event("open")
    ws.dispatchEvent(synthetic)
    assert synthetic.isTrusted is False
    assert seen == [True, False], seen
    # Re-dispatching a network event makes it untrusted (DOM dispatchEvent step 2).
    EventTarget().dispatchEvent(network_open)
    assert network_open.isTrusted is False
    # A synthetic close event does not close the socket.
    ws.dispatchEvent(CloseEvent("close", code=1000, wasClean=True))
    assert ws.readyState == WebSocket.OPEN
    await finish(ws)


# Event handler attributes.


@scenario
async def event_handler_attributes_default_none(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    for name in ("onopen", "onmessage", "onerror", "onclose"):
        assert getattr(ws, name) is None, f"{name} is {getattr(ws, name)!r}"

    def handler(event: Event) -> None:
        pass

    for name in ("onopen", "onmessage", "onerror", "onclose"):
        setattr(ws, name, handler)
        assert getattr(ws, name) is handler, name
        setattr(ws, name, None)
        assert getattr(ws, name) is None, name
    # Each attribute is per socket.
    other = WebSocket(servers.url("/echo"))
    ws.onmessage = handler
    assert other.onmessage is None
    for socket in (ws, other):
        socket.close()
        await socket.wait_closed()


@scenario
async def event_handler_keeps_its_place_in_listener_order(servers: Servers) -> None:
    ws = await target_socket(servers)
    calls: list[str] = []

    def h1(event: Event) -> None:
        calls.append("H1")

    def h2(event: Event) -> None:
        calls.append("H2")

    ws.addEventListener("message", lambda e: calls.append("L1"))
    ws.onmessage = h1
    ws.addEventListener("message", lambda e: calls.append("L2"))
    ws.onmessage = h2
    assert ws.onmessage is h2
    ws.dispatchEvent(MessageEvent("message", data="synthetic"))
    assert calls == ["L1", "H2", "L2"], calls
    # None removes it; set again, it goes to the end.
    ws.onmessage = None
    calls.clear()
    ws.dispatchEvent(MessageEvent("message"))
    assert calls == ["L1", "L2"], calls
    ws.onmessage = h1
    calls.clear()
    ws.dispatchEvent(MessageEvent("message"))
    assert calls == ["L1", "L2", "H1"], calls
    # The same order for a message from the network.
    received = asyncio.Event()
    ws.addEventListener("message", lambda e: received.set())
    calls.clear()
    ws.send("echo")
    await received.wait()
    assert calls == ["L1", "L2", "H1"], calls
    await finish(ws)


@scenario
async def event_handler_is_not_a_listener_registration(servers: Servers) -> None:
    ws = await target_socket(servers)
    calls: list[str] = []

    def handler(event: Event) -> None:
        calls.append("handler")

    ws.onmessage = handler
    ws.addEventListener("message", handler)  # a separate registration
    ws.dispatchEvent(MessageEvent("message"))
    assert calls == ["handler", "handler"], calls
    ws.removeEventListener("message", handler)  # removes only the listener
    calls.clear()
    ws.dispatchEvent(MessageEvent("message"))
    assert calls == ["handler"], calls
    assert ws.onmessage is handler
    await finish(ws)


@scenario
async def event_handler_non_callable_is_type_error(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))

    def handler(event: Event) -> None:
        pass

    ws.onclose = handler
    for name in ("onopen", "onmessage", "onerror", "onclose"):
        for bad in (5, "x", b"f", [handler]):
            raises(TypeError, f"ws.{name} = {bad!r}", setattr, ws, name, bad)
    assert ws.onclose is handler, "a rejected value replaced the handler"
    assert ws.onopen is None
    ws.close()
    await ws.wait_closed()


# Events from the network.


class _ListenersFirst(EventTarget):
    """Listeners that are there before the ``WebSocket`` starts connecting.

    ``ObservedWebSocket`` puts this class between ``WebSocket`` and
    ``EventTarget`` in its method resolution order, so ``WebSocket.__init__``'s
    ``super().__init__()`` runs this ``__init__``, which adds the listeners,
    before the constructor's own steps (the last of which starts the
    connection). A subclass is what a program (or a JavaScript ``class
    extends WebSocket``) can write; the standard's constructor never fires
    an event itself, it queues tasks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.constructing = True
        self.log: list[tuple[str, bool]] = []  # (event, fired inside the constructor)
        # The WebSocket's own steps have not run yet: it has no url.
        try:
            getattr(self, "url")  # noqa: B009 (the property may raise)
        except AttributeError:
            self.listening_before_the_constructor = True
        else:
            self.listening_before_the_constructor = False
        for kind in ("open", "message", "error", "close"):
            self.addEventListener(kind, self._record)

    def _record(self, event: Event) -> None:
        name = f"message {event.data}" if isinstance(event, MessageEvent) else event.type
        self.log.append((name, self.constructing))


class ObservedWebSocket(WebSocket, _ListenersFirst):
    """A ``WebSocket`` whose events are recorded from the start of its constructor."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.constructing = False


@scenario
async def no_event_is_dispatched_inside_the_constructor(servers: Servers) -> None:
    # Constructor step 11: "Run this step in parallel: establish a WebSocket
    # connection"; every event comes from a task queued later. Whether the
    # connection opens, fails at once (nothing listens) or closes right away.
    cases = (
        (servers.url("/count", n=1, close=4000), ["open", "message 0", "close"]),
        (servers.refused, ["error", "close"]),
        (servers.url("/reject", status=403), ["error", "close"]),
    )
    for url, expected in cases:
        ws = ObservedWebSocket(url)
        assert ws.listening_before_the_constructor, "the listeners came after the constructor"
        inside = [name for name, constructing in ws.log if constructing]
        assert inside == [], f"{url}: events dispatched inside the constructor: {inside}"
        await ws.wait_closed()
        assert [name for name, _ in ws.log] == expected, (url, ws.log)


@scenario
async def network_events_are_dispatched_asynchronously_in_order(servers: Servers) -> None:
    ws = WebSocket(servers.url("/count", n=3))
    log: list[str] = []
    inside: list[str] = []  # the call in progress, if any

    def record(event: Event) -> None:
        where = f" inside {inside[-1]}" if inside else ""
        if isinstance(event, MessageEvent):
            log.append(f"message {event.data}{where}")
            if event.data == "2":
                inside.append("close()")
                ws.close(1000)
                inside.pop()
        else:
            log.append(f"{event.type}{where}")

    for kind in ("open", "message", "error", "close"):
        ws.addEventListener(kind, record)
    event = await ws.wait_closed()
    assert log == ["open", "message 0", "message 1", "message 2", "close"], log
    assert (event.code, event.wasClean) == (1000, True), event


@scenario
async def echo_is_never_dispatched_inside_send(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    log: list[str] = []
    in_send = False

    def on_open(event: Event) -> None:
        nonlocal in_send
        log.append("open")
        in_send = True
        ws.send("one")
        ws.send("two")
        in_send = False

    def on_message(event: MessageEvent) -> None:
        log.append(f"message {event.data}" + (" inside send()" if in_send else ""))
        if event.data == "two":
            ws.close()

    ws.onopen = on_open
    ws.onmessage = on_message
    ws.onclose = lambda event: log.append("close")
    await ws.wait_closed()
    assert log == ["open", "message one", "message two", "close"], log


@scenario
async def handler_attribute_set_before_open_receives_open(servers: Servers) -> None:
    # Events are queued: a handler set right after the constructor gets them.
    ws = WebSocket(servers.url("/echo"))
    got: list[Any] = []
    ws.onopen = lambda event: got.append((event.type, event.target is ws, event.isTrusted))
    await ws.wait_open()
    assert got == [("open", True, True)], got
    await finish(ws)
