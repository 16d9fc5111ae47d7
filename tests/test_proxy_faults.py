"""Proxies that misbehave, in CPython: raw TCP peers of our own, for what a
real proxy (tests/proxies.py) does not do.

Each fails the WebSocket connection (``error``, then ``close`` 1006) with
the cause on ``ConnectionClosed.__cause__`` (tests/test_proxy.py's
``failure``), and leaves no socket behind (a ``ResourceWarning`` is an error
in this suite; the garbage is collected inside each test).
"""

from __future__ import annotations

import gc
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from scenarios import Servers
from test_proxy import failure, tcp_peer
from websockets.exceptions import InvalidProxyMessage, ProxyError

TIMEOUT = 20.0


@pytest.fixture
def answering_proxy(request: pytest.FixtureRequest) -> Iterator[str]:
    """``http://127.0.0.1:PORT``: reads the ``CONNECT`` request, writes the
    bytes the test gives (``indirect`` parametrization), then holds the
    connection open."""
    answer: bytes = request.param

    def answer_the_request(sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                break
            request += chunk
        sock.sendall(answer)

    with tcp_peer(answer_the_request) as url:
        yield url


@pytest.mark.parametrize("answering_proxy", [b"SSH-2.0-OpenSSH_9.2\r\n"], indirect=True)
def test_a_proxy_that_does_not_answer_http(servers: Servers, answering_proxy: str) -> None:
    cause = failure(servers.url("/echo"), proxy=answering_proxy, open_timeout=TIMEOUT)
    assert isinstance(cause, InvalidProxyMessage), repr(cause)
    assert str(cause) == "did not receive a valid HTTP response from the proxy"
    gc.collect()


@pytest.mark.parametrize(
    "answering_proxy", [b"HTTP/1.1 200 Connection established\r\n\r\nhello"], indirect=True
)
def test_a_proxy_that_speaks_before_the_server(servers: Servers, answering_proxy: str) -> None:
    # Through a CONNECT tunnel the server speaks only once the WebSocket
    # handshake is sent: bytes right behind the 200 are not the server's.
    cause = failure(servers.url("/echo"), proxy=answering_proxy, open_timeout=TIMEOUT)
    assert isinstance(cause, InvalidProxyMessage), repr(cause)
    assert str(cause) == "the proxy sent data after its response to CONNECT"
    gc.collect()


@pytest.fixture
def full_proxy() -> Iterator[str]:
    """``http://127.0.0.1:PORT``: a listener that accepts nothing, its queue
    full (a backlog of 0 and one connection waiting): a connection to it
    never completes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        filler.close()
        listener.close()


def test_the_open_timeout_ends_a_connection_to_the_proxy_that_never_completes(
    servers: Servers, full_proxy: str
) -> None:
    cause = failure(servers.url("/echo"), proxy=full_proxy, open_timeout=0.5)
    assert isinstance(cause, TimeoutError), repr(cause)
    gc.collect()  # the socket of the abandoned attempt was closed: no ResourceWarning


# Without python-socks (the socks extra), in a process of its own where it
# cannot be imported.
WITHOUT_PYTHON_SOCKS = """
import asyncio, json, sys
sys.modules["python_socks"] = None  # not installed
from pyws_shim import ConnectionClosed, WebSocket

async def main():
    ws = WebSocket(sys.argv[1], proxy="socks5://127.0.0.1:1080")
    try:
        await ws.wait_open()
    except ConnectionClosed as exc:
        cause = exc.__cause__
        print(json.dumps([type(cause).__name__, str(cause), exc.code]))

asyncio.run(main())
"""


def test_a_socks_proxy_without_python_socks_says_how_to_get_it(servers: Servers) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PYTHON_SOCKS, servers.url("/echo")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    kind, message, code = json.loads(done.stdout)
    assert kind == ProxyError.__name__
    assert message == "a socks5:// proxy needs python-socks: pip install 'pyws_shim[socks]'"
    assert code == 1006
