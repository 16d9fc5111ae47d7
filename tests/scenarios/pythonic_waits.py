"""Scenarios: what the additions beyond the DOM wait for (``wait_open()``,
``wait_closed()``, ``async for``), and what they leave alone.

They follow the connection, so only the events the socket fires from the
network count (``isTrusted``): an event a script dispatches on the socket
is for its listeners, and ends no wait. A pending ``anext()`` that is
cancelled (a timeout) takes nothing with it. And until an ``async for``
starts, a message that a listener of the user's own received is not kept
for it (``_MessageQueue``: nothing may ever iterate, and memory stays
bounded).
"""

from __future__ import annotations

import asyncio

from pyws_shim import CloseEvent, ConnectionClosed, Event, MessageEvent, WebSocket

from . import Servers, scenario


@scenario
async def a_dispatched_close_event_ends_no_wait(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"))
    opening = asyncio.ensure_future(ws.wait_open())
    closing = asyncio.ensure_future(ws.wait_closed())
    await asyncio.sleep(0)  # both wait now
    # A script's own close event, while the socket is still connecting.
    fake = CloseEvent("close", code=4000, reason="fake", wasClean=True)
    assert ws.dispatchEvent(fake) is True
    try:
        await opening  # it opens: the fake close did not end the wait
    except ConnectionClosed as exc:
        raise AssertionError("wait_open() ended on a dispatched close event") from exc
    assert ws.readyState == WebSocket.OPEN
    ws.close(4001, "real")
    event = await closing
    assert event is not fake
    assert event.isTrusted
    assert (event.code, event.reason, event.wasClean) == (4001, "real", True)


@scenario
async def a_dispatched_open_event_ends_no_wait(servers: Servers) -> None:
    ws = WebSocket(servers.url("/close", code=4002, reason="no"))
    opening = asyncio.ensure_future(ws.wait_open())
    await asyncio.sleep(0)
    assert ws.dispatchEvent(Event("open")) is True
    # The server closes right after the handshake: wait_open() returns at the
    # real open event, not at the dispatched one (which fired before it).
    await opening
    assert ws.readyState in (WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED)
    event = await ws.wait_closed()
    assert (event.code, event.reason) == (4002, "no")


@scenario
async def a_dispatched_close_event_does_not_end_async_for(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        ws.dispatchEvent(CloseEvent("close", code=1000, wasClean=True))
        ws.dispatchEvent(MessageEvent("message", data="fake"))
        ws.send("real")
        # Neither the fake close nor the fake message reached the iteration.
        assert await anext(ws) == "real"
        ws.close()
        assert [data async for data in ws] == []


@scenario
async def a_cancelled_anext_takes_no_message(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        # Nothing comes unasked from /echo: this anext() times out, cancelled.
        try:
            await asyncio.wait_for(anext(ws), 0.05)
        except TimeoutError:
            pass
        else:
            raise AssertionError("a message came that nobody sent")
        ws.send("one")
        ws.send("two")
        # The cancelled wait took nothing: both messages are there, in order.
        assert [await anext(ws), await anext(ws)] == ["one", "two"]


@scenario
async def messages_a_listener_took_before_async_for_are_not_kept(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        heard: list[str] = []
        arrived = asyncio.Event()

        def on_message(event: MessageEvent) -> None:
            heard.append(event.data)
            arrived.set()

        ws.onmessage = on_message
        ws.send("for the listener")
        await asyncio.wait_for(arrived.wait(), 10)
        ws.onmessage = None
        ws.send("for async for")
        # Once an async for has started, every message is kept for it, even
        # those a listener receives too.
        assert await anext(ws) == "for async for"
        ws.onmessage = on_message
        ws.send("for both")
        assert await anext(ws) == "for both"
        assert heard == ["for the listener", "for both"]
