"""Scenarios: bad arguments fail with a ``TypeError`` or ``ValueError`` that
names the argument, before any I/O, in every runtime.

The keyword-only options are checked in every runtime (under Pyodide most of
them are then ignored, with a warning), so a value that the CPython
handshake would refuse later is refused by the constructor everywhere:
headers and the origin are written as Latin-1 byte strings (JavaScript's
ByteString; websockets writes ISO-8859-1) without control characters other
than tab, and the handshake's own headers, ``Content-Length`` and
``Transfer-Encoding`` (a Fetch "forbidden request-header": they can
desynchronise a proxy) cannot be added.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyws_shim import Blob, Event, EventTarget, MessageEvent, WebSocket

from . import Servers, current_runtime, scenario
from ._support import QUIET, raises


def names(exc: BaseException, *words: str) -> None:
    """``exc``'s message names each of ``words``."""
    for word in words:
        assert word in str(exc), f"{type(exc).__name__}({str(exc)!r}) does not name {word!r}"


def refused(servers: Servers, kind: type[Exception], *words: str, **options: Any) -> BaseException:
    """``WebSocket(url, **options)`` raises ``kind``, naming ``words``."""
    exc = raises(kind, f"WebSocket(url, **{options!r})", WebSocket, servers.url("/echo"), **options)
    assert type(exc) is kind, f"{options!r}: {type(exc).__name__}: {exc}"
    names(exc, *words)
    return exc


@scenario
async def huge_timeouts_are_value_errors(servers: Servers) -> None:
    for name in ("open_timeout", "close_timeout"):
        for value in (2**2000, -(2**2000), 10**400):
            refused(servers, ValueError, name, **{name: value})


@scenario
async def backend_must_be_a_known_name_for_this_runtime(servers: Servers) -> None:
    wrong: tuple[object, ...] = ([], 5, b"asyncio", {"a": 1})
    for value in wrong:
        refused(servers, TypeError, "backend", backend=value)
    refused(servers, ValueError, "backend", backend="nope")
    if current_runtime() == "cpython":
        refused(servers, ValueError, "backend", "Pyodide", backend="pyodide")
    else:
        refused(servers, ValueError, "backend", "CPython", backend="asyncio")


@scenario
async def origin_must_be_a_latin1_header_value(servers: Servers) -> None:
    wrong: tuple[object, ...] = (5, b"https://a.example", ["x"])
    for value in wrong:
        refused(servers, TypeError, "origin", origin=value)
    for text in (
        "https://a.example\r\nX-Injected: 1",
        "https://a.example\n",
        "https://a.example\x00",
        "https://a.example\x7f",
        "https://a.example\x1b",
        "https://日本.example",
        "https://a.example/€",
        "https://a.example/\ud800",
    ):
        refused(servers, ValueError, "origin", origin=text)


@scenario
async def header_values_must_be_latin1_without_control_characters(servers: Servers) -> None:
    for value in ("€", "日本", "a\rb", "a\nb", "a\x00b", "a\x01b", "a\x1fb", "a\x7fb", "\ud800"):
        refused(servers, ValueError, "headers", "X-A", headers={"X-A": value})
    refused(servers, TypeError, "headers", "X-A", headers={"X-A": 5})
    refused(servers, TypeError, "headers", headers=[("X-A",)])


@scenario
async def forbidden_and_handshake_headers_are_refused(servers: Servers) -> None:
    for name in (
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "Host",
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Protocol",
    ):
        refused(servers, ValueError, "headers", name, headers={name: "1"})


@scenario
async def origin_is_given_once(servers: Servers) -> None:
    refused(
        servers,
        ValueError,
        "Origin",
        origin="https://a.example",
        headers={"Origin": "https://b.example"},
    )
    refused(
        servers,
        ValueError,
        "Origin",
        headers=[("Origin", "https://a.example"), ("origin", "https://b.example")],
    )


@scenario
async def blob_slice_arguments_are_checked(servers: Servers) -> None:
    blob = Blob([b"0123456789"])
    for args, word in (
        ((0, 1, {}), "contentType"),
        ((0, 1, 5), "contentType"),
        (("0",), "start"),
        ((1.5,), "start"),
        ((True,), "start"),
        (([],), "start"),
        ((0, "1"), "end"),
        ((0, 2.0), "end"),
        ((0, None, b"text/plain"), "contentType"),
    ):
        exc = raises(TypeError, f"slice{args!r}", blob.slice, *args)
        names(exc, word)
    # Large ints are clamped to the size, as [Clamp] long long would do.
    assert blob.slice(-(2**100), 2**100).size == 10


@scenario
async def message_event_ports_must_be_a_sequence(servers: Servers) -> None:
    for value in (5, "ab", b"ab", object()):
        exc = raises(TypeError, f"ports={value!r}", MessageEvent, "message", {"ports": value})
        names(exc, "ports")
    assert MessageEvent("message", {"ports": []}).ports == ()
    assert MessageEvent("message").ports == ()


@scenario
async def remove_event_listener_checks_its_arguments_as_add_does(servers: Servers) -> None:
    seen: list[str] = []
    for target in (EventTarget(), WebSocket(servers.url("/echo"))):
        for method in (target.addEventListener, target.removeEventListener):
            what = method.__name__
            exc = raises(TypeError, f"{what}(5, f)", method, 5, print)
            names(exc, "type")
            for bad in (5, "listener", object()):
                exc = raises(TypeError, f"{what}('message', {bad!r})", method, "message", bad)
                names(exc, "listener")
            exc = raises(TypeError, f"{what}('message', f, 5)", method, "message", print, 5)
            names(exc, "options")
            method("message", None)  # a null callback is ignored by both
        # The target still works.
        seen.clear()
        target.addEventListener("x", lambda e: seen.append(e.type))
        target.dispatchEvent(Event("x"))
        assert seen == ["x"]
        if isinstance(target, WebSocket):
            target.close()
            await target.wait_closed()


@scenario
async def huge_finite_timeouts_never_fire(servers: Servers) -> None:
    # A timeout of 30 years is allowed and never fires (a JavaScript timer
    # longer than 2**31 - 1 ms would fire at once).
    ws = WebSocket(servers.url("/echo"), open_timeout=1e9, close_timeout=2**40)
    await ws.wait_open()
    await asyncio.sleep(QUIET)  # a timer that fires at once would have by now
    assert ws.readyState == WebSocket.OPEN
    ws.close(1000)
    event = await ws.wait_closed()
    assert (event.code, event.wasClean) == (1000, True)
