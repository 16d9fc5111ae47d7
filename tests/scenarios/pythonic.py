"""Scenarios: the additions beyond the DOM (awaiting, async with, async for)."""

from __future__ import annotations

import asyncio
import contextlib

from pyws_shim import Blob, CloseEvent, ConnectionClosed, MessageEvent, WebSocket

from . import Servers, scenario
from ._support import MS, EventLog, new_id, report


@scenario
async def await_websocket_waits_for_open(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    assert ws.readyState == WebSocket.CONNECTING
    same = await ws
    assert same is ws
    assert ws.readyState == WebSocket.OPEN
    await ws.wait_open()  # already open: returns at once
    ws.close()
    event = await ws.wait_closed()
    assert isinstance(event, CloseEvent)
    assert await ws.wait_closed() is event


@scenario
async def async_with_opens_and_closes_with_1000(servers: Servers) -> None:
    record_id = new_id()
    async with WebSocket(servers.url("/record", id=record_id)) as ws:
        assert ws.readyState == WebSocket.OPEN
        ws.send("inside")
    assert ws.readyState == WebSocket.CLOSED
    received = await report(servers, record_id)
    assert (received["count"], received["last"], received["close_code"]) == (1, "inside", 1000)


@scenario
async def async_with_closes_when_the_body_raises(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    try:
        async with ws:
            raise KeyError("body failed")
    except KeyError:
        pass
    assert ws.readyState == WebSocket.CLOSED
    assert (await ws.wait_closed()).code == 1000


@scenario
async def async_with_raises_connection_closed_when_open_fails(servers: Servers) -> None:
    try:
        async with WebSocket(servers.refused):
            raise AssertionError("the body ran")
    except ConnectionClosed as exc:
        assert (exc.code, exc.wasClean) == (1006, False)
        assert isinstance(exc.event, CloseEvent)
    else:
        raise AssertionError("no ConnectionClosed")


@scenario
async def async_for_ends_on_a_clean_close(servers: Servers) -> None:
    async with WebSocket(servers.url("/count", n=50, close=4000)) as ws:
        # The server sends at once, then closes: every message arrives before
        # the loop starts, and is kept for it.
        await ws.wait_closed()
        received = [data async for data in ws]
    assert received == [str(i) for i in range(50)]
    assert (await ws.wait_closed()).code == 4000


@scenario
async def async_for_raises_on_a_lost_connection(servers: Servers) -> None:
    received: list[object] = []
    try:
        async with WebSocket(servers.url("/drop", after=3)) as ws:
            async for data in ws:
                received.append(data)
    except ConnectionClosed as exc:
        assert (exc.code, exc.wasClean) == (1006, False)
    else:
        raise AssertionError("no ConnectionClosed")
    assert received == ["0", "1", "2"]


@scenario
async def async_for_follows_binary_type(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        ws.send(b"one")
        first = await anext(ws)
        assert isinstance(first, Blob)
        assert await first.bytes() == b"one"
        ws.binaryType = "arraybuffer"
        ws.send(b"two")
        assert await anext(ws) == b"two"


@scenario
async def async_for_after_close_ends_at_once(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    ws.close(1000)
    await ws.wait_closed()
    assert [data async for data in ws] == []


@scenario
async def async_for_and_listeners_see_the_same_messages(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        heard: list[str] = []
        ws.onmessage = lambda event: heard.append(event.data)
        for word in ("a", "b", "c"):
            ws.send(word)
        assert [await anext(ws) for _ in range(3)] == ["a", "b", "c"]
        assert heard == ["a", "b", "c"]


@scenario
async def coroutine_listener_runs_as_a_task(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        done = asyncio.Event()
        seen: list[str] = []

        async def on_message(event: MessageEvent) -> None:
            await asyncio.sleep(0)
            seen.append(event.data)
            done.set()

        ws.onmessage = on_message
        ws.send("hi")
        await asyncio.wait_for(done.wait(), 5000 * MS)
        assert seen == ["hi"]


@scenario
async def cancelled_while_connecting_closes_the_socket(servers: Servers) -> None:
    ws = WebSocket(servers.url("/slow-handshake", seconds=2000 * MS))
    log = EventLog(ws)

    async def enter() -> None:
        async with ws:
            raise AssertionError("opened")

    task = asyncio.ensure_future(enter())
    for _ in range(3):  # turns of the loop: the task is waiting for open
        await asyncio.sleep(0)
    assert ws.readyState == WebSocket.CONNECTING
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert ws.readyState in (WebSocket.CLOSING, WebSocket.CLOSED)
    event = await ws.wait_closed()
    assert (event.code, event.wasClean) == (1006, False)
    assert log.types == ["error", "close"]


@scenario
async def messages_a_listener_takes_are_not_kept_before_async_for(servers: Servers) -> None:
    # Memory stays bounded: from `async with` on, messages are kept for an
    # `async for`, but not those that a listener of the user's own receives
    # while no `async for` has started (nothing may ever iterate).
    async with WebSocket(servers.url("/echo")) as ws:
        heard: list[str] = []
        three = asyncio.Event()

        def listen(event: MessageEvent) -> None:
            heard.append(event.data)
            if len(heard) == 3:
                three.set()

        ws.onmessage = listen
        for word in ("a", "b", "c"):
            ws.send(word)
        await three.wait()
        ws.send("d")
        # The first message async for sees is the next one, not "a".
        assert await anext(ws) == "d"
        assert heard == ["a", "b", "c", "d"]


@scenario
async def messages_are_kept_for_async_for_without_a_listener(servers: Servers) -> None:
    # Without a listener of the user's own, every message from `async with`
    # on is kept, even those that arrive before `async for` starts.
    async with WebSocket(servers.url("/count", n=3, close=1000)) as ws:
        await ws.wait_closed()  # every message has arrived; no message listener
        assert [data async for data in ws] == ["0", "1", "2"]
