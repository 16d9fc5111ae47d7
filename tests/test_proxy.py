"""Proxies in CPython, against real proxies on loopback (tests/proxies.py).

A WebSocket goes through the proxy that the environment names
(``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, bypassed for the hosts in
``NO_PROXY``), as a browser goes through the system's, or through the one
``proxy=`` names; ``proxy=None`` connects directly. A proxy that refuses,
demands credentials it did not get, or never answers fails the connection:
``error``, then ``close`` 1006, with the cause on ``ConnectionClosed.__cause__``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from proxies import PROXY_USER, ProxyProcess
from python_socks import ProxyError as SocksProxyError
from scenarios import Servers
from websockets.exceptions import InvalidProxyMessage, InvalidProxyStatus, ProxyError

from pyws_shim import CloseEvent, ConnectionClosed, Event, WebSocket

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "WS_PROXY",
    "WSS_PROXY",
    "SOCKS_PROXY",
)
TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


async def _echo(url: str, **options: Any) -> tuple[str, str]:
    """Open ``url``, send one message; return its echo and the close reason."""
    async with WebSocket(url, **options) as ws:
        ws.send("through")
        data = await anext(ws)
    event = await ws.wait_closed()
    assert event.wasClean, event
    assert event.code == 1000, event
    assert isinstance(data, str)
    return data, ws.url


def echo(url: str, **options: Any) -> str:
    return asyncio.run(asyncio.wait_for(_echo(url, **options), TIMEOUT))[0]


async def _failure(url: str, **options: Any) -> tuple[list[str], CloseEvent, ConnectionClosed]:
    """Open ``url`` expecting the connection to fail: the events and the exception."""
    events: list[Event] = []
    ws = WebSocket(url, **options)
    for kind in ("open", "error", "close"):
        ws.addEventListener(kind, events.append)
    try:
        await ws.wait_open()
    except ConnectionClosed as exc:
        closed = exc
    else:
        raise AssertionError("the connection opened")
    close = await ws.wait_closed()
    await asyncio.sleep(0)
    return [event.type for event in events], close, closed


def failure(url: str, **options: Any) -> BaseException | None:
    """The cause of the failed connection, once ``error`` then ``close`` 1006 fired."""
    types, close, exc = asyncio.run(asyncio.wait_for(_failure(url, **options), TIMEOUT))
    assert types == ["error", "close"], types
    assert (close.code, close.wasClean) == (1006, False)
    assert exc.code == 1006
    return exc.__cause__


# proxy= names the proxy.


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h", "socks4", "socks4a"])
def test_ws_through_each_kind_of_proxy(
    scheme: str, servers: Servers, open_proxy: ProxyProcess
) -> None:
    before = len(open_proxy.tunnels_to(_port(servers.ws)))
    assert echo(servers.url("/echo"), proxy=open_proxy.url(scheme)) == "through"
    assert open_proxy.tunnels(_port(servers.ws), before + 1) == before + 1, open_proxy.lines


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_wss_through_a_proxy_checks_the_server_certificate(
    scheme: str, servers: Servers, open_proxy: ProxyProcess
) -> None:
    """TLS runs end to end inside the tunnel, with the server's host name."""
    context = ssl.create_default_context(cafile=servers.ca_file)
    before = len(open_proxy.tunnels_to(_port(servers.wss)))
    assert echo(servers.secure_url("/echo"), proxy=open_proxy.url(scheme), ssl=context) == (
        "through"
    )
    assert open_proxy.tunnels(_port(servers.wss), before + 1) == before + 1, open_proxy.lines
    # Without the test CA, the certificate check fails through the tunnel too.
    cause = failure(servers.secure_url("/echo"), proxy=open_proxy.url(scheme))
    assert isinstance(cause, ssl.SSLCertVerificationError), repr(cause)


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_credentials_from_the_proxy_url(
    scheme: str, servers: Servers, auth_proxy: ProxyProcess
) -> None:
    assert echo(servers.url("/echo"), proxy=auth_proxy.url(scheme, PROXY_USER)) == "through"


def test_http_proxy_without_credentials_answers_407(
    servers: Servers, auth_proxy: ProxyProcess
) -> None:
    cause = failure(servers.url("/echo"), proxy=auth_proxy.url("http"))
    assert isinstance(cause, InvalidProxyStatus), repr(cause)
    assert cause.response.status_code == 407


def test_http_proxy_with_wrong_credentials_answers_407(
    servers: Servers, auth_proxy: ProxyProcess
) -> None:
    cause = failure(servers.url("/echo"), proxy=auth_proxy.url("http", ("user", "wrong")))
    assert isinstance(cause, InvalidProxyStatus), repr(cause)
    assert cause.response.status_code == 407


def test_socks5_proxy_without_credentials_refuses(
    servers: Servers, auth_proxy: ProxyProcess
) -> None:
    cause = failure(servers.url("/echo"), proxy=auth_proxy.url("socks5"))
    assert isinstance(cause, (SocksProxyError, ConnectionError)), repr(cause)


def test_http_proxy_that_refuses_the_destination(
    servers: Servers, blocking_proxy: ProxyProcess
) -> None:
    cause = failure(servers.url("/echo"), proxy=blocking_proxy.url("http"))
    assert isinstance(cause, InvalidProxyMessage), repr(cause)
    assert "without answering CONNECT" in str(cause)
    assert blocking_proxy.wait_for("BLOCK 127.0.0.1", TIMEOUT), blocking_proxy.lines


def test_socks5_proxy_that_drops_the_destination(
    servers: Servers, blocking_proxy: ProxyProcess
) -> None:
    """pproxy answers a SOCKS5 CONNECT with success before it checks the
    destination, then closes: to the client the tunnel opened and the
    connection was lost during the opening handshake, so it fails there
    (no proxy error to report as the cause)."""
    failure(servers.url("/echo"), proxy=blocking_proxy.url("socks5"))
    assert blocking_proxy.wait_for("BLOCK 127.0.0.1", TIMEOUT), blocking_proxy.lines


def test_proxy_that_is_not_listening(servers: Servers) -> None:
    cause = failure(servers.url("/echo"), proxy=servers.refused.rstrip("/").replace("ws", "http"))
    assert isinstance(cause, ConnectionRefusedError), repr(cause)


def test_https_proxy_is_refused_with_a_reason(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "https://127.0.0.1:9")
    cause = failure(servers.url("/echo"))
    assert isinstance(cause, ProxyError), repr(cause)
    assert "https:// proxies are not supported" in str(cause)


@contextmanager
def tcp_peer(on_accept: Callable[[socket.socket], None] | None = None) -> Iterator[str]:
    """``http://127.0.0.1:PORT``: a raw TCP peer on a thread of its own that
    accepts every connection, hands it to ``on_accept`` (if given), and holds
    it open until the end (when every socket is closed)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                sock = listener.accept()[0]
            except TimeoutError:
                continue
            accepted.append(sock)
            if on_accept is not None:
                on_accept(sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for sock in accepted:
            sock.close()
        listener.close()


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """``http://127.0.0.1:PORT``: accepts TCP connections and never answers."""
    with tcp_peer() as url:
        yield url


def test_proxy_that_never_answers_hits_the_open_timeout(servers: Servers, silent_peer: str) -> None:
    cause = failure(servers.url("/echo"), proxy=silent_peer, open_timeout=0.5)
    assert isinstance(cause, TimeoutError), repr(cause)


# The environment names the proxy (proxy=True, the default).


def test_https_proxy_variable_is_used_for_wss(
    servers: Servers, open_proxy: ProxyProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", open_proxy.url("http"))
    context = ssl.create_default_context(cafile=servers.ca_file)
    before = len(open_proxy.tunnels_to(_port(servers.wss)))
    assert echo(servers.secure_url("/echo"), ssl=context) == "through"
    assert open_proxy.tunnels(_port(servers.wss), before + 1) == before + 1, open_proxy.lines


# websockets' order for ws: (RFC 6455 4.1): WS_PROXY, ALL_PROXY, HTTPS_PROXY,
# HTTP_PROXY. "open:SCHEME" stands for the open proxy's URL with that scheme;
# the other values are closed ports, which fail the connection if used.
@pytest.mark.parametrize(
    "variables",
    [
        pytest.param(
            {"HTTPS_PROXY": "open:http", "HTTP_PROXY": "http://127.0.0.1:9"},
            id="https_proxy-is-used-for-ws-too",
        ),
        pytest.param({"http_proxy": "open:http"}, id="http_proxy-lower-case"),
        pytest.param({"all_proxy": "open:socks5h"}, id="all_proxy-with-socks"),
        pytest.param(
            {"ALL_PROXY": "socks5://127.0.0.1:9", "HTTPS_PROXY": "open:http"},
            id="all_proxy-comes-after-the-scheme-specific-variables",
        ),
    ],
)
def test_the_environment_names_the_proxy_for_ws(
    variables: dict[str, str],
    servers: Servers,
    open_proxy: ProxyProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in variables.items():
        scheme = value.removeprefix("open:")
        monkeypatch.setenv(name, open_proxy.url(scheme) if scheme != value else value)
    before = len(open_proxy.tunnels_to(_port(servers.ws)))
    assert echo(servers.url("/echo")) == "through"
    assert open_proxy.tunnels(_port(servers.ws), before + 1) == before + 1, open_proxy.lines


def test_no_proxy_variable_bypasses_all_proxy_too(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert echo(servers.url("/echo")) == "through"


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "example.com,127.0.0.1"])
def test_no_proxy_variable_bypasses_the_proxy(
    no_proxy: str, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proxy named is a closed port: the echo comes only if it is bypassed.
    monkeypatch.setenv("HTTPS_PROXY", servers.refused.rstrip("/").replace("ws", "http"))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert echo(servers.url("/echo")) == "through"


def test_no_proxy_for_another_host_keeps_the_proxy(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", servers.refused.rstrip("/").replace("ws", "http"))
    monkeypatch.setenv("NO_PROXY", "example.com")
    cause = failure(servers.url("/echo"))
    assert isinstance(cause, ConnectionRefusedError), repr(cause)


def test_proxy_none_ignores_the_environment(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert echo(servers.url("/echo"), proxy=None) == "through"


def test_proxy_argument_overrides_the_environment(
    servers: Servers, open_proxy: ProxyProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "*")
    before = len(open_proxy.tunnels_to(_port(servers.ws)))
    assert echo(servers.url("/echo"), proxy=open_proxy.url("socks5")) == "through"
    assert open_proxy.tunnels(_port(servers.ws), before + 1) == before + 1, open_proxy.lines


def test_bad_proxy_in_the_environment_fails_the_connection(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://127.0.0.1:21")
    cause = failure(servers.url("/echo"))
    assert "ftp" in str(cause), repr(cause)


# proxy= is checked before any I/O (the same rules in every runtime: tests/scenarios).


@pytest.mark.parametrize(
    ("value", "kind", "words"),
    [
        (False, TypeError, "proxy must be a proxy URL, True"),
        (8080, TypeError, "proxy must be a proxy URL, True"),
        ("ftp://127.0.0.1:21", ValueError, "its scheme must be one of http, socks5"),
        ("https://127.0.0.1:3128", ValueError, "its scheme must be one of"),
        ("http://", ValueError, "it has no host"),
        ("http://127.0.0.1:3128/path", ValueError, "no path, query or fragment"),
        ("http://127.0.0.1:3128?q", ValueError, "no path, query or fragment"),
        ("http://user@127.0.0.1:3128", ValueError, "a user name needs a password"),
        ("http://127.0.0.1:99999", ValueError, "invalid proxy URL"),
        ("127.0.0.1:3128", ValueError, "its scheme must be one of"),
    ],
)
def test_invalid_proxy_argument(value: object, kind: type[Exception], words: str) -> None:
    async def construct() -> None:
        WebSocket("ws://127.0.0.1:9/", proxy=value)  # type: ignore[arg-type]

    with pytest.raises(kind, match=r"^WebSocket\(\): ") as info:
        asyncio.run(construct())
    assert words in str(info.value)
