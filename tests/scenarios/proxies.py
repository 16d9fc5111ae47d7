"""Scenarios: the Pyodide backend keeps no proxy it does not need.

One proxy per event type forwards the native socket's events; all of them
are destroyed once the socket closes, and nothing is created per message.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from pyws_shim import MessageEvent, WebSocket

from . import Servers, scenario

NO_PROXIES = "CPython has no JavaScript proxies: the asyncio backend makes none"


def _live_proxies() -> int:
    """PyProxies alive now, counted by Pyodide's own allocation tracing."""
    import pyodide_js  # type: ignore[import-not-found]

    module: Any = pyodide_js._module
    module.enable_pyproxy_allocation_tracing()
    gc.collect()
    return int(module.pyproxy_alloc_map.size)


@scenario(skip={"cpython": NO_PROXIES})
async def no_proxy_outlives_its_socket(servers: Servers) -> None:
    import pyodide_js

    pyodide_js._module.enable_pyproxy_allocation_tracing()
    await asyncio.sleep(0)
    before = _live_proxies()
    # 100 sockets opened and closed.
    for _ in range(100):
        ws = await WebSocket(servers.url("/echo"))
        ws.close()
        await ws.wait_closed()
    # 10,000 messages on one socket, text and binary, both binaryTypes.
    ws = await WebSocket(servers.url("/echo"))
    count = 0
    done = asyncio.Event()

    def on_message(event: MessageEvent) -> None:
        nonlocal count
        count += 1
        if count == 10_000:
            done.set()

    ws.onmessage = on_message
    for i in range(10_000):
        if i == 5_000:
            ws.binaryType = "arraybuffer"
        ws.send(str(i) if i % 2 else str(i).encode())
    await done.wait()
    ws.close()
    await ws.wait_closed()
    del ws, on_message
    for _ in range(3):
        await asyncio.sleep(0)  # the proxies go one turn after the close event
    after = _live_proxies()
    assert after == before, f"{after - before} proxies outlived their sockets"
