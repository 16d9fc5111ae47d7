"""The Python clients of the Pyodide benchmarks, run inside Pyodide by bench.mjs.

- ``bare``: the least a Python program can do with the runtime's native
  WebSocket: ``create_proxy`` handlers, ``ws.send`` from ``onmessage``
  (``to_js`` for bytes; ``to_bytes()`` of each received ArrayBuffer);
- ``shim``: pyws_shim, an ``onmessage`` handler that sends the next message
  (public API only).

Both follow the same protocol as the JavaScript client in bench.mjs: after a
warm-up, ``count`` messages with ``inflight`` on the wire, each echo checked
(text compared whole; 1 MiB binary by length and its first and last 16
bytes, or whole with ``full_check``). ``run_variant`` returns a JSON string:
``{"wall": seconds, "cpu": seconds or null}`` of the timed part (``cpu`` is
the Node process's CPU time, from ``benchCpuNow``; a browser page has none).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy, to_js  # type: ignore[import-not-found]

SMALL_SIZE = 32
LARGE_VARIANTS = 8
SAMPLE = 16
PAYLOADS: list[bytes] = []


def text_message(index: int) -> str:
    return f"{index:08d}" + "." * (SMALL_SIZE - 8)


def set_payloads(js_payloads: Any) -> None:
    """The 8 random 1 MiB payloads bench.mjs made, as bytes."""
    PAYLOADS[:] = [p.to_bytes() for p in js_payloads]


def cpu_now() -> float | None:
    """The Node process's CPU seconds; None in a browser (JavaScript's null)."""
    value = js.benchCpuNow()
    return float(value) if isinstance(value, int | float) else None


class Messages:
    def __init__(self, count: int, binary: bool, full_check: bool) -> None:
        self.count = count
        self.items: Sequence[str | bytes]
        if binary:
            self.items = [PAYLOADS[i % LARGE_VARIANTS] for i in range(count)]
            self.check: Callable[[int, object], bool] = (
                self._check_whole if full_check else self._check_sample
            )
        else:
            self.items = [text_message(i) for i in range(count)]
            self.check = self._check_whole

    def _check_whole(self, index: int, data: object) -> bool:
        return data == self.items[index]

    def _check_sample(self, index: int, data: object) -> bool:
        expected = self.items[index]
        return (
            isinstance(data, bytes)
            and len(data) == len(expected)
            and data[:SAMPLE] == expected[:SAMPLE]
            and data[-SAMPLE:] == expected[-SAMPLE:]
        )


def wrong(index: int, data: object) -> Exception:
    shown = data if isinstance(data, str) else f"{type(data).__name__}"
    return RuntimeError(f"message {index} arrived wrong: {shown!r}")


async def pipelined_bare(ws: Any, messages: Messages, inflight: int, binary: bool) -> None:
    """The bare wrapper's run: the handler is a create_proxy of a Python function."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    items, check, count = messages.items, messages.check, messages.count
    sent = min(inflight, count)
    received = 0

    def onmessage(event: Any) -> None:
        nonlocal sent, received
        data = event.data.to_bytes() if binary else event.data
        if received >= count or not check(received, data):
            if not done.done():
                done.set_exception(wrong(received, data))
            return
        received += 1
        if sent < count:
            item = items[sent]
            ws.send(to_js(item) if binary else item)
            sent += 1
        elif received == count:
            done.set_result(None)

    proxy = create_proxy(onmessage)
    ws.onmessage = proxy
    try:
        for item in items[:sent]:
            ws.send(to_js(item) if binary else item)
        await done
    finally:
        ws.onmessage = None
        proxy.destroy()


async def pipelined_shim(ws: Any, messages: Messages, inflight: int, binary: bool) -> None:
    """pyws_shim's run: the same handler, through the shim's ``onmessage``."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    items, check, count, send = messages.items, messages.check, messages.count, ws.send
    sent = min(inflight, count)
    received = 0

    def onmessage(event: Any) -> None:
        nonlocal sent, received
        data = event.data
        if received >= count or not check(received, data):
            if not done.done():
                done.set_exception(wrong(received, data))
            return
        received += 1
        if sent < count:
            send(items[sent])
            sent += 1
        elif received == count:
            done.set_result(None)

    ws.onmessage = onmessage
    try:
        for item in items[:sent]:
            send(item)
        await done
    finally:
        ws.onmessage = None


async def open_bare(url: str) -> Any:
    ws = js.WebSocket.new(url)
    ws.binaryType = "arraybuffer"
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_open(event: Any) -> None:
        if not opened.done():
            opened.set_result(None)

    def on_close(event: Any) -> None:
        if not opened.done():
            opened.set_exception(RuntimeError(f"closed with {event.code} before open"))

    proxies = [create_proxy(on_open), create_proxy(on_close)]
    ws.onopen, ws.onclose = proxies
    try:
        await opened
    finally:
        ws.onopen = ws.onclose = None
        for proxy in proxies:
            proxy.destroy()
    return ws


async def close_bare(ws: Any) -> None:
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_close(event: Any) -> None:
        if not closed.done():
            closed.set_result(None)

    proxy = create_proxy(on_close)
    ws.onclose = proxy
    ws.close(1000)
    try:
        await closed
    finally:
        ws.onclose = None
        proxy.destroy()


async def run_variant(
    variant: str, url: str, workload: str, count: int, inflight: int, warmup: int, full_check: bool
) -> str:
    binary = workload == "large"
    if variant == "bare":
        ws = await open_bare(url)
        pipelined = pipelined_bare
    elif variant == "shim":
        from pyws_shim import WebSocket

        ws = await WebSocket(url)
        ws.binaryType = "arraybuffer"
        pipelined = pipelined_shim
    else:
        raise ValueError(f"unknown variant {variant!r}")
    try:
        await pipelined(ws, Messages(warmup, binary, full_check), inflight, binary)
        messages = Messages(count, binary, full_check)
        cpu, wall = cpu_now(), time.perf_counter()
        await pipelined(ws, messages, inflight, binary)
        wall = time.perf_counter() - wall
        cpu_end = cpu_now()
    finally:
        if variant == "bare":
            await close_bare(ws)
        else:
            ws.close(1000)
            await ws.wait_closed()
    return json.dumps(
        {"wall": wall, "cpu": None if cpu is None or cpu_end is None else cpu_end - cpu}
    )
