"""Scenarios: sending and receiving messages (send(), the message event, binaryType)."""

from __future__ import annotations

import asyncio

from pyws_shim import Blob, MessageEvent, WebSocket

from . import Servers, scenario


@scenario
async def text_and_binary_echo(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    ws.binaryType = "arraybuffer"
    received: list[MessageEvent] = []
    got_three = asyncio.Event()

    def on_message(event: MessageEvent) -> None:
        received.append(event)
        if len(received) == 3:
            got_three.set()

    ws.onmessage = on_message
    ws.send("héllo ✓")
    ws.send(b"\x00\x01\xff")
    ws.send(bytearray(b"ba"))
    await got_three.wait()
    assert [e.data for e in received] == ["héllo ✓", b"\x00\x01\xff", b"ba"]
    origin = servers.ws
    assert all(e.origin == origin and e.lastEventId == "" for e in received)
    assert all(e.type == "message" and e.isTrusted for e in received)
    assert all(e.target is ws and e.currentTarget is None for e in received)
    ws.close()
    await ws.wait_closed()


@scenario
async def binary_type_blob_is_default(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        assert ws.binaryType == "blob"
        ws.send(b"blob data")
        data = await anext(ws)
        assert isinstance(data, Blob)
        assert data.size == 9
        assert await data.bytes() == b"blob data"


@scenario
async def empty_text_and_binary_messages(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        ws.binaryType = "arraybuffer"
        ws.send("")
        ws.send(b"")
        ws.send(Blob())
        assert [await anext(ws), await anext(ws), await anext(ws)] == ["", b"", b""]


@scenario
async def bytes_like_and_blob_payloads(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        ws.binaryType = "arraybuffer"
        source = bytearray(b"0123456789")
        view = memoryview(source)[::2]  # not contiguous
        ws.send(view)
        ws.send(source)
        source[0:1] = b"X"  # send() copied the data: this change is not sent
        ws.send(Blob([b"ab", "ç", Blob([b"d"])]))
        ws.send(memoryview(b"mv"))
        received = [await anext(ws) for _ in range(4)]
        assert received == [b"02468", b"0123456789", b"ab\xc3\xa7d", b"mv"]


@scenario
async def lone_surrogates_are_sent_as_replacement_characters(servers: Servers) -> None:
    async with WebSocket(servers.url("/echo")) as ws:
        ws.send("a\ud800b")
        ws.send("\udc00")
        ws.send("\ud83d\ude00")  # a surrogate pair, as JavaScript strings hold it
        assert [await anext(ws) for _ in range(3)] == ["a\ufffdb", "\ufffd", "\U0001f600"]


@scenario
async def fragmented_messages_are_delivered_whole(servers: Servers) -> None:
    async with WebSocket(servers.url("/fragmented", kind="text")) as ws:
        assert await anext(ws) == "fragménted ✓"
    ws = WebSocket(servers.url("/fragmented", kind="binary"))
    ws.binaryType = "arraybuffer"  # before open: the server sends at once
    async with ws:
        got = await anext(ws)
        assert got == b"\x00\x01\x02\xff", repr(got)


@scenario
async def server_ping_is_answered(servers: Servers) -> None:
    async with WebSocket(servers.url("/ping", data="are you there")) as ws:
        # The server sends this only once our pong came back.
        assert await anext(ws) == "pong:are you there"


@scenario
async def sixteen_mebibyte_messages_both_ways(servers: Servers) -> None:
    size = 16 * 2**20
    ws = WebSocket(servers.url("/bytes", size=size))
    ws.binaryType = "arraybuffer"  # before open: the server sends at once
    async with ws:
        data = await anext(ws)
        assert isinstance(data, bytes)
        assert len(data) == size
        assert data[:3] == b"\x00\x01\x02"
        assert data[-1] == (size - 1) % 256
    async with WebSocket(servers.url("/echo")) as ws:
        ws.binaryType = "arraybuffer"
        payload = bytes(range(251)) * (size // 251) + b"end"
        ws.send(payload)
        echoed = await anext(ws)
        assert echoed == payload
        text = "é" * (size // 2)
        ws.send(text)
        assert await anext(ws) == text


@scenario
async def thousands_of_messages_arrive_in_order(servers: Servers) -> None:
    count = 5000
    async with WebSocket(servers.url("/count", n=count)) as ws:
        received = [await anext(ws) for _ in range(count)]
        assert received == [str(i) for i in range(count)]
    async with WebSocket(servers.url("/echo")) as ws:
        for i in range(count):
            ws.send(str(i) if i % 2 else str(i).encode())
        ws.binaryType = "arraybuffer"
        echoed = [await anext(ws) for _ in range(count)]
        assert echoed == [str(i) if i % 2 else str(i).encode() for i in range(count)]


@scenario
async def messages_after_close_are_not_dispatched(servers: Servers) -> None:
    # "When a WebSocket message has been received ... If ready state is not
    # OPEN, then return": once close() is called, no message event fires.
    ws = WebSocket(servers.url("/count", n=2000))  # the server sends at once
    seen: list[str] = []
    closed_at: list[int] = []

    def on_message(event: MessageEvent) -> None:
        seen.append(event.data)
        if len(seen) == 3:
            ws.close()
            closed_at.append(len(seen))

    ws.onmessage = on_message
    await ws.wait_closed()
    assert closed_at == [3]
    assert seen == ["0", "1", "2"]


@scenario
async def send_inside_message_listener(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    seen: list[str] = []
    done = asyncio.Event()

    def on_message(event: MessageEvent) -> None:
        seen.append(event.data)
        if len(seen) < 5:
            ws.send(event.data + "+")
        else:
            done.set()

    ws.onmessage = on_message
    ws.send("m")
    await done.wait()
    assert seen == ["m", "m+", "m++", "m+++", "m++++"]
    ws.close()
    await ws.wait_closed()
