"""A fault-injection WebSocket peer of the project's own.

A raw asyncio TCP server (and its TLS twin) that reads the client's HTTP
upgrade request and writes every byte of the response and of every frame
itself: no WebSocket server library is involved, so it can write anything,
including what no correct server writes (a wrong ``Sec-WebSocket-Accept``, a
masked frame, a close frame between fragments, half a frame then a reset).
Everything the client sends is recorded, under the ``id`` of the URL's
query, and handed back as JSON by the ``/report`` route, so that a scenario
in any runtime (CPython, or Pyodide in Node.js, a Chromium page or worker)
can check what the server received.

Like ``tests/servers.py`` it runs on a thread of its own with its own event
loop, so the client under test is a separate peer. The TLS twin's
certificate comes from a test CA of its own (trustme) and names only
``localhost``: ``wss://127.0.0.1:PORT`` is a wrong host name for it.

URLs (``ws://127.0.0.1:PORT`` or the TLS twin's ``wss://localhost:PORT``)::

    /case/<case>?id=<id>&<parameters>    a case, below; what the client sent is
                                         recorded under <id>
    /report?id=<id>                      a correct WebSocket server: one text
                                         message, the record of <id> as JSON
                                         (once that connection has ended), then
                                         a clean close 1000
    /stats                               the same, with the failures that had no
                                         id (TLS handshakes that failed, TLS
                                         spoken to the plain port)

Cases (all but ``handshake`` answer the handshake correctly, and take
``headers=<hex>`` to add raw header lines to the 101 response):

==============================  ===========================================================
``drop?stage=&how=fin|rst``     end the TCP connection at ``stage``: ``before-response``
                                (the request read, nothing written), ``mid-response`` (half
                                the 101 response), ``after-open`` (a text message ``"hello"``
                                first), ``mid-frame`` (3 of 10 payload bytes of a text
                                frame), ``mid-fragments`` (an unfinished fragmented text
                                message), ``after-client-close`` (once the client's close
                                frame is in, unanswered). ``fin`` shuts the sending side
                                (a FIN, and for TLS no close_notify) and goes on reading;
                                ``rst`` resets the connection (SO_LINGER 0).
``handshake?response=``         answer the upgrade request with a faulty or unusual
                                response (see ``_RESPONSES``); one that opens is followed by
                                a text message ``"ok"`` and a close 1000 ``"done"``
``frames?hex=&answer=&then=``   write these bytes after a correct 101 response (then, with
                                ``then=fin``, shut the sending side), then read. The
                                client's close frame is answered with the same code when
                                ``answer=echo`` (and pings with pongs), after a text
                                message ``"after close"`` when ``answer=message-then-echo``;
                                when the bytes hold a close frame, the
                                client's close frame ends the handshake and the server
                                closes the TCP connection, as RFC 6455 says
``stop-reading``                accept, then never read (the close frame is never seen)
``slow-reader?rate=``           read at most ``rate`` bytes a second (a 64 KiB receive
                                buffer), answer the client's close frame at once
==============================  ===========================================================

A connection that the client does not end is held until ``/report`` asks
for its record (then for ``GRACE`` seconds more) or for ``HOLD`` seconds.

The record (JSON): ``case``; ``request`` (``path`` and ``headers``, names in
lower case); ``frames`` (the first ``MAX_FRAMES`` frames, and the close frames
after them, up to ``MAX_CLOSE_FRAMES`` more: ``opcode``, ``fin``,
``rsv``, ``masked``, ``length``, ``data``: the first bytes of the unmasked
payload, as hex, and ``at``: when it was read, in seconds since the
request); ``frame_count``; ``close`` (the client's first close
frame: ``code`` or ``None`` and ``reason``, or ``None``); ``data_bytes`` and
``data_sha256`` (every data frame's payload, in order); ``bytes_read``;
``end``: how the client ended the TCP connection: ``"fin"``, ``"rst"``,
``"server"`` (the server ended it first), ``"open"`` (still open when the
record was taken) or ``"error: ..."``; ``end_seconds`` (since the request);
``invalid`` (why the client's bytes were not a valid frame, if they were
not); ``done`` (the connection ended before the report was taken).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scenarios._support import frame
from servers import ServerThread

__all__ = ["FaultPeer", "accept_key"]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
HOLD = 30.0  # the longest a connection is held that the client does not end
GRACE = 0.5  # how long a held connection may still end once its report is asked for
REPORT_WAIT = 10.0  # how long /report waits for the connection to end
MAX_FRAMES = 200  # frames kept in a record (the rest are only counted)
# Close frames kept after MAX_FRAMES: a browser may split a large message into
# hundreds of frames (Chromium sends what its data pipe holds: 195 to 210
# frames for 24 MiB), and a test still counts the close frames behind them.
MAX_CLOSE_FRAMES = 8
KEEP_BYTES = 64  # payload bytes kept per frame
PIECE = 65536  # a payload is read, unmasked and hashed this many bytes at a time
REQUEST_LIMIT = 256 * 1024  # the longest request head the peer reads
STREAM_LIMIT = 64 * 1024  # what a StreamReader holds before it stops reading the socket


def accept_key(key: str) -> str:
    """RFC 6455 4.2.2: the ``Sec-WebSocket-Accept`` value for ``key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def _unmask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return data
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


# What the peer records.


@dataclass
class Record:
    case: str
    started: float = field(default_factory=time.monotonic)
    request: dict[str, Any] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)
    frame_count: int = 0
    close: dict[str, Any] | None = None
    data_bytes: int = 0
    data_digest: Any = field(default_factory=hashlib.sha256)
    bytes_read: int = 0
    end: str = "open"
    end_seconds: float | None = None
    invalid: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    requested: asyncio.Event = field(default_factory=asyncio.Event)
    close_received: asyncio.Event = field(default_factory=asyncio.Event)

    def ended(self, how: str) -> None:
        if self.end == "open":
            self.end = how
            self.end_seconds = round(time.monotonic() - self.started, 3)

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "request": self.request,
            "frames": self.frames,
            "frame_count": self.frame_count,
            "close": self.close,
            "data_bytes": self.data_bytes,
            "data_sha256": self.data_digest.hexdigest(),
            "bytes_read": self.bytes_read,
            "end": self.end,
            "end_seconds": self.end_seconds,
            "invalid": self.invalid,
            "done": self.done.is_set(),
        }


class _Invalid(Exception):
    """The client sent something that is not a frame a client may send."""


class _Connection:
    """One accepted connection: its streams, its record, and what cases do with them."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: Record
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.record = record
        self.key = ""
        self.server_closed_handshake = False  # the server sent a close frame
        # "echo": answer the client's close frame (and pings); "message-then-echo":
        # send a text message first
        self.answer_close: str | None = None
        self.rate: float | None = None  # bytes a second, when reading slowly
        self.rate_start: float | None = None
        self.rate_bytes = 0

    # Writing.

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def response(self, status: str = "101 Switching Protocols", *lines: str) -> bytes:
        return (
            f"HTTP/1.1 {status}\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n"
        ).encode("latin-1")

    def accept_lines(self) -> list[str]:
        return [
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {accept_key(self.key)}",
        ]

    async def accept(self, extra: bytes = b"") -> None:
        """A correct 101 response (with raw ``extra`` header lines)."""
        head = self.response("101 Switching Protocols", *self.accept_lines())
        await self.write(head[:-2] + extra + b"\r\n")

    async def end(self, how: str) -> None:
        """End the TCP connection: ``fin`` (shut the sending side, keep
        reading) or ``rst`` (reset it)."""
        sock = self.writer.get_extra_info("socket")
        if how == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.transport.abort()
            self.record.ended("server")
        else:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)

    # Reading.

    async def _read_exactly(self, size: int) -> bytes:
        if self.rate is None or not size:
            data = await self.reader.readexactly(size)
            self.record.bytes_read += size
            return data
        # At most `rate` bytes a second since the first read, on average.
        if self.rate_start is None:
            self.rate_start = time.monotonic()
        parts: list[bytes] = []
        while size:
            chunk = await self.reader.read(min(size, 65536))
            if not chunk:
                raise asyncio.IncompleteReadError(b"".join(parts), size)
            parts.append(chunk)
            size -= len(chunk)
            self.record.bytes_read += len(chunk)
            self.rate_bytes += len(chunk)
            due = self.rate_start + self.rate_bytes / self.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        return b"".join(parts)

    async def read_frames(self) -> None:
        """Read and record the client's frames until it ends the connection."""
        record = self.record
        try:
            while True:
                await self._read_frame()
        except asyncio.IncompleteReadError:
            record.ended("fin")
        except ConnectionResetError:
            record.ended("rst")
        except _Invalid as exc:
            record.invalid = str(exc)
            await self._read_to_end()
        except (OSError, ssl.SSLError) as exc:
            record.ended(f"error: {type(exc).__name__}: {exc}")

    async def _read_to_end(self) -> None:
        try:
            while await self.reader.read(65536):
                pass
            self.record.ended("fin")
        except ConnectionResetError:
            self.record.ended("rst")
        except (OSError, ssl.SSLError) as exc:
            self.record.ended(f"error: {type(exc).__name__}: {exc}")

    async def _read_frame(self) -> None:
        record = self.record
        first, second = await self._read_exactly(2)
        fin, rsv, opcode = bool(first & 0x80), (first >> 4) & 7, first & 0xF
        masked, size = bool(second & 0x80), second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self._read_exactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self._read_exactly(8))
            if size >= 1 << 62:
                raise _Invalid(f"a frame of {size} bytes")
        mask = await self._read_exactly(4) if masked else b""
        # The payload, a piece at a time: unmasked and hashed as it comes, so
        # that a large frame costs no pause at its end; only the start is kept
        # (control frames, at most 125 bytes from a correct client, whole).
        kept: list[bytes] = []
        offset = 0
        while offset < size or not kept:
            piece = await self._read_exactly(min(size - offset, PIECE))
            if masked:
                turn = offset % 4
                piece = _unmask(piece, mask[turn:] + mask[:turn])
            if opcode in (0, 1, 2):
                record.data_digest.update(piece)
            if offset < KEEP_BYTES or opcode >= 8:
                kept.append(piece)
            offset += len(piece)
        payload = b"".join(kept)
        record.frame_count += 1
        if len(record.frames) < MAX_FRAMES or (
            opcode == 8 and len(record.frames) < MAX_FRAMES + MAX_CLOSE_FRAMES
        ):
            record.frames.append(
                {
                    "opcode": opcode,
                    "fin": fin,
                    "rsv": rsv,
                    "masked": masked,
                    "length": size,
                    "data": payload[:KEEP_BYTES].hex(),
                    "at": round(time.monotonic() - record.started, 3),
                }
            )
        if opcode in (0, 1, 2):
            record.data_bytes += size
        elif opcode == 8:
            await self._close_frame(payload)
        elif opcode == 9 and self.answer_close in ("echo", "message-then-echo"):
            await self.write(frame(10, payload))

    async def _close_frame(self, payload: bytes) -> None:
        record = self.record
        if record.close is not None:
            return
        if len(payload) >= 2:
            (code,) = struct.unpack("!H", payload[:2])
            reason = payload[2:].decode("utf-8", "replace")
            record.close = {"code": code, "reason": reason}
        else:
            record.close = {"code": None, "reason": "", "payload": payload.hex()}
        record.close_received.set()
        if self.server_closed_handshake:
            # The client answered our close frame: the server closes the TCP
            # connection first (RFC 6455 7.1.1).
            self.writer.close()
            record.ended("server")
        elif self.answer_close in ("echo", "message-then-echo"):
            if self.answer_close == "message-then-echo":
                await self.write(frame(1, b"after close"))
            await self.write(frame(8, payload))  # its code and reason
            self.server_closed_handshake = True
            self.writer.close()
            record.ended("server")

    async def hold(self) -> None:
        """Read until the client ends the connection; at most until the
        report is asked for (and ``GRACE`` more) or ``HOLD`` seconds."""
        reading = asyncio.ensure_future(self.read_frames())
        asked = asyncio.ensure_future(self.record.requested.wait())
        try:
            await asyncio.wait({reading, asked}, timeout=HOLD, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                await asyncio.wait({reading}, timeout=GRACE)
        finally:
            for task in (reading, asked):
                task.cancel()
            await asyncio.gather(reading, asked, return_exceptions=True)


# The cases.


Case = Callable[["_Connection", dict[str, str]], Awaitable[None]]

_PARTIAL_RESPONSE = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"


async def _case_drop(conn: _Connection, query: dict[str, str]) -> None:
    stage, how = query.get("stage", "after-open"), query.get("how", "fin")
    if stage == "before-response":
        pass
    elif stage == "mid-response":
        await conn.write(_PARTIAL_RESPONSE)
        await asyncio.sleep(0.1)
    elif stage == "after-client-close":
        await conn.accept()
        reading = asyncio.ensure_future(conn.read_frames())
        waiting = asyncio.ensure_future(conn.record.close_received.wait())
        await asyncio.wait({reading, waiting}, timeout=HOLD, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if reading.done():  # the client ended the connection first
            return
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
    else:
        await conn.accept()
        if stage == "after-open":
            await conn.write(frame(1, b"hello"))
        elif stage == "mid-frame":
            await conn.write(frame(1, b"abc", length=10))
        elif stage == "mid-fragments":
            await conn.write(frame(1, b"ab", fin=False))
        else:
            raise ValueError(f"unknown stage {stage!r}")
        # Undici (Node) drops what arrives just before the end of the stream:
        # the cases are about a connection lost after what came before it.
        await asyncio.sleep(0.1)
    await conn.end(how)
    if how == "fin":
        await conn.hold()


def _handshake_responses(conn: _Connection) -> dict[str, bytes]:
    ok = conn.accept_lines()
    upgrade, connection, accept = ok
    response = conn.response
    return {
        # Refused: not a 101, or a 101 that breaks RFC 6455 4.1.
        "status-200": response("200 OK", "Content-Length: 0"),
        "status-302": response("302 Found", "Location: /case/frames", "Content-Length: 0"),
        "status-403": response("403 Forbidden", "Content-Length: 0"),
        "status-500": response("500 Internal Server Error", "Content-Length: 0"),
        "garbage": b"HELLO WORLD\r\n\r\n",
        "no-accept": response("101 Switching Protocols", upgrade, connection),
        "wrong-accept": response(
            "101 Switching Protocols",
            upgrade,
            connection,
            f"Sec-WebSocket-Accept: {accept_key('dGhlIHNhbXBsZSBub25jZQ==')}",
        ),
        "no-upgrade": response("101 Switching Protocols", connection, accept),
        "wrong-upgrade": response("101 Switching Protocols", "Upgrade: h2c", connection, accept),
        "no-connection": response("101 Switching Protocols", upgrade, accept),
        "wrong-connection": response(
            "101 Switching Protocols", upgrade, "Connection: keep-alive", accept
        ),
        "unrequested-protocol": response(
            "101 Switching Protocols", *ok, "Sec-WebSocket-Protocol: chat"
        ),
        "unrequested-extension": response(
            "101 Switching Protocols", *ok, "Sec-WebSocket-Extensions: x-unknown-extension"
        ),
        # Accepted: what RFC 6455 allows and browsers take.
        "case-insensitive": response(
            "101 Switching Protocols", "upgrade: WebSocket", "CONNECTION: UPGRADE", accept
        ),
        "connection-list": response(
            "101 Switching Protocols", upgrade, "Connection: keep-alive, Upgrade", accept
        ),
        "big-cookie": response(
            "101 Switching Protocols", *ok, "Set-Cookie: big=" + "c" * (16 * 1024)
        ),
        "many-headers": response(
            "101 Switching Protocols", *ok, *(f"X-Filler-{i}: {i}" for i in range(200))
        ),
    }


async def _case_handshake(conn: _Connection, query: dict[str, str]) -> None:
    name = query["response"]
    responses = _handshake_responses(conn)
    if name.startswith("protocol-"):
        # A subprotocol chosen by the query: one the client offered, or not.
        head = conn.response(
            "101 Switching Protocols",
            *conn.accept_lines(),
            f"Sec-WebSocket-Protocol: {name.removeprefix('protocol-')}",
        )
    else:
        head = responses[name]
    await conn.write(head)
    if head.startswith(b"HTTP/1.1 101 "):
        # If it opens: a message, then a clean close.
        await conn.write(frame(1, b"ok") + frame(8, b"\x03\xe8done"))
        conn.server_closed_handshake = True
    await conn.hold()


async def _case_frames(conn: _Connection, query: dict[str, str]) -> None:
    data = bytes.fromhex(query.get("hex", ""))
    conn.answer_close = query.get("answer")
    await conn.accept(bytes.fromhex(query.get("headers", "")))
    await conn.write(data)
    conn.server_closed_handshake = _holds_close_frame(data)
    if query.get("then") == "fin":
        await conn.end("fin")
    await conn.hold()


def _holds_close_frame(data: bytes) -> bool:
    """Whether the frames at the start of ``data`` include a close frame."""
    pos = 0
    while pos + 2 <= len(data):
        opcode, masked, size = data[pos] & 0xF, data[pos + 1] & 0x80, data[pos + 1] & 0x7F
        pos += 2
        if size == 126:
            (size,) = struct.unpack("!H", data[pos : pos + 2].rjust(2, b"\0"))
            pos += 2
        elif size == 127:
            (size,) = struct.unpack("!Q", data[pos : pos + 8].rjust(8, b"\0"))
            pos += 8
        if opcode == 8:
            return True
        pos += size + (4 if masked else 0)
    return False


async def _case_stop_reading(conn: _Connection, query: dict[str, str]) -> None:
    await conn.accept(bytes.fromhex(query.get("headers", "")))
    # Nothing is read: the StreamReader fills up to its limit, then stops
    # reading the socket, whose buffers fill, and the client's sends stall.
    asked = asyncio.ensure_future(conn.record.requested.wait())
    await asyncio.wait({asked}, timeout=HOLD)
    asked.cancel()
    # Asked for the record: now see how the client left (a reset throws away
    # what is unread).
    reading = asyncio.ensure_future(conn._read_to_end())
    await asyncio.wait({reading}, timeout=GRACE)
    reading.cancel()
    await asyncio.gather(asked, reading, return_exceptions=True)


async def _case_slow_reader(conn: _Connection, query: dict[str, str]) -> None:
    sock = conn.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    conn.rate = float(query.get("rate", str(8 * 2**20)))
    conn.answer_close = "echo"
    await conn.accept()
    await conn.hold()


CASES: dict[str, Case] = {
    "drop": _case_drop,
    "handshake": _case_handshake,
    "frames": _case_frames,
    "stop-reading": _case_stop_reading,
    "slow-reader": _case_slow_reader,
}


# The server.


@dataclass
class _Stats:
    tls_failures: list[str] = field(default_factory=list)
    tls_on_plain_port: int = 0


class FaultPeer(ServerThread):
    """Start with :meth:`start` (returns the URL fields of ``scenarios.Servers``),
    stop with :meth:`stop`."""

    def __init__(self) -> None:
        super().__init__("fault peer")
        self._records: dict[str, Record] = {}
        self._stats = _Stats()
        self._servers: list[asyncio.Server] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tls: ssl.SSLContext | None = None

    async def _start(self) -> dict[str, str]:
        self._tls, ca_file = self._test_ca("localhost")
        plain = await asyncio.start_server(
            self._plain, "127.0.0.1", 0, limit=STREAM_LIMIT, reuse_address=True
        )
        secure = await asyncio.start_server(
            self._secure, "127.0.0.1", 0, limit=STREAM_LIMIT, reuse_address=True
        )
        self._servers = [plain, secure]
        return {
            "faults": f"ws://127.0.0.1:{plain.sockets[0].getsockname()[1]}",
            "faults_tls": f"wss://localhost:{secure.sockets[0].getsockname()[1]}",
            "faults_ca_file": ca_file,
        }

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
        # Every held connection ends as if its report had been asked for.
        for record in self._records.values():
            record.requested.set()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=GRACE + 5)
        for server in self._servers:
            await server.wait_closed()

    # Connections.

    async def _plain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve(reader, writer, tls=False)

    async def _secure(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve(reader, writer, tls=True)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            if tls:
                assert self._tls is not None
                try:
                    await writer.start_tls(self._tls)
                except (OSError, ssl.SSLError) as exc:
                    self._stats.tls_failures.append(f"{type(exc).__name__}: {exc}")
                    return
            await self._request(reader, writer, tls)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # the client went away; the record says how, where it matters
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.transport.abort()

    async def _request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool
    ) -> None:
        first = await reader.read(1)
        if first == b"\x16" and not tls:
            # A TLS ClientHello on the plain port: answer in plain HTTP, as a
            # plain server does.
            self._stats.tls_on_plain_port += 1
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        try:
            rest = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return
        line, *header_lines = (first + rest).decode("latin-1").split("\r\n")
        target = line.split(" ")[1] if line.count(" ") >= 2 else "/"
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        headers: dict[str, str] = {}
        for header in header_lines:
            if ":" in header:
                name, value = header.split(":", 1)
                name = name.strip().lower()
                headers[name] = (
                    f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
                )
        if url.path == "/report":
            await self._report(reader, writer, headers, query.get("id", ""))
            return
        if url.path == "/stats":
            await self._serve_json(reader, writer, headers, self._stats_json())
            return
        case_name = url.path.removeprefix("/case/")
        case = CASES.get(case_name)
        record = Record(case_name, request={"path": target, "headers": headers})
        if "id" in query:
            self._records[query["id"]] = record
        connection = _Connection(reader, writer, record)
        connection.key = headers.get("sec-websocket-key", "")
        try:
            if case is None:
                await connection.write(connection.response("404 Not Found", "Content-Length: 0"))
                return
            await case(connection, query)
        finally:
            record.done.set()

    def _stats_json(self) -> dict[str, Any]:
        return {
            "tls_failures": list(self._stats.tls_failures),
            "tls_on_plain_port": self._stats.tls_on_plain_port,
        }

    async def _report(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        record_id: str,
    ) -> None:
        record = self._records.get(record_id)
        if record is None:
            result: dict[str, Any] = {"error": f"no record {record_id!r}"}
        else:
            record.requested.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REPORT_WAIT):
                    await record.done.wait()
            result = record.as_json()
        await self._serve_json(reader, writer, headers, result)

    async def _serve_json(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        result: dict[str, Any],
    ) -> None:
        """A correct server: one text message, then a clean close."""
        connection = _Connection(reader, writer, Record("report"))
        connection.key = headers.get("sec-websocket-key", "")
        await connection.accept()
        await connection.write(frame(1, json.dumps(result).encode()) + frame(8, b"\x03\xe8"))
        connection.server_closed_handshake = True
        async with asyncio.timeout(HOLD):
            await connection.read_frames()
