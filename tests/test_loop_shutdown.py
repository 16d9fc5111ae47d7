"""CPython: a socket still open when its event loop shuts down.

A page that unloads closes its sockets with 1001 ("going away"); a program
whose ``asyncio.run()`` returns with a socket still open should do the same:
the server gets a close frame with code 1001, and nothing is left behind (no
"unclosed transport" ResourceWarning, nothing for the loop's exception
handler). The fault peer (``tests/faultpeer.py``) records what the server
received.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from typing import Any

from scenarios import Servers
from scenarios._support import json_message

from pyws_shim import WebSocket


def test_open_socket_closes_with_1001_when_the_loop_shuts_down(servers: Servers) -> None:
    record_id = uuid.uuid4().hex
    handled: list[dict[str, Any]] = []

    def new_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(lambda _, context: handled.append(context))
        return loop

    async def main() -> None:
        ws = await WebSocket(servers.fault_url("frames", answer="echo", id=record_id))
        ws.send("still open")
        # Return with the socket OPEN.

    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(main())
    # An unclosed transport's ResourceWarning is an error (pyproject.toml).
    gc.collect()
    record = asyncio.run(json_message(f"{servers.faults}/report?id={record_id}"))
    assert handled == [], handled
    texts = [bytes.fromhex(f["data"]) for f in record["frames"] if f["opcode"] == 1]
    assert texts == [b"still open"], record["frames"]
    assert record["close"] is not None, f"no close frame: {record}"
    assert record["close"]["code"] == 1001, record["close"]
    assert record["end"] in ("fin", "rst", "server"), record["end"]
