"""The DOM event model's less travelled rules, on a plain ``EventTarget``
(the shared code of every runtime; the scenarios of ``tests/scenarios/events.py``
run the common ones in every runtime).

The DOM Standard is the reference: "inner invoke" (passive listeners, the
stop flags, exceptions), the legacy ``srcElement``, ``composedPath()``, and
HTML's event handler attributes.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Callable

import pytest

from pyws_shim import CloseEvent, Event, EventTarget, MessageEvent, WebSocket
from pyws_shim.events import EventHandler

# Passive listeners: DOM "inner invoke" sets the event's "in passive listener
# flag" around a passive listener's call, and preventDefault() does nothing
# while it is set ("set the canceled flag": "If event's cancelable attribute
# value is true and event's in passive listener flag is unset, then set
# event's canceled flag").


def test_prevent_default_in_a_passive_listener_does_nothing() -> None:
    target = EventTarget()
    seen: list[tuple[str, bool]] = []

    def passive(event: Event) -> None:
        event.preventDefault()
        seen.append(("passive", event.defaultPrevented))

    target.addEventListener("x", passive, {"passive": True})
    event = Event("x", cancelable=True)
    assert target.dispatchEvent(event) is True
    assert event.defaultPrevented is False
    assert seen == [("passive", False)]


def test_the_passive_flag_is_cleared_for_the_next_listener() -> None:
    target = EventTarget()
    seen: list[tuple[str, bool]] = []

    def cancel(name: str) -> Callable[[Event], None]:
        def listener(event: Event) -> None:
            event.preventDefault()
            seen.append((name, event.defaultPrevented))

        return listener

    target.addEventListener("x", cancel("passive"), {"passive": True})
    target.addEventListener("x", cancel("active"))
    event = Event("x", cancelable=True)
    assert target.dispatchEvent(event) is False
    assert event.defaultPrevented is True
    assert seen == [("passive", False), ("active", True)]


def test_a_passive_listener_still_sees_an_earlier_cancellation() -> None:
    target = EventTarget()
    seen: list[bool] = []
    target.addEventListener("x", lambda event: event.preventDefault())
    target.addEventListener(
        "x", lambda event: seen.append(event.defaultPrevented), {"passive": True}
    )
    assert target.dispatchEvent(Event("x", cancelable=True)) is False
    assert seen == [True]


def test_a_passive_once_listener_is_removed_after_its_call() -> None:
    target = EventTarget()
    seen: list[bool] = []

    def passive(event: Event) -> None:
        event.preventDefault()
        seen.append(event.defaultPrevented)

    target.addEventListener("x", passive, {"passive": True, "once": True})
    assert target.dispatchEvent(Event("x", cancelable=True)) is True
    assert target.dispatchEvent(Event("x", cancelable=True)) is True
    assert seen == [False]


# The stop flags.


def test_stop_propagation_does_not_stop_the_other_listeners_of_the_target() -> None:
    # There is no path beyond the target here: "stop propagation" keeps the
    # event from other targets, and every listener of this one still runs
    # (only stopImmediatePropagation() stops them).
    target = EventTarget()
    calls: list[str] = []

    def stopper(event: Event) -> None:
        calls.append("stopper")
        event.stopPropagation()

    target.addEventListener("x", stopper)
    target.addEventListener("x", lambda event: calls.append("next"))
    assert target.dispatchEvent(Event("x")) is True
    assert calls == ["stopper", "next"]


# The exceptions that are not reported: they stop the program, as from any
# asyncio callback.


@pytest.mark.parametrize("kind", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_leave_dispatch(kind: type[BaseException]) -> None:
    target = EventTarget()
    calls: list[str] = []

    def interrupted(event: Event) -> None:
        raise kind

    target.addEventListener("x", interrupted)
    target.addEventListener("x", lambda event: calls.append("next"))
    event = Event("x")
    with pytest.raises(kind):
        target.dispatchEvent(event)
    assert calls == []
    # The event is not left mid-dispatch: it can be dispatched again.
    assert event.eventPhase == Event.NONE
    assert event.currentTarget is None
    target.removeEventListener("x", interrupted)
    assert target.dispatchEvent(event) is True
    assert calls == ["next"]


# A listener that returns a coroutine has it run as a task on the running loop;
# with no running loop it can never run.


def test_coroutine_listener_without_a_running_loop_is_closed_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = EventTarget()
    ran: list[str] = []

    async def listener(event: Event) -> None:
        ran.append(event.type)

    target.addEventListener("x", listener)
    target.addEventListener("x", lambda event: ran.append("next"))
    with (
        caplog.at_level(logging.ERROR, logger="pyws_shim"),
        warnings.catch_warnings(),
    ):
        # A coroutine that is never awaited warns when it is collected unless it
        # was closed: any such warning fails here.
        warnings.simplefilter("error", RuntimeWarning)
        assert target.dispatchEvent(Event("x")) is True
        gc.collect()
    assert ran == ["next"]
    (record,) = caplog.records
    assert record.name == "pyws_shim"
    assert record.getMessage() == (
        "A 'x' event listener returned a coroutine, but no event loop is running; it was not run"
    )


# Event's legacy and composed-tree members.


def test_src_element_composed_and_composed_path() -> None:
    target = EventTarget()
    during: list[tuple[object, list[EventTarget]]] = []
    target.addEventListener(
        "x", lambda event: during.append((event.srcElement, event.composedPath()))
    )
    event = Event("x", composed=True)
    assert event.composed is True
    assert Event("x").composed is False
    assert event.srcElement is None
    assert event.composedPath() == []
    target.dispatchEvent(event)
    # During dispatch the path is the target alone; after it, empty; the
    # target (and so srcElement, its legacy alias) stays.
    assert during == [(target, [target])]
    assert event.composedPath() == []
    assert event.srcElement is target


def test_message_event_source_ports_and_repr() -> None:
    ports = [object(), object()]
    source = object()
    event = MessageEvent("message", data="x" * 100, source=source, ports=ports, lastEventId="7")
    assert event.source is source
    assert event.ports == tuple(ports)
    assert event.lastEventId == "7"
    # The defaults, when none of them is given.
    plain = MessageEvent("message", data=b"\x00")
    assert (plain.source, plain.ports, plain.lastEventId) == (None, (), "")
    # repr shows the data, cut to 60 characters.
    assert repr(plain) == "<MessageEvent type='message' data=b'\\x00'>"
    assert repr(event) == f"<MessageEvent type='message' data='{'x' * 56}...>"
    assert len(repr(event).partition("data=")[2]) == 61  # 60, and the closing ">"


def test_close_event_repr() -> None:
    event = CloseEvent("close", code=4000, reason="bye", wasClean=True)
    assert repr(event) == "<CloseEvent type='close' code=4000 reason='bye' wasClean=True>"
    assert repr(Event("open")) == "<Event type='open'>"


# HTML's event handler attributes.


def test_an_event_handler_attribute_read_on_the_class_is_its_descriptor() -> None:
    handler = WebSocket.onmessage
    assert isinstance(handler, EventHandler)
    assert (handler.type, handler.name) == ("message", "onmessage")


class Target(EventTarget):
    """An event target with an event handler attribute, as WebSocket has four."""

    onopen = EventHandler["Target"]("open")


def test_setting_an_unset_event_handler_to_none_changes_nothing() -> None:
    target = Target()
    calls: list[str] = []
    target.addEventListener("open", lambda event: calls.append("listener"))
    target.onopen = None
    assert target.onopen is None
    target.dispatchEvent(Event("open"))
    assert calls == ["listener"]
    target.onopen = lambda event: calls.append("handler")
    target.dispatchEvent(Event("open"))
    assert calls == ["listener", "listener", "handler"]
