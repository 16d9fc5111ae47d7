"""The loopback servers the scenarios talk to.

One websockets server answers on routes (below), the same routes are served
over TLS with a certificate from a test CA (trustme), and one port is left
closed. They run on a thread of their own with their own event loop, so the
client under test (CPython's asyncio loop, or Pyodide in Node.js or
Chromium) is a separate peer, as it would be in real use.

Routes (query parameters in brackets):

==========================  ===================================================
``/echo``                   echo every message back, text as text, binary as binary
``/headers``                send the request headers as one JSON text message
``/close[?code&reason]``    close at once, with ``code`` and ``reason``; without
                            ``code``, send a close frame with no body
``/drop[?after&reset]``     send ``after`` text messages, then (0.1 s later) end
                            the TCP connection without a close frame, with a
                            FIN, or a reset when ``reset`` is given
``/raw?hex=``               write these bytes raw after the handshake (frames a
                            correct server never sends), then read on
``/ping?data=``             ping with ``data``; once the pong is in, send
                            ``"pong:" + data``
``/fragmented?kind=``       send one fragmented ``text`` or ``binary`` message
``/bytes?size=``            send one binary message of ``size`` bytes (0, 1, 2 ... 255, 0, ...)
``/count?n=[&close]``       send ``n`` text messages ``"0"`` ... ``"n-1"``, then
                            close with code ``close`` if given
``/record?id=``             keep every message received under ``id``
``/report?id=``             wait until ``/record?id=`` ended, send its record as JSON
``/reject?status=``         refuse the handshake with this HTTP status
``/not-websocket``          answer ``200 OK`` to the upgrade request
``/silent``                 accept, then never read: the close frame goes unanswered
``/slow-handshake?seconds=``  wait before answering the handshake
``/flood?id=&n=&size=``     send ``n`` binary messages of ``size`` bytes (message
                            ``i`` is byte ``i % 256`` repeated), each once the
                            last was written (websockets waits while its write
                            buffer is full); the count so far is kept under ``id``
``/progress?id=``           send how many ``/flood?id=`` has sent, as JSON, and close
``/flaky?id=&fail=``        refuse the first ``fail`` handshakes of ``id`` with
                            503, then accept: send ``"attempt:N"`` and echo
==========================  ===================================================

A client's subprotocol offer is answered with its first protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http
import json
import socket
import ssl
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

__all__ = ["LoopbackServers", "ServerThread"]

HOLD_SECONDS = 30.0  # how long a route keeps a connection that nobody closes


@dataclass
class _Record:
    messages: list[str | bytes] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


def _query(connection: ServerConnection | Request) -> dict[str, str]:
    request = connection if isinstance(connection, Request) else connection.request
    assert request is not None
    return {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _route(connection: ServerConnection) -> str:
    assert connection.request is not None
    return urlsplit(connection.request.path).path


def _select_subprotocol(
    connection: ServerConnection, subprotocols: Sequence[Subprotocol]
) -> Subprotocol | None:
    return subprotocols[0] if subprotocols else None


class ServerThread:
    """Servers on a thread of their own, with their own event loop, so that
    the client under test is a separate peer. :meth:`start` runs the
    subclass's ``_start()`` there and returns its fields of
    ``scenarios.Servers``; :meth:`stop` runs its ``_stop()`` and ends the thread."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._tmp = tempfile.TemporaryDirectory(prefix=f"pyws_shim-{name.replace(' ', '-')}-")

    def start(self) -> dict[str, str]:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._tmp.cleanup()

    def _test_ca(self, *names: str) -> tuple[ssl.SSLContext, str]:
        """A server TLS context with a certificate for ``names`` from a test
        CA of its own (trustme), and the CA's certificate file (PEM)."""
        ca = trustme.CA()
        cert = ca.issue_cert(*names)
        ca_file = Path(self._tmp.name) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(tls)
        return tls, str(ca_file)

    async def _start(self) -> dict[str, str]:
        raise NotImplementedError

    async def _stop(self) -> None:
        raise NotImplementedError


class LoopbackServers(ServerThread):
    """Start with :meth:`start`, stop with :meth:`stop`; ``servers`` holds the URLs."""

    def __init__(self) -> None:
        super().__init__("loopback servers")
        self._records: dict[str, _Record] = {}
        self._flood_sent: dict[str, int] = {}
        self._flaky_attempts: dict[str, int] = {}
        self._servers: list[Server] = []
        self._stopping = asyncio.Event()

    # Life cycle.

    async def _start(self) -> dict[str, str]:
        tls, ca_file = self._test_ca("localhost", "127.0.0.1")
        options: dict[str, Any] = {
            "process_request": self._process_request,
            "select_subprotocol": _select_subprotocol,
            "max_size": None,
            "ping_interval": None,
            "close_timeout": 5,
        }
        plain = await serve(self._handler, "127.0.0.1", 0, **options)
        secure = await serve(self._handler, "127.0.0.1", 0, ssl=tls, **options)
        self._servers = [plain, secure]
        return {
            "ws": f"ws://127.0.0.1:{plain.sockets[0].getsockname()[1]}",
            "wss": f"wss://localhost:{secure.sockets[0].getsockname()[1]}",
            "ca_file": ca_file,
            "refused": f"ws://127.0.0.1:{_closed_port()}/",
        }

    async def _stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.close(close_connections=False)
            for connection in list(server.connections):
                connection.transport.abort()
            await server.wait_closed()

    # The handshake routes.

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        route = urlsplit(request.path).path
        query = _query(request)
        if route == "/reject":
            status = http.HTTPStatus(int(query.get("status", "403")))
            return connection.respond(status, f"{status.phrase}\n")
        if route == "/not-websocket":
            return Response(200, "OK", Headers([("Content-Length", "3")]), b"OK\n")
        if route == "/flaky":
            attempts = self._flaky_attempts[query["id"]] = (
                self._flaky_attempts.get(query["id"], 0) + 1
            )
            if attempts <= int(query.get("fail", "0")):
                return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "try again\n")
        if route == "/slow-handshake":
            await asyncio.sleep(float(query.get("seconds", "1")))
        return None

    # The WebSocket routes.

    async def _handler(self, connection: ServerConnection) -> None:
        route = _route(connection)
        query = _query(connection)
        handler = getattr(self, "_route_" + route.strip("/").replace("-", "_"), None)
        if handler is None:
            await connection.close(4404, f"no route {route}")
            return
        await handler(connection, query)

    async def _route_echo(self, connection: ServerConnection, query: dict[str, str]) -> None:
        with contextlib.suppress(ConnectionClosed):  # however the client closes
            async for message in connection:
                await connection.send(message)

    async def _route_headers(self, connection: ServerConnection, query: dict[str, str]) -> None:
        assert connection.request is not None
        headers = {k.lower(): v for k, v in connection.request.headers.raw_items()}
        await connection.send(json.dumps(headers))
        await connection.wait_closed()

    async def _route_close(self, connection: ServerConnection, query: dict[str, str]) -> None:
        if "code" in query:
            await connection.close(int(query["code"]), query.get("reason", ""))
        else:
            # A close frame without a body: the client's close event says 1005.
            connection.protocol.send_close()
            connection.send_data()
            await connection.wait_closed()

    async def _route_drop(self, connection: ServerConnection, query: dict[str, str]) -> None:
        for i in range(int(query.get("after", "0"))):
            await connection.send(str(i))
        # Undici (Node) drops messages that arrive just before the end of the
        # stream; the scenarios are about a connection lost after its messages.
        await asyncio.sleep(0.1)
        if "reset" in query:
            connection.transport.abort()  # RST
        else:
            connection.transport.close()  # FIN, after the messages

    async def _route_raw(self, connection: ServerConnection, query: dict[str, str]) -> None:
        connection.transport.write(bytes.fromhex(query["hex"]))
        try:
            async with asyncio.timeout(HOLD_SECONDS):
                await connection.wait_closed()
        except TimeoutError:
            connection.transport.abort()

    async def _route_ping(self, connection: ServerConnection, query: dict[str, str]) -> None:
        data = query.get("data", "")
        pong = await connection.ping(data.encode())
        await pong
        await connection.send("pong:" + data)
        await connection.wait_closed()

    async def _route_fragmented(self, connection: ServerConnection, query: dict[str, str]) -> None:
        if query.get("kind", "text") == "text":
            await connection.send(["frag", "mént", "ed ✓"])
        else:
            await connection.send([b"\x00\x01", b"", b"\x02\xff"])
        await connection.wait_closed()

    async def _route_bytes(self, connection: ServerConnection, query: dict[str, str]) -> None:
        size = int(query["size"])
        await connection.send((bytes(range(256)) * (size // 256 + 1))[:size])
        await connection.wait_closed()

    async def _route_count(self, connection: ServerConnection, query: dict[str, str]) -> None:
        for i in range(int(query["n"])):
            await connection.send(str(i))
        if "close" in query:
            await connection.close(int(query["close"]), "done")
        await connection.wait_closed()

    async def _route_record(self, connection: ServerConnection, query: dict[str, str]) -> None:
        record = self._records.setdefault(query["id"], _Record())
        try:
            with contextlib.suppress(ConnectionClosed):
                async for message in connection:
                    record.messages.append(message)
        finally:
            record.close_code = connection.close_code
            record.close_reason = connection.close_reason
            record.done.set()

    async def _route_report(self, connection: ServerConnection, query: dict[str, str]) -> None:
        record = self._records.setdefault(query["id"], _Record())
        async with asyncio.timeout(HOLD_SECONDS):
            await record.done.wait()
        digest = hashlib.sha256()
        for message in record.messages:
            digest.update(message.encode() if isinstance(message, str) else message)
        await connection.send(
            json.dumps(
                {
                    "count": len(record.messages),
                    "text": sum(isinstance(m, str) for m in record.messages),
                    "bytes": sum(len(m) for m in record.messages if isinstance(m, bytes)),
                    "first": _brief(record.messages[0]) if record.messages else None,
                    "last": _brief(record.messages[-1]) if record.messages else None,
                    "sha256": digest.hexdigest(),
                    "close_code": record.close_code,
                    "close_reason": record.close_reason,
                }
            )
        )
        await connection.wait_closed()

    async def _route_silent(self, connection: ServerConnection, query: dict[str, str]) -> None:
        connection.transport.pause_reading()  # the close frame is never read
        # Not reading, it cannot see the client go: hold until the servers stop.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), HOLD_SECONDS)
        connection.transport.abort()

    async def _route_flood(self, connection: ServerConnection, query: dict[str, str]) -> None:
        record_id, size = query["id"], int(query["size"])
        self._flood_sent[record_id] = 0
        with contextlib.suppress(ConnectionClosed):
            for i in range(int(query["n"])):
                await connection.send(bytes([i % 256]) * size)
                self._flood_sent[record_id] = i + 1
            await connection.wait_closed()

    async def _route_progress(self, connection: ServerConnection, query: dict[str, str]) -> None:
        await connection.send(json.dumps({"sent": self._flood_sent.get(query["id"], 0)}))
        await connection.close()

    async def _route_flaky(self, connection: ServerConnection, query: dict[str, str]) -> None:
        await connection.send(f"attempt:{self._flaky_attempts[query['id']]}")
        await self._route_echo(connection, query)

    async def _route_slow_handshake(
        self, connection: ServerConnection, query: dict[str, str]
    ) -> None:
        await self._route_echo(connection, query)


def _brief(message: str | bytes) -> str:
    return message[:40] if isinstance(message, str) else message[:20].hex()


def _closed_port() -> int:
    """A loopback port where nothing listens (high, so no browser calls it unsafe)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
