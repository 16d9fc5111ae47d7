"""The DOM event model: ``Event``, ``MessageEvent``, ``CloseEvent`` and an
``EventTarget`` with event handler attributes (``onopen`` and so on).

Both backends dispatch through this module, so listener order, ``once``,
removal during dispatch and error isolation behave the same everywhere.
References are the DOM Standard (https://dom.spec.whatwg.org/) and HTML's
"event handlers" section.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from types import CoroutineType
from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload, runtime_checkable

from .exceptions import DOMException

__all__ = [
    "CloseEvent",
    "Event",
    "EventHandler",
    "EventListener",
    "EventTarget",
    "MessageEvent",
]

logger = logging.getLogger("pyws_shim")

# The "time origin" that timeStamp is relative to, in milliseconds.
_monotonic = time.monotonic
_TIME_ORIGIN = _monotonic()


# An event's flags (DOM "Event" concept: its flags, and its three init members),
# kept in one int so that an event costs few stores to make (one per message).
_BUBBLES = 0x1
_CANCELABLE = 0x2
_COMPOSED = 0x4
_TRUSTED = 0x8  # "isTrusted"
_CANCELED = 0x10  # "canceled flag"
_DISPATCHING = 0x20  # "dispatch flag"
_STOP = 0x40  # "stop propagation flag"
_STOP_IMMEDIATE = 0x80  # "stop immediate propagation flag"
_IN_PASSIVE_LISTENER = 0x100  # "in passive listener flag"
_DISPATCH_STATE = _DISPATCHING | _STOP | _STOP_IMMEDIATE | _IN_PASSIVE_LISTENER


def _init_dict(
    name: str, init: Mapping[str, Any] | None, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    if init is None:
        merged: dict[str, Any] = {}
    elif isinstance(init, Mapping):
        merged = dict(init)
    else:
        raise TypeError(f"{name}(): the init argument must be a mapping, not {type(init).__name__}")
    merged.update(kwargs)
    return merged


def _bool_member(init: Mapping[str, Any], key: str) -> bool:
    return bool(init.get(key, False))


class Event:
    """``Event(type, eventInitDict=None, **init)``: the DOM ``Event``.

    ``eventInitDict`` (or keyword arguments) may hold ``bubbles``,
    ``cancelable`` and ``composed``; unknown members are ignored, as WebIDL
    dictionaries ignore them.
    """

    NONE: ClassVar[int] = 0
    CAPTURING_PHASE: ClassVar[int] = 1
    AT_TARGET: ClassVar[int] = 2
    BUBBLING_PHASE: ClassVar[int] = 3

    __slots__ = ("_current_target", "_flags", "_phase", "_target", "_time_stamp", "_type")

    def __init__(
        self,
        type: str,
        eventInitDict: Mapping[str, Any] | None = None,
        /,
        **init: Any,
    ) -> None:
        if not isinstance(type, str):
            raise TypeError(
                f"{self.__class__.__name__}(): type must be a str, not {type.__class__.__name__}"
            )
        members = _init_dict(self.__class__.__name__, eventInitDict, init)
        self._type = type
        self._flags = (
            (_BUBBLES if _bool_member(members, "bubbles") else 0)
            | (_CANCELABLE if _bool_member(members, "cancelable") else 0)
            | (_COMPOSED if _bool_member(members, "composed") else 0)
        )
        self._target: EventTarget | None = None
        self._current_target: EventTarget | None = None
        self._phase = Event.NONE
        self._time_stamp = _monotonic()  # in seconds; timeStamp converts it
        self._init_members(members)

    def _init_members(self, members: Mapping[str, Any]) -> None:
        """Subclasses read their own init members here."""

    @property
    def type(self) -> str:
        return self._type

    @property
    def target(self) -> EventTarget | None:
        return self._target

    @property
    def srcElement(self) -> EventTarget | None:
        return self._target

    @property
    def currentTarget(self) -> EventTarget | None:
        return self._current_target

    @property
    def eventPhase(self) -> int:
        return self._phase

    @property
    def bubbles(self) -> bool:
        return bool(self._flags & _BUBBLES)

    @property
    def cancelable(self) -> bool:
        return bool(self._flags & _CANCELABLE)

    @property
    def composed(self) -> bool:
        return bool(self._flags & _COMPOSED)

    @property
    def defaultPrevented(self) -> bool:
        return bool(self._flags & _CANCELED)

    @property
    def isTrusted(self) -> bool:
        return bool(self._flags & _TRUSTED)

    @property
    def timeStamp(self) -> float:
        """Milliseconds since the time origin (the import of pyws_shim)."""
        return (self._time_stamp - _TIME_ORIGIN) * 1000.0

    def composedPath(self) -> list[EventTarget]:
        return [] if self._current_target is None else [self._current_target]

    def preventDefault(self) -> None:
        # DOM "set the canceled flag": only for cancelable events, outside passive listeners.
        if self._flags & (_CANCELABLE | _IN_PASSIVE_LISTENER) == _CANCELABLE:
            self._flags |= _CANCELED

    def stopPropagation(self) -> None:
        self._flags |= _STOP

    def stopImmediatePropagation(self) -> None:
        self._flags |= _STOP | _STOP_IMMEDIATE

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} type={self._type!r}>"


class MessageEvent(Event):
    """``MessageEvent(type, eventInitDict=None, **init)``: ``data``,
    ``origin``, ``lastEventId``, ``source`` and ``ports``."""

    __slots__ = ("_data", "_extra", "_origin")

    def _init_members(self, members: Mapping[str, Any]) -> None:
        self._data: Any = members.get("data")
        self._origin = str(members.get("origin", ""))
        last_event_id = str(members.get("lastEventId", ""))
        source = members.get("source")
        ports = _ports(members.get("ports", ()))
        # lastEventId, source and ports; None while they have their defaults.
        self._extra: tuple[str, Any, tuple[Any, ...]] | None = (
            None
            if not last_event_id and source is None and not ports
            else (last_event_id, source, ports)
        )

    @property
    def data(self) -> Any:
        return self._data

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def lastEventId(self) -> str:
        return "" if self._extra is None else self._extra[0]

    @property
    def source(self) -> Any:
        return None if self._extra is None else self._extra[1]

    @property
    def ports(self) -> tuple[Any, ...]:
        return () if self._extra is None else self._extra[2]

    def __repr__(self) -> str:
        data = repr(self._data)
        if len(data) > 60:
            data = data[:57] + "..."
        return f"<MessageEvent type={self._type!r} data={data}>"


_new_message_event = object.__new__


def _ports(value: object) -> tuple[Any, ...]:
    # WebIDL sequence<MessagePort>: an iterable (not a string), as a tuple.
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Iterable):
        raise TypeError(f"MessageEvent(): ports must be a sequence, not {type(value).__name__}")
    return tuple(value)


class CloseEvent(Event):
    """``CloseEvent(type, eventInitDict=None, **init)``: ``wasClean``,
    ``code`` and ``reason``."""

    __slots__ = ("_code", "_reason", "_was_clean")

    def _init_members(self, members: Mapping[str, Any]) -> None:
        self._was_clean = bool(members.get("wasClean", False))
        code = members.get("code", 0)
        if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 0xFFFF:
            raise TypeError(f"CloseEvent(): code must be an int from 0 to 65535, not {code!r}")
        self._code: int = code
        self._reason = str(members.get("reason", ""))

    @property
    def wasClean(self) -> bool:
        return self._was_clean

    @property
    def code(self) -> int:
        return self._code

    @property
    def reason(self) -> str:
        return self._reason

    def __repr__(self) -> str:
        return (
            f"<CloseEvent type={self._type!r} code={self._code} "
            f"reason={self._reason!r} wasClean={self._was_clean}>"
        )


@runtime_checkable
class EventListener(Protocol):
    """The DOM's callback interface: an object with ``handleEvent(event)``."""

    def handleEvent(self, event: Any, /) -> Any: ...


_Callback = Callable[[Any], Any] | EventListener


class _Listener:
    """One entry of an event listener list (DOM "event listener")."""

    __slots__ = ("callback", "capture", "once", "passive", "removed")

    def __init__(self, callback: Any, capture: bool, once: bool, passive: bool) -> None:
        self.callback = callback
        self.capture = capture
        self.once = once
        self.passive = passive
        self.removed = False


def _flatten_options(options: object, method: str) -> tuple[bool, bool, bool]:
    """DOM "flatten more": (capture, once, passive) from a bool or a mapping."""
    if options is None:
        return False, False, False
    if isinstance(options, bool):
        return options, False, False
    if isinstance(options, Mapping):
        return (
            bool(options.get("capture", False)),
            bool(options.get("once", False)),
            bool(options.get("passive", False)),
        )
    raise TypeError(
        f"{method}(): options must be a bool or a mapping, not {type(options).__name__}"
    )


# Strong references to the tasks of coroutine listeners, so that they are not
# garbage-collected while they run (asyncio keeps only weak references).
_listener_tasks: set[asyncio.Task[Any]] = set()


def _report_exception(event: Event, exc: BaseException) -> None:
    # DOM "inner invoke", step "report the exception": the listener failed,
    # the other listeners still run.
    logger.error(
        "Uncaught exception in a %r event listener of %r",
        event.type,
        event.currentTarget,
        exc_info=(type(exc), exc, exc.__traceback__),
    )


def _task_done(task: asyncio.Task[Any]) -> None:
    _listener_tasks.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error(
            "Uncaught exception in a coroutine event listener (%s)",
            task.get_name(),
            exc_info=(type(exc), exc, exc.__traceback__),
        )


def _schedule(coroutine: Any, event: Event) -> None:
    """A listener returned a coroutine: run it as a task on the running loop."""
    try:
        task = asyncio.get_running_loop().create_task(coroutine, name=f"{event.type} listener")
    except RuntimeError:  # no running loop: the coroutine can never run
        coroutine.close()
        logger.error(
            "A %r event listener returned a coroutine, but no event loop is running; "
            "it was not run",
            event.type,
        )
        return
    _listener_tasks.add(task)
    task.add_done_callback(_task_done)


class EventTarget:
    """The DOM ``EventTarget``: ``addEventListener``, ``removeEventListener``
    and ``dispatchEvent``.

    Listeners run in the order they were added. Each one is isolated: an
    exception is logged on the ``"pyws_shim"`` logger and the next listener
    still runs. A listener that returns a coroutine has it scheduled as a
    task on the running event loop.
    """

    def __init__(self) -> None:
        self._listeners: dict[str, list[_Listener]] = {}
        # Event handler attributes: type -> (its listener entry, its value).
        self._handlers: dict[str, _Listener] = {}

    def addEventListener(
        self,
        type: str,
        listener: _Callback | None,
        options: bool | Mapping[str, Any] | None = None,
    ) -> None:
        # WebIDL converts the arguments in order: type, callback, options.
        _check_type_and_listener(type, listener, "addEventListener")
        capture, once, passive = _flatten_options(options, "addEventListener")
        # DOM "add an event listener", step 2: "If listener's callback is null, then return."
        if listener is None:
            return
        # Step 4: only if the list does not contain one with the same type,
        # callback and capture.
        for entry in self._listeners.get(type, ()):
            if entry.callback == listener and entry.capture == capture:
                return
        self._append_entry(type, _Listener(listener, capture, once, passive))

    def _append_entry(self, type: str, entry: _Listener) -> None:
        # A new list: a dispatch in progress iterates over the old one, so a
        # listener added during dispatch is not called by it (DOM "inner invoke"
        # walks a clone of the list).
        self._listeners[type] = [*self._listeners.get(type, ()), entry]

    def removeEventListener(
        self,
        type: str,
        listener: _Callback | None,
        options: bool | Mapping[str, Any] | None = None,
    ) -> None:
        _check_type_and_listener(type, listener, "removeEventListener")
        capture = _flatten_options(options, "removeEventListener")[0]
        entries = self._listeners.get(type)
        if not entries or listener is None:
            return
        for entry in entries:
            if entry.callback == listener and entry.capture == capture:
                self._remove_entry(type, entry)
                return

    def _remove_entry(self, type: str, entry: _Listener) -> None:
        # DOM "remove an event listener": set its removed flag (so that a
        # dispatch in progress skips it) and take it out of the list.
        entry.removed = True
        entries = self._listeners.get(type)
        if entries is not None:
            # A new list: a dispatch in progress iterates over the old one.
            self._listeners[type] = [e for e in entries if e is not entry]

    def _has_other_listener(self, type: str, callback: object) -> bool:
        """Whether a listener other than ``callback`` is registered for ``type``."""
        return any(entry.callback != callback for entry in self._listeners.get(type, ()))

    def dispatchEvent(self, event: Event) -> bool:
        """Dispatch ``event`` to this target's listeners now; return
        ``False`` if a listener canceled it, else ``True``."""
        if not isinstance(event, Event):
            raise TypeError(f"dispatchEvent(): event must be an Event, not {type(event).__name__}")
        # DOM dispatchEvent() step 1: "If event's dispatch flag is set, or if
        # its initialized flag is not set, then throw an InvalidStateError."
        if event._flags & _DISPATCHING:
            raise DOMException("The event is already being dispatched.", "InvalidStateError")
        event._flags &= ~_TRUSTED
        return self._dispatch(event)

    def _dispatch(self, event: Event) -> bool:
        """DOM "dispatch" for a target with no parent: the AT_TARGET phase."""
        event._flags |= _DISPATCHING
        event._target = self
        event._current_target = self
        event._phase = Event.AT_TARGET
        try:
            entries = self._listeners.get(event._type)
            if entries:
                # "inner invoke" walks a clone of the list, skipping removed entries.
                for entry in entries:
                    if entry.removed:
                        continue
                    if entry.once:
                        self._remove_entry(event._type, entry)
                    if entry.passive:
                        event._flags |= _IN_PASSIVE_LISTENER
                    callback = entry.callback
                    if type(callback) is _HandlerCallback:
                        _call_listener(callback.value, event)
                    elif callable(callback):
                        _call_listener(callback, event)
                    else:
                        _call_listener(callback.handleEvent, event)
                    if event._flags & _STOP_IMMEDIATE:
                        break
                    if entry.passive:
                        event._flags &= ~_IN_PASSIVE_LISTENER
        finally:
            event._phase = Event.NONE
            event._current_target = None
            event._flags &= ~_DISPATCH_STATE
        return not event._flags & _CANCELED

    def _fire(self, event: Event) -> None:
        """Fire an event that the user agent made (``isTrusted`` is true)."""
        event._flags |= _TRUSTED
        self._dispatch(event)

    def _fire_message(self, data: Any, origin: str) -> None:
        """Fire a ``message`` event from the network: what :meth:`_fire` does
        with a new :class:`MessageEvent`, in fewer steps, since it runs once
        per message. With one listener, the handler attribute (the usual
        ``onmessage``), the DOM's dispatch comes down to the steps below."""
        event: MessageEvent = _new_message_event(MessageEvent)
        event._type = "message"
        event._time_stamp = _monotonic()
        event._data = data
        event._origin = origin
        event._extra = None
        entries = self._listeners.get("message")
        if entries is not None and len(entries) == 1:
            entry = entries[0]
            callback = entry.callback
            if type(callback) is _HandlerCallback and not entry.once and not entry.passive:
                event._flags = _TRUSTED | _DISPATCHING
                event._target = self
                event._current_target = self
                event._phase = Event.AT_TARGET
                _call_listener(callback.value, event)
                event._phase = Event.NONE
                event._current_target = None
                event._flags &= ~_DISPATCH_STATE
                return
        event._flags = _TRUSTED
        event._target = None
        event._current_target = None
        event._phase = Event.NONE
        self._dispatch(event)


def _call_listener(function: Callable[[Any], Any], event: Event) -> None:
    """The DOM's "call a user object's operation" for one listener: a
    coroutine it returns runs as a task; what it raises is reported and
    goes no further."""
    try:
        result = function(event)
        if result is not None and isinstance(result, CoroutineType):
            _schedule(result, event)
    except (KeyboardInterrupt, SystemExit):
        # As from any asyncio callback: they stop the program.
        raise
    except BaseException as exc:
        # asyncio.CancelledError included: one listener's exception never
        # reaches the others or the backend.
        _report_exception(event, exc)


def _check_type_and_listener(type: object, listener: object, method: str) -> None:
    """The first two arguments of ``addEventListener`` and ``removeEventListener``:
    a ``str``, and ``None`` or a callable (or an object with ``handleEvent``)."""
    if not isinstance(type, str):
        raise TypeError(f"{method}(): type must be a str, not {type.__class__.__name__}")
    if listener is not None:
        _check_listener(listener, method)


def _check_listener(listener: object, method: str) -> None:
    if not callable(listener) and not isinstance(listener, EventListener):
        raise TypeError(
            f"{method}(): listener must be callable or have a handleEvent method, "
            f"not {type(listener).__name__}"
        )


_T = TypeVar("_T", bound=EventTarget)


class EventHandler(Generic[_T]):
    """An event handler attribute (``onopen``, ``onmessage`` ...).

    HTML "event handlers": the first time one is set to a callable, a
    listener is appended to the list; setting another callable keeps that
    listener's place; setting ``None`` removes it (setting a callable again
    later appends a new one, at the end).
    """

    def __init__(self, type: str) -> None:
        self.type = type
        self.name = "on" + type

    def __set_name__(self, owner: type[_T], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type[_T]) -> EventHandler[_T]: ...
    @overload
    def __get__(self, instance: _T, owner: type[_T]) -> Callable[[Any], Any] | None: ...
    def __get__(
        self, instance: _T | None, owner: type[_T]
    ) -> EventHandler[_T] | Callable[[Any], Any] | None:
        if instance is None:
            return self
        entry = instance._handlers.get(self.type)
        return None if entry is None else entry.callback.value

    def __set__(self, instance: _T, value: Callable[[Any], Any] | None) -> None:
        entry = instance._handlers.get(self.type)
        if value is None:
            if entry is not None:
                del instance._handlers[self.type]
                instance._remove_entry(self.type, entry)
            return
        if not callable(value):
            raise TypeError(f"{self.name} must be callable or None, not {type(value).__name__}")
        if entry is not None:
            entry.callback.value = value
            return
        entry = _Listener(_HandlerCallback(value), False, False, False)
        instance._handlers[self.type] = entry
        instance._append_entry(self.type, entry)


class _HandlerCallback:
    """The listener callback of an event handler attribute: it calls
    whatever the attribute holds when the event arrives."""

    __slots__ = ("value",)

    def __init__(self, value: Callable[[Any], Any]) -> None:
        self.value = value

    def __call__(self, event: Any) -> Any:
        return self.value(event)
