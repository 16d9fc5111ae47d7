"""Scenarios: the keyword-only options only the CPython backend honours
(ssl, origin, headers, max_size, open_timeout, close_timeout, compression),
the event-loop requirement and the logged failure reason.

Under Pyodide the runtime's native WebSocket decides these things itself, so
every scenario here is skipped in its runtimes, each with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import warnings
from typing import Any

from pyws_shim import ConnectionClosed, DOMException, MessageEvent, WebSocket

from . import BROWSERS, PYODIDE_RUNTIMES, SCRIPT_RUNTIMES, Servers, scenario, skip_in
from ._support import EventLog, LogRecords, first_message, request_headers

# Why a scenario cannot run under Pyodide, one reason per option.
NO_CUSTOM_CA = (
    "the runtime's native WebSocket has no option for a custom CA or TLS context; "
    "the browser's (or Node's) trust store decides"
)
NO_CERT_ENV = (
    "SSL_CERT_FILE is read by CPython's ssl module; the native WebSocket uses the "
    "runtime's own trust store and the test CA is not in it"
)
NO_HOSTNAME_OPTION = (
    "the native WebSocket cannot be given a custom CA, so the test certificate is "
    "never trusted and its hostname check cannot be reached"
)
NO_HEADERS = (
    "the browser's native WebSocket sets its own request headers (Origin, User-Agent, "
    "Sec-WebSocket-Extensions); it has no option to add or replace them"
)
NATIVE_USER_AGENT = (
    "the runtime's native WebSocket sends its own User-Agent (Node 'node', Deno "
    "'Deno/2.9.6', Bun none), not pyws_shim's and websockets'"
)
SENDS_HEADERS = (
    "Node.js, Deno and Bun send the headers and Origin they are given "
    "(new WebSocket(url, {protocols, headers})): nothing is ignored, nothing to warn about"
)
NO_COMPRESSION_OPTION = (
    "the native WebSocket always offers permessage-deflate; it has no option to turn it off"
)
NO_DEFLATE_IN_DENO = (
    "Deno 2.9's native WebSocket offers no permessage-deflate at all (extensions stays ''), "
    "and has no option to turn compression on or off"
)
NO_MAX_SIZE = "the native WebSocket has no configurable limit on the size of incoming messages"
NO_THREADS = (
    "Pyodide has no threads (asyncio.to_thread cannot run), and its webloop is always "
    "running, so there is no 'no running event loop' case"
)
NO_LOGGING = (
    "the native WebSocket's error event carries no reason (the standard hides why a "
    "connection failed from scripts), so there is no OSError to log"
)


PROXY_HONOURED = (
    "CPython honours proxy= (tests/test_proxy.py, against real proxies); under Pyodide "
    "the runtime decides and the option is ignored with a warning"
)


async def _echo(ws: WebSocket, data: str | bytes) -> str | bytes:
    """Send ``data`` on an open socket; return the data of the next message."""
    future: asyncio.Future[str | bytes] = asyncio.get_running_loop().create_future()

    def on_message(event: MessageEvent) -> None:
        if not future.done():
            future.set_result(event.data)

    ws.addEventListener("message", on_message, {"once": True})
    ws.send(data)
    return await future


async def _failure(ws: WebSocket) -> tuple[EventLog, ConnectionClosed]:
    """Wait for a socket that must fail before it opens; check the events."""
    log = EventLog(ws)
    try:
        await ws.wait_open()
    except ConnectionClosed as exc:
        closed = exc
    else:
        ws.close()
        await ws.wait_closed()
        raise AssertionError(f"{ws.url} opened")
    await ws.wait_closed()
    assert log.types == ["error", "close"], log.types
    assert log.close_event.code == 1006
    assert log.close_event.wasClean is False
    assert log.close_event.reason == ""
    assert closed.code == 1006
    assert closed.wasClean is False
    assert ws.readyState == WebSocket.CLOSED
    return log, closed


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


# TLS.


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_CUSTOM_CA))
async def wss_with_test_ca(servers: Servers) -> None:
    context = ssl.create_default_context(cafile=servers.ca_file)
    ws = WebSocket(servers.secure_url("/echo"), ssl=context)
    log = EventLog(ws)
    await ws.wait_open()
    assert ws.readyState == WebSocket.OPEN
    assert ws.url == servers.secure_url("/echo")
    ws.binaryType = "arraybuffer"
    assert await _echo(ws, "héllo over TLS ✓") == "héllo over TLS ✓"
    assert await _echo(ws, b"\x00\x01\xfe\xff") == b"\x00\x01\xfe\xff"
    message = log.events[1]
    assert isinstance(message, MessageEvent)
    assert message.origin == servers.wss
    ws.close(1000)
    assert ws.readyState == WebSocket.CLOSING
    event = await ws.wait_closed()
    assert log.types == ["open", "message", "message", "close"]
    assert event.code == 1000
    assert event.wasClean is True
    assert ws.readyState == WebSocket.CLOSED


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_CUSTOM_CA))
async def wss_untrusted_certificate_fails(servers: Servers) -> None:
    # No ssl= option: the default context, the system trust store, which does
    # not hold the test CA.
    ws = WebSocket(servers.secure_url("/echo"))
    log, closed = await _failure(ws)
    assert "message" not in log.types
    assert isinstance(closed.__cause__, ssl.SSLCertVerificationError), repr(closed.__cause__)


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_CERT_ENV))
async def ssl_cert_file_is_honoured(servers: Servers) -> None:
    saved = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = servers.ca_file
    try:
        ws = WebSocket(servers.secure_url("/echo"))
        log = EventLog(ws)
        await ws.wait_open()
        assert await _echo(ws, "trusted through SSL_CERT_FILE") == "trusted through SSL_CERT_FILE"
        ws.close(1000)
        event = await ws.wait_closed()
        assert event.code == 1000
        assert event.wasClean is True
        assert "error" not in log.types
    finally:
        if saved is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = saved


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_HOSTNAME_OPTION))
async def wss_hostname_is_checked(servers: Servers) -> None:
    # The test certificate names "localhost" and the IP address 127.0.0.1.
    port = _port(servers.wss)
    context = ssl.create_default_context(cafile=servers.ca_file)
    for host in ("localhost", "127.0.0.1"):
        async with WebSocket(f"wss://{host}:{port}/echo", ssl=context) as ws:
            assert await _echo(ws, host) == host
        event = await ws.wait_closed()
        assert event.code == 1000
        assert event.wasClean is True
    # The IPv4-mapped IPv6 address ::ffff:127.0.0.1 reaches the same server,
    # but it is not an address the certificate names.
    mapped = f"wss://[::ffff:127.0.0.1]:{port}/echo"
    unchecked = ssl.create_default_context(cafile=servers.ca_file)
    unchecked.check_hostname = False
    # Without the hostname check the same path works (so the failure below is
    # the check, not the network) ...
    ws = WebSocket(mapped, ssl=unchecked)
    try:
        await ws.wait_open()
    finally:
        ws.close(1000)
        await ws.wait_closed()
    # ... with it, the certificate is rejected.
    _, closed = await _failure(WebSocket(mapped, ssl=context))
    cause = closed.__cause__
    assert isinstance(cause, ssl.SSLCertVerificationError), repr(cause)
    assert "mismatch" in str(cause), str(cause)


# Request headers.


@scenario(skip=skip_in(BROWSERS, NO_HEADERS))
async def origin_header(servers: Servers) -> None:
    headers = await request_headers(servers, origin="http://example.test")
    assert headers.get("origin") == "http://example.test", headers
    headers = await request_headers(servers)
    assert "origin" not in headers, headers


@scenario(skip=skip_in(BROWSERS, NO_HEADERS))
async def extra_headers(servers: Servers) -> None:
    headers = await request_headers(servers, headers={"X-Test": "1"})
    assert headers.get("x-test") == "1", headers
    headers = await request_headers(servers, headers=[("X-A", "a"), ("X-B", "b c")])
    assert headers.get("x-a") == "a", headers
    assert headers.get("x-b") == "b c", headers


@scenario(skip=skip_in(BROWSERS, NO_HEADERS) | skip_in(SCRIPT_RUNTIMES, NATIVE_USER_AGENT))
async def user_agent_header(servers: Servers) -> None:
    headers = await request_headers(servers)
    user_agent = headers.get("user-agent", "")
    assert "pyws_shim/" in user_agent, headers
    assert "websockets/" in user_agent, headers
    headers = await request_headers(servers, headers={"User-Agent": "custom-agent/2.0"})
    assert headers.get("user-agent") == "custom-agent/2.0", headers


@scenario(
    skip=skip_in(BROWSERS, NO_HEADERS)
    | skip_in(("node", "bun"), NO_COMPRESSION_OPTION)
    | {"deno": NO_DEFLATE_IN_DENO}
)
async def extensions_and_protocol_headers(servers: Servers) -> None:
    headers = await request_headers(servers)
    offer = headers.get("sec-websocket-extensions", "")
    assert "permessage-deflate" in offer, headers
    assert "client_max_window_bits" in offer, headers
    assert "sec-websocket-protocol" not in headers, headers
    headers = await request_headers(servers, compression=None)
    assert "sec-websocket-extensions" not in headers, headers
    headers = await request_headers(servers, ["chat", "v2"])
    assert headers.get("sec-websocket-protocol") == "chat, v2", headers


@scenario(skip=skip_in(("cpython", *SCRIPT_RUNTIMES), SENDS_HEADERS))
async def headers_and_origin_are_ignored_with_a_warning_in_a_browser(servers: Servers) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        headers = await request_headers(
            servers, origin="http://example.test", headers={"X-Test": "1"}
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert "origin" in messages[0], messages
    assert "headers" in messages[0], messages
    assert "x-test" not in headers, headers
    assert headers.get("origin") != "http://example.test", headers


# Compression.


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_COMPRESSION_OPTION) | {"deno": NO_DEFLATE_IN_DENO})
async def compression_none(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        # The server accepts the browser-like offer made by default.
        assert ws.extensions.startswith("permessage-deflate"), ws.extensions
    async with WebSocket(servers.url("/echo"), compression=None) as ws:
        assert ws.extensions == ""
        ws.binaryType = "arraybuffer"
        text = "uncompressed " * 100
        assert await _echo(ws, text) == text
        assert await _echo(ws, bytes(1000)) == bytes(1000)
    event = await ws.wait_closed()
    assert event.code == 1000
    assert event.wasClean is True


# Limits and timeouts.


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_MAX_SIZE))
async def max_size_exceeded_fails(servers: Servers) -> None:
    ws = WebSocket(servers.url("/bytes", size=2000), max_size=1000)
    log = EventLog(ws)
    event = await ws.wait_closed()
    # The socket opened, then the message too big failed the connection (the
    # client sent close 1009, which the client side cannot see).
    assert log.types == ["open", "error", "close"], log.types
    assert event.code == 1006
    assert event.wasClean is False
    assert ws.readyState == WebSocket.CLOSED


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_MAX_SIZE))
async def max_size_none_and_default_accept_16_mib(servers: Servers) -> None:
    size = 16 * 2**20
    pattern = bytes(range(256))
    cases: list[dict[str, Any]] = [{"max_size": None}, {}]
    for options in cases:
        ws = WebSocket(servers.url("/bytes", size=size), **options)
        ws.binaryType = "arraybuffer"
        log = EventLog(ws)
        try:
            data = await first_message(ws)
        finally:
            ws.close(1000)
            event = await ws.wait_closed()
        assert isinstance(data, bytes)
        assert len(data) == size, (options, len(data))
        assert data[:256] == pattern
        assert data[-256:] == pattern
        assert data[size // 2 : size // 2 + 256] == pattern
        assert log.types == ["open", "message", "close"], (options, log.types)
        assert event.code == 1000
        assert event.wasClean is True


# The event loop and logging.


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_THREADS))
async def constructor_needs_a_running_loop(servers: Servers) -> None:
    def without_loop(url: str) -> BaseException:
        try:
            WebSocket(url)
        except BaseException as exc:
            return exc
        raise AssertionError(f"WebSocket({url!r}) did not raise without a running loop")

    exc = await asyncio.to_thread(without_loop, "ws://127.0.0.1:1/")
    assert type(exc) is RuntimeError, repr(exc)
    assert "event loop" in str(exc), str(exc)
    # The arguments are checked before the loop is looked for.
    exc = await asyncio.to_thread(without_loop, "ftp://127.0.0.1:1/")
    assert isinstance(exc, DOMException), repr(exc)
    assert exc.name == "SyntaxError", repr(exc)
    exc = await asyncio.to_thread(without_loop, "ws://127.0.0.1:1/#fragment")
    assert isinstance(exc, DOMException), repr(exc)
    assert exc.name == "SyntaxError", repr(exc)


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_LOGGING))
async def failure_reason_is_logged(servers: Servers) -> None:
    logger = logging.getLogger("pyws_shim")
    handler = LogRecords()
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        ws = WebSocket(servers.refused)
        _, closed = await _failure(ws)
        assert isinstance(closed.__cause__, OSError), repr(closed.__cause__)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
    warnings = [r for r in handler.records if r.levelno == logging.WARNING]
    assert any(servers.refused in r.getMessage() for r in warnings), [
        r.getMessage() for r in handler.records
    ]


@scenario(skip={"cpython": PROXY_HONOURED})
async def proxy_option_is_ignored_with_a_warning_under_pyodide(servers: Servers) -> None:
    # Under Pyodide the runtime's WebSocket goes through the proxy its runtime
    # chooses (the browser's settings; Node 24 with NODE_USE_ENV_PROXY=1).
    for proxy in ("http://127.0.0.1:9", None):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ws = WebSocket(servers.url("/echo"), proxy=proxy)
        messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert any("proxy" in message for message in messages), messages
        # The proxy named (where nothing listens) is not used: the socket opens.
        assert await _echo(await ws, "direct") == "direct"
        ws.close()
        await ws.wait_closed()
