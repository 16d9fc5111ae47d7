"""One benchmark job: one WebSocket client, one event loop, one workload.

    build/bench-venv/bin/python bench/client.py '{"client": "picows", "loop": "uvloop", ...}'

bench/bench.py runs every job in a process of its own, so the CPU time and
the memory measured here are this client's alone, and prints one JSON object
on stdout: the job's measurements, or ``{"ok": false, "error": ...}``.

The clients, each used the way its documentation shows:

- ``shim-onmessage``: pyws_shim, an ``onmessage`` handler that sends the next
  message (public API only: ``WebSocket``, ``onmessage``, ``send``);
- ``shim-asyncfor``: pyws_shim, ``async with`` and ``async for``;
- ``picows``: a ``WSListener`` whose ``on_ws_frame`` sends the next message
  (picows's default transport: aiofastnet, which picows installs);
- ``aiohttp``: ``ClientSession.ws_connect``, ``async for`` and ``send_str``;
- ``websockets``: the asyncio client (``websockets.asyncio.client.connect``);
- ``websocket-client``: the synchronous ``create_connection``, ``send``, ``recv``
  (no event loop);
- ``raw``: the floor: an ``asyncio.Protocol`` that writes pre-framed, pre-masked
  bytes and counts the echoed bytes (a hand-rolled handshake, no parsing).

Every message is checked as it arrives: text messages are distinct (their
index in the first 8 characters) and compared whole; 1 MiB binary messages
come from 8 distinct random payloads and are compared whole with
``"full_check": true`` (bench/run --check, the test suite), else by length
and their first and last 16 bytes. A wrong, missing or extra message fails
the job.

Workloads:

- ``small``: ``count`` 32-byte text messages, ``inflight`` of them on the
  wire at any time (each echo received sends the next message);
- ``large``: ``count`` 1 MiB binary messages, ``inflight`` at a time;
- ``latency``: ``count`` round trips of one 32-byte text message, one at a
  time (median and 99th percentile);
- ``idle``: ``count`` open connections at once: the growth of the process's
  resident memory, then (with the connections closed and ``tracemalloc``
  started) of the memory Python allocates, both divided by ``count``.

The timed part starts after the connection is open and a warm-up run (a
tenth of the workload, at most 1,000 messages); it excludes the closing
handshake. ``cpu`` is ``time.process_time()`` over it: user and system time
of the whole process.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import resource
import socket
import statistics
import sys
import time
import tracemalloc
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

SMALL_SIZE = 32
LARGE_SIZE = 2**20
LARGE_VARIANTS = 8
SAMPLE = 16
CONNECT_TIMEOUT = 10.0
IDLE_BATCH = 50
# Exceptions that reached the event loop's exception handler.
LOOP_ERRORS: list[str] = []

CLIENTS = (
    "shim-onmessage",
    "shim-asyncfor",
    "picows",
    "aiohttp",
    "websockets",
    "websocket-client",
    "raw",
)
# Which clients can offer permessage-deflate (the others skip the deflate runs).
DEFLATE_CLIENTS = ("shim-onmessage", "shim-asyncfor", "aiohttp", "websockets")
SYNC_CLIENTS = ("websocket-client",)
LOOPS = ("asyncio", "uvloop")
WORKLOADS = ("small", "large", "latency", "idle")


class HarnessError(Exception):
    """A message arrived wrong, late or not at all: the job's result is void."""


@dataclass(frozen=True)
class Job:
    client: str
    loop: str  # "asyncio", "uvloop", or "sync" for websocket-client
    workload: str
    url: str
    count: int
    inflight: int = 1
    deflate: bool = False
    full_check: bool = False

    @property
    def binary(self) -> bool:
        return self.workload == "large"


# The messages and their checks.


def text_message(index: int) -> str:
    """The ``index``-th text message: 32 ASCII characters, distinct."""
    return f"{index:08d}" + "." * (SMALL_SIZE - 8)


def large_payloads() -> list[bytes]:
    """The 8 random 1 MiB payloads; message ``i`` is ``payloads[i % 8]``."""
    return [random.Random(k).randbytes(LARGE_SIZE) for k in range(LARGE_VARIANTS)]


class Messages:
    """The messages of one run and the check of each echo, in order."""

    def __init__(self, job: Job, count: int, payloads: list[bytes] | None) -> None:
        self.count = count
        self.items: Sequence[str | bytes]
        if payloads is None:
            self.items = [text_message(i) for i in range(count)]
            self.check: Callable[[int, object], bool] = self._check_text
        else:
            self.items = [payloads[i % LARGE_VARIANTS] for i in range(count)]
            self.heads = [p[:SAMPLE] for p in payloads]
            self.tails = [p[-SAMPLE:] for p in payloads]
            self.check = self._check_full if job.full_check else self._check_sample

    def _check_text(self, index: int, data: object) -> bool:
        return data == self.items[index]

    def _check_full(self, index: int, data: object) -> bool:
        return data == self.items[index]

    def _check_sample(self, index: int, data: object) -> bool:
        if not isinstance(data, bytes) or len(data) != LARGE_SIZE:
            return False
        k = index % LARGE_VARIANTS
        return data[:SAMPLE] == self.heads[k] and data[-SAMPLE:] == self.tails[k]

    def wrong(self, index: int, data: object) -> HarnessError:
        if index >= self.count:
            return HarnessError(f"message {index} arrived, only {self.count} were sent")
        shown = data if isinstance(data, str) else f"{type(data).__name__} of {_len(data)} bytes"
        return HarnessError(f"message {index} arrived wrong: {shown!r}")


def _len(data: object) -> int | None:
    try:
        return len(data)  # type: ignore[arg-type]
    except TypeError:
        return None


# Measurements.


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``sorted_values``."""
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


# One interface over every asyncio client: connect, a pipelined run, round trips.


class AsyncClient:
    """A client library, driven the way its documentation shows."""

    def __init__(self, job: Job) -> None:
        self.job = job

    async def connect(self) -> Any:
        raise NotImplementedError

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        """Send ``messages`` with ``inflight`` on the wire; return when every echo came."""
        raise NotImplementedError

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        """One message at a time; the round-trip time of each, in ns."""
        raise NotImplementedError

    async def close(self, conn: Any) -> None:
        raise NotImplementedError

    def deflate(self, conn: Any) -> bool:
        """Whether permessage-deflate was negotiated."""
        return False

    async def close_many(self, conns: list[Any]) -> None:
        for start in range(0, len(conns), IDLE_BATCH):
            await asyncio.gather(*(self.close(c) for c in conns[start : start + IDLE_BATCH]))


class ShimOnMessage(AsyncClient):
    async def connect(self) -> Any:
        from pyws_shim import WebSocket

        ws = await WebSocket(self.job.url, compression="deflate" if self.job.deflate else None)
        if self.job.binary:
            ws.binaryType = "arraybuffer"
        return ws

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        items, check, count, send = messages.items, messages.check, messages.count, conn.send
        sent = min(inflight, count)
        received = 0

        def onmessage(event: Any) -> None:
            nonlocal sent, received
            data = event.data
            if received >= count or not check(received, data):
                if not done.done():
                    done.set_exception(messages.wrong(received, data))
                return
            received += 1
            if sent < count:
                send(items[sent])
                sent += 1
            elif received == count:
                done.set_result(None)

        conn.onmessage = onmessage
        conn.onclose = lambda event: fail(
            done, HarnessError(f"closed with {event.code} after {received} messages")
        )
        for item in items[:sent]:
            send(item)
        try:
            await done
        finally:
            conn.onmessage = conn.onclose = None

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        items, check, count, send = messages.items, messages.check, messages.count, conn.send
        clock = time.perf_counter_ns
        times: list[int] = []
        started = 0

        def onmessage(event: Any) -> None:
            nonlocal started
            now = clock()
            index = len(times)
            if index >= count or not check(index, event.data):
                if not done.done():
                    done.set_exception(messages.wrong(index, event.data))
                return
            times.append(now - started)
            if index + 1 < count:
                started = clock()
                send(items[index + 1])
            else:
                done.set_result(None)

        conn.onmessage = onmessage
        started = clock()
        send(items[0])
        try:
            await done
        finally:
            conn.onmessage = None
        return times

    async def close(self, conn: Any) -> None:
        conn.close(1000)
        await conn.wait_closed()

    def deflate(self, conn: Any) -> bool:
        return "permessage-deflate" in conn.extensions


class ShimAsyncFor(ShimOnMessage):
    async def connect(self) -> Any:
        from pyws_shim import WebSocket

        ws = WebSocket(self.job.url, compression="deflate" if self.job.deflate else None)
        if self.job.binary:
            ws.binaryType = "arraybuffer"
        # "async for keeps the messages that arrive from the first async with on".
        return await ws.__aenter__()

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        items, check, count, send = messages.items, messages.check, messages.count, conn.send
        sent = min(inflight, count)
        for item in items[:sent]:
            send(item)
        received = 0
        async for data in conn:
            if received >= count or not check(received, data):
                raise messages.wrong(received, data)
            received += 1
            if sent < count:
                send(items[sent])
                sent += 1
            elif received == count:
                return
        raise HarnessError(f"closed after {received} messages")

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        items, check, send = messages.items, messages.check, conn.send
        clock = time.perf_counter_ns
        times: list[int] = []
        for index in range(messages.count):
            started = clock()
            send(items[index])
            data = await anext(conn)
            times.append(clock() - started)
            if not check(index, data):
                raise messages.wrong(index, data)
        return times

    async def close(self, conn: Any) -> None:
        await conn.__aexit__(None, None, None)


class Picows(AsyncClient):
    """picows: frames, not messages; the echo server never fragments, so one
    frame with ``fin`` set is one message (anything else fails the job)."""

    async def connect(self) -> Any:
        import picows

        class Listener(picows.WSListener):  # type: ignore[misc]
            on_message: Callable[[object], None] | None = None
            closed: asyncio.Future[None] | None = None

            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                msg_type = frame.msg_type
                if msg_type == picows.WSMsgType.TEXT and frame.fin:
                    data: object = frame.get_payload_as_utf8_text()
                elif msg_type == picows.WSMsgType.BINARY and frame.fin:
                    data = frame.get_payload_as_bytes()
                elif msg_type == picows.WSMsgType.CLOSE:
                    transport.send_close(frame.get_close_code())
                    transport.disconnect()
                    return
                else:
                    data = HarnessError(f"unexpected frame {msg_type!r} fin={frame.fin}")
                if self.on_message is not None:
                    self.on_message(data)

            def on_ws_disconnected(self, transport: Any) -> None:
                if self.on_message is not None:
                    self.on_message(HarnessError("disconnected"))

        transport, listener = await picows.ws_connect(
            Listener, self.job.url, max_frame_size=2 * LARGE_SIZE
        )
        return transport, listener

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        import picows

        transport, listener = conn
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        items, check, count = messages.items, messages.check, messages.count
        send = transport.send
        msg_type = picows.WSMsgType.BINARY if self.job.binary else picows.WSMsgType.TEXT
        encode = self.job.binary is False
        sent = min(inflight, count)
        received = 0

        def on_message(data: object) -> None:
            nonlocal sent, received
            if received >= count or not check(received, data):
                if not done.done():
                    done.set_exception(
                        data if isinstance(data, HarnessError) else messages.wrong(received, data)
                    )
                return
            received += 1
            if sent < count:
                item = items[sent]
                send(msg_type, item.encode() if encode else item)  # type: ignore[union-attr]
                sent += 1
            elif received == count:
                done.set_result(None)

        listener.on_message = on_message
        for item in items[:sent]:
            send(msg_type, item.encode() if encode else item)  # type: ignore[union-attr]
        try:
            await done
        finally:
            listener.on_message = None

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        import picows

        transport, listener = conn
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        items, check, count, send = messages.items, messages.check, messages.count, transport.send
        text = picows.WSMsgType.TEXT
        clock = time.perf_counter_ns
        times: list[int] = []
        started = 0

        def on_message(data: object) -> None:
            nonlocal started
            now = clock()
            index = len(times)
            if index >= count or not check(index, data):
                if not done.done():
                    done.set_exception(
                        data if isinstance(data, HarnessError) else messages.wrong(index, data)
                    )
                return
            times.append(now - started)
            if index + 1 < count:
                started = clock()
                send(text, items[index + 1].encode())  # type: ignore[union-attr]
            else:
                done.set_result(None)

        listener.on_message = on_message
        started = clock()
        send(text, items[0].encode())  # type: ignore[union-attr]
        try:
            await done
        finally:
            listener.on_message = None
        return times

    async def close(self, conn: Any) -> None:
        import picows

        transport, listener = conn
        listener.on_message = None
        transport.send_close(picows.WSCloseCode.OK)
        await transport.wait_disconnected()


class Aiohttp(AsyncClient):
    session: Any = None

    async def connect(self) -> Any:
        import aiohttp

        if self.session is None:
            # limit=0: no cap on open connections (the default of 100 would
            # keep the idle workload's 101st connection waiting).
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return await self.session.ws_connect(
            self.job.url, compress=15 if self.job.deflate else 0, max_msg_size=2 * LARGE_SIZE
        )

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        import aiohttp

        items, check, count = messages.items, messages.check, messages.count
        send = conn.send_bytes if self.job.binary else conn.send_str
        kind = aiohttp.WSMsgType.BINARY if self.job.binary else aiohttp.WSMsgType.TEXT
        sent = min(inflight, count)
        for item in items[:sent]:
            await send(item)
        received = 0
        async for msg in conn:
            if msg.type != kind or received >= count or not check(received, msg.data):
                raise messages.wrong(received, msg.data)
            received += 1
            if sent < count:
                await send(items[sent])
                sent += 1
            elif received == count:
                return
        raise HarnessError(f"closed after {received} messages")

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        import aiohttp

        items, check = messages.items, messages.check
        clock = time.perf_counter_ns
        times: list[int] = []
        for index in range(messages.count):
            started = clock()
            await conn.send_str(items[index])
            msg = await conn.receive()
            times.append(clock() - started)
            if msg.type != aiohttp.WSMsgType.TEXT or not check(index, msg.data):
                raise messages.wrong(index, msg.data)
        return times

    async def close(self, conn: Any) -> None:
        await conn.close()

    def deflate(self, conn: Any) -> bool:
        return bool(conn.compress)


class Websockets(AsyncClient):
    async def connect(self) -> Any:
        from websockets.asyncio.client import connect

        return await connect(
            self.job.url,
            compression="deflate" if self.job.deflate else None,
            max_size=2 * LARGE_SIZE,
            ping_interval=None,
        )

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        items, check, count, send = messages.items, messages.check, messages.count, conn.send
        sent = min(inflight, count)
        for item in items[:sent]:
            await send(item)
        received = 0
        async for data in conn:
            if received >= count or not check(received, data):
                raise messages.wrong(received, data)
            received += 1
            if sent < count:
                await send(items[sent])
                sent += 1
            elif received == count:
                return
        raise HarnessError(f"closed after {received} messages")

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        items, check, send, recv = messages.items, messages.check, conn.send, conn.recv
        clock = time.perf_counter_ns
        times: list[int] = []
        for index in range(messages.count):
            started = clock()
            await send(items[index])
            data = await recv()
            times.append(clock() - started)
            if not check(index, data):
                raise messages.wrong(index, data)
        return times

    async def close(self, conn: Any) -> None:
        await conn.close()

    def deflate(self, conn: Any) -> bool:
        return bool(conn.protocol.extensions)


class RawProtocol(asyncio.Protocol):
    """The floor: bytes in, bytes out; a hand-rolled handshake, then echoed
    bytes are counted (and compared) in ``on_data``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.handshake = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_data: Callable[[bytes], None] | None = None
        self.lost: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.on_data is not None:
            self.on_data(data)
        elif not self.opened.done():
            self.handshake += data
            head, sep, rest = bytes(self.handshake).partition(b"\r\n\r\n")
            if sep:
                if not head.startswith(b"HTTP/1.1 101 ") or rest:
                    self.opened.set_exception(HarnessError(f"bad handshake: {head[:80]!r}"))
                else:
                    self.opened.set_result(None)
        else:
            raise HarnessError(f"{len(data)} bytes arrived while idle")

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(HarnessError(f"connection lost: {exc}"))
        if self.lost is not None:
            self.lost()


def mask_key() -> bytes:
    return os.urandom(4)


def client_frame(opcode: int, payload: bytes, key: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.2), built before the timed part."""
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n < 2**16:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return header + key + masked


def server_frame(opcode: int, payload: bytes) -> bytes:
    """The unmasked frame the server sends back."""
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, n])
    elif n < 2**16:
        header = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return header + payload


class Raw(AsyncClient):
    def __init__(self, job: Job) -> None:
        super().__init__(job)
        url = urllib.parse.urlsplit(job.url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.request = (
            f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.frames: dict[int, tuple[list[bytes], list[bytes]]] = {}

    async def connect(self) -> Any:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(RawProtocol, self.host, self.port)
        assert protocol.transport is not None
        protocol.transport.write(self.request)
        await protocol.opened
        return protocol

    def framed(self, messages: Messages) -> tuple[list[bytes], list[bytes]]:
        """The client frames and the expected server frames of ``messages``
        (for 1 MiB messages, of the 8 payloads)."""
        key = messages.count  # message i is the same in every run
        if key not in self.frames:
            k = mask_key()
            if self.job.binary:
                payloads = list(messages.items[:LARGE_VARIANTS])
                out = [client_frame(2, p, k) for p in payloads]  # type: ignore[arg-type]
                back = [server_frame(2, p) for p in payloads]  # type: ignore[arg-type]
            else:
                texts = [str(t).encode() for t in messages.items]
                out = [client_frame(1, t, k) for t in texts]
                back = [server_frame(1, t) for t in texts]
            self.frames[key] = (out, back)
        return self.frames[key]

    async def pipelined(self, conn: Any, messages: Messages, inflight: int) -> None:
        protocol: RawProtocol = conn
        assert protocol.transport is not None
        write = protocol.transport.write
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        out, back = self.framed(messages)
        count = messages.count
        sent = min(inflight, count)
        if not self.job.binary:
            # 32-byte texts: one pre-framed stream out, one expected stream back.
            out_stream = memoryview(b"".join(out))
            back_stream = b"".join(back)
            out_size, back_size = len(out[0]), len(back[0])
            total = back_size * count
            position = 0

            def on_data(data: bytes) -> None:
                nonlocal position, sent
                end = position + len(data)
                if end > total or back_stream[position:end] != data:
                    fail(done, HarnessError(f"wrong bytes at {position} of the echo stream"))
                    return
                position = end
                want = min(count, end // back_size + inflight)
                if want > sent:
                    write(out_stream[sent * out_size : want * out_size])
                    sent = want
                if end == total:
                    done.set_result(None)

            protocol.on_data = on_data
            write(out_stream[: sent * out_size])
        else:
            # 1 MiB: one pre-framed message of 8 at a time; the echo compared
            # whole (full_check) or its header, first and last 16 bytes.
            size = len(back[0])
            total = size * count
            head = len(back[0]) - LARGE_SIZE + SAMPLE
            full = self.job.full_check
            position = 0

            def on_data(data: bytes) -> None:
                nonlocal position, sent
                view = memoryview(data)
                start = position
                end = position + len(data)
                if end > total:
                    fail(done, HarnessError("more bytes than were sent"))
                    return
                while start < end:
                    index, offset = divmod(start, size)
                    take = min(size - offset, end - start)
                    expected = back[index % LARGE_VARIANTS]
                    got = view[start - position : start - position + take]
                    if full:  # bytes == bytes: one memcmp
                        ok = expected[offset : offset + take] == got.tobytes()
                    else:
                        ok = True
                        if offset < head:  # the header and the first 16 bytes
                            n = min(head, offset + take) - offset
                            ok = expected[offset : offset + n] == got[:n]
                        if ok and offset + take > size - SAMPLE:  # the last 16 bytes
                            n = offset + take - max(offset, size - SAMPLE)
                            ok = expected[offset + take - n : offset + take] == got[take - n :]
                    if not ok:
                        fail(done, HarnessError(f"wrong bytes in message {index}"))
                        return
                    start += take
                position = end
                want = min(count, end // size + inflight)
                while sent < want:
                    write(out[sent % LARGE_VARIANTS])
                    sent += 1
                if end == total:
                    done.set_result(None)

            protocol.on_data = on_data
            for index in range(sent):
                write(out[index % LARGE_VARIANTS])
        protocol.lost = lambda: fail(done, HarnessError("connection lost"))
        try:
            await done
        finally:
            protocol.on_data = None
            protocol.lost = None

    async def round_trips(self, conn: Any, messages: Messages) -> list[int]:
        protocol: RawProtocol = conn
        assert protocol.transport is not None
        write = protocol.transport.write
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        out, back = self.framed(messages)
        count = messages.count
        clock = time.perf_counter_ns
        times: list[int] = []
        pending = bytearray()
        started = 0

        def on_data(data: bytes) -> None:
            nonlocal started
            now = clock()
            pending.extend(data)
            index = len(times)
            expected = back[index]
            if len(pending) < len(expected):
                return
            if pending != expected:
                fail(done, HarnessError(f"message {index} arrived wrong"))
                return
            pending.clear()
            times.append(now - started)
            if index + 1 < count:
                started = clock()
                write(out[index + 1])
            else:
                done.set_result(None)

        protocol.on_data = on_data
        protocol.lost = lambda: fail(done, HarnessError("connection lost"))
        started = clock()
        write(out[0])
        try:
            await done
        finally:
            protocol.on_data = None
            protocol.lost = None
        return times

    async def close(self, conn: Any) -> None:
        protocol: RawProtocol = conn
        assert protocol.transport is not None
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        protocol.on_data = lambda data: None  # the server's close frame
        protocol.lost = lambda: settle(closed)
        protocol.transport.write(client_frame(8, (1000).to_bytes(2, "big"), mask_key()))
        await closed


ASYNC_CLIENTS: dict[str, Callable[[Job], AsyncClient]] = {
    "shim-onmessage": ShimOnMessage,
    "shim-asyncfor": ShimAsyncFor,
    "picows": Picows,
    "aiohttp": Aiohttp,
    "websockets": Websockets,
    "raw": Raw,
}


def fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def warmup_count(count: int) -> int:
    return max(1, min(1000, count // 10))


async def run_async(job: Job) -> dict[str, Any]:
    """The job on the running loop; an exception that reaches the loop fails it."""

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        where = context.get("message", "")
        LOOP_ERRORS.append(f"{type(exc).__name__}: {exc} ({where})" if exc else where)

    asyncio.get_running_loop().set_exception_handler(on_loop_error)
    result = await run_workload(job)
    if LOOP_ERRORS:
        raise HarnessError("exception in the event loop: " + LOOP_ERRORS[0])
    return result


async def run_workload(job: Job) -> dict[str, Any]:
    client = ASYNC_CLIENTS[job.client](job)
    payloads = large_payloads() if job.binary else None

    async def connect() -> Any:
        try:
            return await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT)
        except TimeoutError:
            cause = f", after {LOOP_ERRORS[0]}" if LOOP_ERRORS else ""
            raise HarnessError(f"no connection after {CONNECT_TIMEOUT:.0f} s{cause}") from None

    if job.workload == "idle":
        return await idle(job, client, connect)
    conn = await connect()
    try:
        if client.deflate(conn) != job.deflate:
            raise HarnessError(f"permessage-deflate {'not ' if job.deflate else ''}negotiated")
        warm = Messages(job, warmup_count(job.count), payloads)
        messages = Messages(job, job.count, payloads)
        if job.workload == "latency":
            await client.round_trips(conn, warm)
            return measure_latency(await timed(lambda: client.round_trips(conn, messages)))
        await client.pipelined(conn, warm, job.inflight)
        return measure_throughput(
            job, await timed(lambda: client.pipelined(conn, messages, job.inflight))
        )
    finally:
        await client.close(conn)
        if isinstance(client, Aiohttp) and client.session is not None:
            await client.session.close()


async def timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    value = await run()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def measure_throughput(job: Job, measured: tuple[float, float, Any]) -> dict[str, Any]:
    wall, cpu, _ = measured
    size = LARGE_SIZE if job.binary else SMALL_SIZE
    return {
        "messages": job.count,
        "wall": wall,
        "cpu": cpu,
        "msgs_per_s": job.count / wall,
        "mib_per_s": job.count * size / 2**20 / wall,
        "cpu_us_per_msg": cpu / job.count * 1e6,
    }


def measure_latency(measured: tuple[float, float, Any]) -> dict[str, Any]:
    wall, cpu, times = measured
    ordered = sorted(times)
    return {
        "messages": len(times),
        "wall": wall,
        "cpu": cpu,
        "cpu_us_per_msg": cpu / len(times) * 1e6,
        "median_us": statistics.median(ordered) / 1e3,
        "p99_us": percentile(ordered, 0.99) / 1e3,
    }


async def idle(
    job: Job, client: AsyncClient, connect: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    async def open_many(count: int) -> list[Any]:
        conns: list[Any] = []
        for start in range(0, count, IDLE_BATCH):
            batch = range(start, min(count, start + IDLE_BATCH))
            conns += await asyncio.gather(*(connect() for _ in batch))
        return conns

    # Warm up: import and initialize everything a connection needs.
    await client.close_many([await connect() for _ in range(2)])
    gc.collect()
    before = rss_bytes()
    conns = await open_many(job.count)
    gc.collect()
    rss = (rss_bytes() - before) / job.count
    await client.close_many(conns)
    del conns
    gc.collect()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    conns = await open_many(job.count)
    gc.collect()
    traced = (tracemalloc.get_traced_memory()[0] - traced_before) / job.count
    tracemalloc.stop()
    await client.close_many(conns)
    if isinstance(client, Aiohttp) and client.session is not None:
        await client.session.close()
    return {
        "connections": job.count,
        "rss_kib_per_conn": rss / 1024,
        "traced_kib_per_conn": traced / 1024,
    }


# websocket-client: synchronous, no event loop.


def run_sync(job: Job) -> dict[str, Any]:
    import websocket

    def connect() -> Any:
        return websocket.create_connection(job.url, timeout=CONNECT_TIMEOUT)

    if job.workload == "idle":
        for conn in [connect() for _ in range(2)]:
            conn.close()
        gc.collect()
        before = rss_bytes()
        conns = [connect() for _ in range(job.count)]
        gc.collect()
        rss = (rss_bytes() - before) / job.count
        for conn in conns:
            conn.close()
        del conns
        gc.collect()
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
        conns = [connect() for _ in range(job.count)]
        gc.collect()
        traced = (tracemalloc.get_traced_memory()[0] - traced_before) / job.count
        tracemalloc.stop()
        for conn in conns:
            conn.close()
        return {
            "connections": job.count,
            "rss_kib_per_conn": rss / 1024,
            "traced_kib_per_conn": traced / 1024,
        }

    payloads = large_payloads() if job.binary else None
    conn = connect()
    opcode = websocket.ABNF.OPCODE_BINARY if job.binary else websocket.ABNF.OPCODE_TEXT

    def pipelined(messages: Messages) -> None:
        items, check, count, send, recv = (
            messages.items, messages.check, messages.count, conn.send, conn.recv,
        )  # fmt: skip
        sent = min(job.inflight, count)
        for item in items[:sent]:
            send(item, opcode)
        for received in range(count):
            data = recv()
            if not check(received, data):
                raise messages.wrong(received, data)
            if sent < count:
                send(items[sent], opcode)
                sent += 1

    def round_trips(messages: Messages) -> list[int]:
        items, check, send, recv = messages.items, messages.check, conn.send, conn.recv
        clock = time.perf_counter_ns
        times: list[int] = []
        for index in range(messages.count):
            started = clock()
            send(items[index])
            data = recv()
            times.append(clock() - started)
            if not check(index, data):
                raise messages.wrong(index, data)
        return times

    def timed_sync(run: Callable[[], Any]) -> tuple[float, float, Any]:
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        value = run()
        return time.perf_counter() - wall, time.process_time() - cpu, value

    try:
        warm = Messages(job, warmup_count(job.count), payloads)
        messages = Messages(job, job.count, payloads)
        if job.workload == "latency":
            round_trips(warm)
            return measure_latency(timed_sync(lambda: round_trips(messages)))
        pipelined(warm)
        return measure_throughput(job, timed_sync(lambda: pipelined(messages)))
    finally:
        conn.close()


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(job: Job) -> dict[str, Any]:
    """Run ``job`` in this process: its measurements, or ``ok: false`` and the error."""
    if job.client not in CLIENTS or job.workload not in WORKLOADS:
        raise ValueError(f"unknown client or workload: {job.client!r}, {job.workload!r}")
    if job.deflate and job.client not in DEFLATE_CLIENTS:
        raise ValueError(f"{job.client} cannot offer permessage-deflate")
    raise_fd_limit()
    try:
        if job.client in SYNC_CLIENTS:
            if job.loop != "sync":
                raise ValueError(f"{job.client} runs without an event loop (loop 'sync')")
            result = run_sync(job)
        elif job.loop == "uvloop":
            import uvloop

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                result = runner.run(run_async(job))
        elif job.loop == "asyncio":
            result = asyncio.run(run_async(job))
        else:
            raise ValueError(f"{job.client} needs the loop 'asyncio' or 'uvloop', not {job.loop!r}")
    except (HarnessError, OSError, ConnectionError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # a client library's own error: report it, do not hide it
        return {"ok": False, "error": f"{type(exc).__module__}.{type(exc).__name__}: {exc}"}
    return {"ok": True, **result}


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} JOB_JSON")
    job = Job(**json.loads(sys.argv[1]))
    # The bench's own loopback connections only.
    host = urllib.parse.urlsplit(job.url).hostname or ""
    if not host or socket.inet_aton(socket.gethostbyname(host))[0] != 127:
        raise SystemExit(f"{sys.argv[0]}: {job.url} is not on loopback")
    print(json.dumps(run(job)), flush=True)


if __name__ == "__main__":
    main()
