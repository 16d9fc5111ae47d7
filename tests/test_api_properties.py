"""Property tests of the public API with wrong types and values (hypothesis).

Every public call, given arguments of the wrong type or value, raises a
``DOMException``, a ``TypeError`` or a ``ValueError`` whose message names
the argument, and never another exception; a wrong type is a ``TypeError``.
An OPEN socket on the loopback echo server is the target of the socket's
calls, and it still works after each example (a message sent comes back).

Which values are wrong comes from a small model per argument, written here
from the API contract (the README's "The API"), not from the code under test.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenarios import Servers

from pyws_shim import Blob, CloseEvent, DOMException, Event, EventTarget, MessageEvent, WebSocket

SETTINGS = settings(max_examples=150, deadline=None)


class _Opaque:
    """An object of a type no argument takes."""

    def __repr__(self) -> str:
        return "<opaque>"


class _HandleEvent:
    def handleEvent(self, event: Any) -> None:
        pass


# Values of every kind, for arguments given the wrong thing.
ANYTHING: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**60, max_value=2**3000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.builds(bytearray, st.binary(max_size=5)),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.text(max_size=3), st.text(max_size=3)),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.frozensets(st.integers(), max_size=2),
    st.builds(_Opaque),
    st.builds(_HandleEvent),
    st.sampled_from([print, len, Blob, Event("x"), Blob([b"x"]), ..., NotImplemented, type]),
)
ALLOWED = (DOMException, TypeError, ValueError)


def raises_naming(call: Callable[[], object], *words: str, wrong_type: bool) -> BaseException:
    """``call()`` raises DOMException, TypeError or ValueError (a TypeError
    when ``wrong_type``) whose message names each of ``words``; any other
    exception goes through and fails the test."""
    with pytest.raises(ALLOWED) as info:
        call()
    exc = info.value
    if wrong_type:
        assert isinstance(exc, TypeError), f"a wrong type gave {type(exc).__name__}: {exc}"
    text = str(exc).lower()
    for word in words:
        assert word.lower() in text, f"{type(exc).__name__}({str(exc)!r}) does not name {word!r}"
    return exc


# The open socket the calls are made on.


class OpenSocket:
    """An OPEN socket on the echo server, driven on a loop of its own."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.loop = asyncio.new_event_loop()
        self.ws = self.run(self._open())
        self.sequence = 0

    async def _open(self) -> WebSocket:
        ws = await WebSocket(self.servers.url("/echo"))
        ws.binaryType = "arraybuffer"
        return ws

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def call(self, function: Callable[[], object]) -> object:
        """``function()`` called inside the running loop, as user code would."""

        async def inside() -> object:
            return function()

        return self.run(inside())

    def still_works(self) -> None:
        assert self.ws.readyState == WebSocket.OPEN, self.ws.readyState
        self.sequence += 1
        token = f"still works {self.sequence}"

        async def echo() -> None:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

            def on_message(event: Event) -> None:
                if isinstance(event, MessageEvent) and event.data == token and not future.done():
                    future.set_result(event.data)

            self.ws.addEventListener("message", on_message)
            try:
                self.ws.send(token)
                async with asyncio.timeout(10):
                    await future
            finally:
                self.ws.removeEventListener("message", on_message)

        self.run(echo())

    def finish(self) -> None:
        self.ws.close(1000)
        event = self.run(self.ws.wait_closed())
        assert event.wasClean, event
        self.loop.close()


@pytest.fixture(scope="module")
def socket(servers: Servers) -> Iterator[OpenSocket]:
    opened = OpenSocket(servers)
    try:
        yield opened
    finally:
        opened.finish()


# The constructor's keyword options.

# A header value as the handshake writes it (README.md): Latin-1, no control
# characters but tab.
_VALID_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REFUSED_HEADERS = {
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "content-length",
    "transfer-encoding",
}
MAX_TIMEOUT = 1.7976931348623157e308


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def option_error(name: str, value: object) -> tuple[bool, bool]:
    """(is the value wrong, is it of the wrong type) for option ``name``."""
    if value is None:
        return False, False
    if name == "ssl":
        return not isinstance(value, ssl.SSLContext), True
    if name == "origin":
        if not isinstance(value, str):
            return True, True
        return _VALID_FIELD_VALUE.fullmatch(value) is None, False
    if name == "max_size":
        if not isinstance(value, int) or isinstance(value, bool):
            return True, True
        return value <= 0, False
    if name in ("open_timeout", "close_timeout"):
        if not _is_number(value):
            return True, True
        assert isinstance(value, (int, float))
        return not 0 < value <= MAX_TIMEOUT, False
    if name == "compression":
        if not isinstance(value, str):
            return True, True
        return value != "deflate", False
    if name == "backend":
        if not isinstance(value, str):
            return True, True
        return value != "asyncio", False
    raise AssertionError(name)


OPTIONS = ("ssl", "origin", "max_size", "open_timeout", "close_timeout", "compression", "backend")


@SETTINGS
@given(name=st.sampled_from(OPTIONS), value=st.one_of(ANYTHING, st.text()))
def test_each_option_wrong_raises_naming_it(socket: OpenSocket, name: str, value: object) -> None:
    wrong, wrong_type = option_error(name, value)
    if not wrong:
        return  # a valid value: nothing to check here (it would connect)
    url = socket.servers.url("/echo")
    options: dict[str, Any] = {name: value}
    socket.call(
        lambda: raises_naming(lambda: WebSocket(url, **options), name, wrong_type=wrong_type)
    )
    socket.still_works()


HEADER_NAMES = st.one_of(
    st.sampled_from([*sorted(_REFUSED_HEADERS), "X-A", "Origin", "bad name", "", "é"]),
    st.text(max_size=8),
)
HEADER_VALUES = st.one_of(st.text(max_size=8), ANYTHING)


def headers_error(pairs: list[tuple[object, object]]) -> tuple[bool, bool]:
    origins = 0
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            return True, True
        if _TOKEN.fullmatch(name) is None or _VALID_FIELD_VALUE.fullmatch(value) is None:
            return True, False
        if name.lower() in _REFUSED_HEADERS:
            return True, False
        origins += name.lower() == "origin"
    return origins > 1, False


@SETTINGS
@given(pairs=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), min_size=1, max_size=3))
def test_wrong_headers_raise_naming_them(
    socket: OpenSocket, pairs: list[tuple[object, object]]
) -> None:
    wrong, wrong_type = headers_error(pairs)
    if not wrong:
        return
    url = socket.servers.url("/echo")
    socket.call(
        lambda: raises_naming(
            lambda: WebSocket(url, headers=pairs), "headers", wrong_type=wrong_type
        )
    )
    socket.still_works()


@SETTINGS
@given(value=ANYTHING.filter(lambda v: not isinstance(v, (Mapping, list, tuple, frozenset))))
def test_headers_of_the_wrong_type_raise_naming_them(socket: OpenSocket, value: object) -> None:
    if value is None:
        return
    url = socket.servers.url("/echo")
    socket.call(
        lambda: raises_naming(lambda: WebSocket(url, headers=value), "headers", wrong_type=True)
    )


_WEBSOCKET_SCHEME = re.compile(r"[\x00-\x20]*(wss?|https?):", re.IGNORECASE)


@SETTINGS
@given(url=st.one_of(ANYTHING, st.text(max_size=30)))
def test_wrong_url_raises_naming_it(socket: OpenSocket, url: Any) -> None:
    if isinstance(url, str) and _WEBSOCKET_SCHEME.match(url):
        return  # possibly a valid URL
    socket.call(
        lambda: raises_naming(lambda: WebSocket(url), "url", wrong_type=not isinstance(url, str))
    )
    socket.still_works()


def protocols_error(value: object) -> tuple[bool, bool]:
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, (bytes, bytearray, memoryview)) or not hasattr(value, "__iter__"):
        return True, True
    else:
        items = list(value)
        if not all(isinstance(item, str) for item in items):
            return True, True
    folded = [str(item).lower() for item in items]
    bad = any(_TOKEN.fullmatch(str(item)) is None for item in items)
    return bad or len(set(folded)) != len(folded), False


@SETTINGS
@given(
    protocols=st.one_of(
        ANYTHING,
        st.lists(st.one_of(st.text(max_size=5), ANYTHING), max_size=3),
        st.lists(st.sampled_from(["a", "A", "b"]), max_size=3),
    )
)
def test_wrong_protocols_raise_naming_them(socket: OpenSocket, protocols: Any) -> None:
    wrong, wrong_type = protocols_error(protocols)
    if not wrong:
        return
    url = socket.servers.url("/echo")
    socket.call(
        lambda: raises_naming(lambda: WebSocket(url, protocols), "protocol", wrong_type=wrong_type)
    )
    socket.still_works()


# The socket's methods and attributes.


@SETTINGS
@given(data=ANYTHING.filter(lambda v: not isinstance(v, (str, bytes, bytearray, Blob))))
def test_send_wrong_data_raises_naming_it(socket: OpenSocket, data: Any) -> None:
    socket.call(lambda: raises_naming(lambda: socket.ws.send(data), "data", wrong_type=True))
    socket.still_works()


def close_error(code: object, reason: object) -> tuple[str, bool] | None:
    """The first wrong argument of close() and whether its type is wrong."""
    if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
        return "code", True
    if reason is not None and not isinstance(reason, str):
        return "reason", True
    if code is not None and code != 1000 and not 3000 <= code <= 4999:
        return "code", False
    if isinstance(reason, str) and len(reason.encode("utf-8", "replace")) > 123:
        return "reason", False
    return None


@SETTINGS
@given(
    code=st.one_of(ANYTHING, st.integers(min_value=-10, max_value=70_000)),
    reason=st.one_of(ANYTHING, st.text(min_size=100, max_size=200)),
)
def test_close_wrong_arguments_raise_naming_them(
    socket: OpenSocket, code: Any, reason: Any
) -> None:
    error = close_error(code, reason)
    if error is None:
        return  # it would close the socket
    word, wrong_type = error
    socket.call(
        lambda: raises_naming(lambda: socket.ws.close(code, reason), word, wrong_type=wrong_type)
    )
    socket.still_works()


@SETTINGS
@given(value=ANYTHING.filter(lambda v: v not in ("blob", "arraybuffer")))
def test_binary_type_wrong_value_is_ignored_with_a_warning(
    socket: OpenSocket, value: object
) -> None:
    # WebIDL enumeration: "ignored, as in the DOM (a warning is fine)".
    def assign() -> None:
        socket.ws.binaryType = value

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        socket.call(assign)
    assert socket.ws.binaryType == "arraybuffer"
    assert any("binaryType" in str(w.message) for w in caught), [str(w.message) for w in caught]
    socket.still_works()


def listener_error(type_: object, listener: object, options: object) -> str | None:
    """The first wrong argument of add/removeEventListener (WebIDL's order)."""
    if not isinstance(type_, str):
        return "type"
    if listener is not None and not callable(listener) and not hasattr(listener, "handleEvent"):
        return "listener"
    if options is not None and not isinstance(options, (bool, Mapping)):
        return "options"
    return None


@SETTINGS
@given(
    method=st.sampled_from(["addEventListener", "removeEventListener"]),
    type_=st.one_of(ANYTHING, st.sampled_from(["message", "x"])),
    listener=ANYTHING,
    options=st.one_of(ANYTHING, st.just({"once": True})),
    on_socket=st.booleans(),
)
def test_event_listener_wrong_arguments_raise_naming_them(
    socket: OpenSocket,
    method: str,
    type_: object,
    listener: object,
    options: object,
    on_socket: bool,
) -> None:
    word = listener_error(type_, listener, options)
    target: EventTarget = socket.ws if on_socket else EventTarget()
    call = getattr(target, method)
    if word is None:
        if not on_socket:
            socket.call(lambda: call(type_, listener, options))  # valid: no error
        return
    socket.call(
        lambda: raises_naming(lambda: call(type_, listener, options), word, wrong_type=True)
    )
    socket.still_works()


@SETTINGS
@given(event=ANYTHING.filter(lambda v: not isinstance(v, Event)), on_socket=st.booleans())
def test_dispatch_event_wrong_argument_raises_naming_it(
    socket: OpenSocket, event: Any, on_socket: bool
) -> None:
    target: EventTarget = socket.ws if on_socket else EventTarget()
    socket.call(
        lambda: raises_naming(lambda: target.dispatchEvent(event), "event", wrong_type=True)
    )
    socket.still_works()


# Events and Blobs.

EVENT_CLASSES = st.sampled_from([Event, MessageEvent, CloseEvent])


@SETTINGS
@given(cls=EVENT_CLASSES, type_=ANYTHING.filter(lambda v: not isinstance(v, str)))
def test_event_type_wrong_raises_naming_it(cls: type[Event], type_: Any) -> None:
    raises_naming(lambda: cls(type_), "type", wrong_type=True)


@SETTINGS
@given(
    cls=EVENT_CLASSES,
    init=ANYTHING.filter(lambda v: v is not None and not isinstance(v, Mapping)),
)
def test_event_init_wrong_raises_naming_it(cls: type[Event], init: Any) -> None:
    raises_naming(lambda: cls("x", init), "init", wrong_type=True)


@SETTINGS
@given(
    ports=ANYTHING.filter(
        lambda v: isinstance(v, (str, bytes, bytearray)) or not hasattr(v, "__iter__")
    )
)
def test_message_event_wrong_ports_raise_naming_them(ports: object) -> None:
    raises_naming(lambda: MessageEvent("message", {"ports": ports}), "ports", wrong_type=True)


@SETTINGS
@given(
    code=st.one_of(ANYTHING, st.integers()).filter(
        lambda v: not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF
    )
)
def test_close_event_wrong_code_raises_naming_it(code: object) -> None:
    wrong_type = not isinstance(code, int) or isinstance(code, bool)
    raises_naming(lambda: CloseEvent("close", {"code": code}), "code", wrong_type=wrong_type)


@SETTINGS
@given(
    parts=ANYTHING.filter(
        lambda v: isinstance(v, (str, bytes, bytearray)) or not hasattr(v, "__iter__")
    )
)
def test_blob_wrong_parts_raise_naming_them(parts: Any) -> None:
    raises_naming(lambda: Blob(parts), "parts", wrong_type=True)


@SETTINGS
@given(part=ANYTHING.filter(lambda v: not isinstance(v, (str, bytes, bytearray, memoryview, Blob))))
def test_blob_wrong_part_raises_naming_it(part: Any) -> None:
    raises_naming(lambda: Blob([b"ok", part]), "part", wrong_type=True)


@SETTINGS
@given(
    key=st.sampled_from(["type", "endings"]),
    value=ANYTHING.filter(lambda v: v not in ("transparent", "native") and v is not None),
)
def test_blob_wrong_options_raise_naming_them(key: str, value: object) -> None:
    if key == "type" and isinstance(value, str):
        return  # any str is a type (one outside U+0020-U+007E becomes "")
    raises_naming(lambda: Blob([b"x"], {key: value}), key, wrong_type=True)


@SETTINGS
@given(options=ANYTHING.filter(lambda v: v is not None and not isinstance(v, Mapping)))
def test_blob_options_not_a_mapping_raise_naming_them(options: Any) -> None:
    raises_naming(lambda: Blob([b"x"], options), "options", wrong_type=True)


def _not_an_index(value: object) -> bool:
    return value is not None and (not isinstance(value, int) or isinstance(value, bool))


@SETTINGS
@given(
    which=st.sampled_from(["start", "end", "contentType"]),
    value=ANYTHING,
)
def test_blob_slice_wrong_arguments_raise_naming_them(which: str, value: Any) -> None:
    wrong = (
        value is not None and not isinstance(value, str)
        if which == "contentType"
        else _not_an_index(value)
    )
    blob = Blob([b"0123456789"])
    arguments: dict[str, Any] = {which: value}
    if not wrong:
        blob.slice(**arguments)
        return
    raises_naming(lambda: blob.slice(**arguments), which, wrong_type=True)


# What the constructor accepts, the handshake sends.

LATIN1_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FF), max_size=12)
TOKENS = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", min_size=1, max_size=8
)


@settings(max_examples=100, deadline=None)
@given(name=TOKENS, value=LATIN1_TEXT, origin=st.one_of(st.none(), LATIN1_TEXT))
def test_accepted_headers_and_origin_reach_the_server(
    socket: OpenSocket, name: str, value: str, origin: str | None
) -> None:
    # Issue 7 point 3: a value the constructor accepted must never be refused
    # later, inside the event loop. What it accepts opens, and the server
    # gets it (websockets reads header values as ISO-8859-1, without the
    # spaces and tabs around them).
    url = socket.servers.url("/headers")
    handled: list[dict[str, Any]] = []

    async def connect() -> dict[str, str] | None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: handled.append(context))
        try:
            ws = WebSocket(url, headers={f"X-{name}": value}, origin=origin)
        except (TypeError, ValueError):
            return None  # refused before any I/O: what the other tests check
        try:
            async with asyncio.timeout(10):
                async for data in ws:
                    assert isinstance(data, str)
                    headers: dict[str, str] = json.loads(data)
                    return headers
        finally:
            ws.close()
            await ws.wait_closed()
        raise AssertionError(f"no headers: {ws.readyState}")

    headers = socket.run(connect())
    assert handled == [], handled
    if headers is None:
        assert _VALID_FIELD_VALUE.fullmatch(value) is None or (
            origin is not None and _VALID_FIELD_VALUE.fullmatch(origin) is None
        ), "refused a valid value"
        return
    assert headers.get(f"x-{name}".lower()) == value.strip(" \t"), headers
    if origin is not None:
        assert headers.get("origin") == origin.strip(" \t"), headers
