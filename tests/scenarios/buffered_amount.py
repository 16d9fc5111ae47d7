"""Scenarios: bufferedAmount.

"The bufferedAmount getter steps are to return the number of bytes of
application data (UTF-8 text and binary data) that have been queued using
send() but that, as of the last time the event loop reached step 1, had not
yet been transmitted to the network." It grows synchronously in send(), and
keeps growing, never draining, for data sent once the closing handshake has
started.
"""

from __future__ import annotations

from pyws_shim import Blob, WebSocket

from . import Servers, scenario
from ._support import MS, eventually


@scenario
async def buffered_amount_grows_synchronously_by_utf8_length(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    ws.binaryType = "arraybuffer"
    assert ws.bufferedAmount == 0
    ws.send("héllo")  # 6 UTF-8 bytes
    assert ws.bufferedAmount == 6
    ws.send(b"abc")
    assert ws.bufferedAmount == 9
    ws.send(Blob([b"12345"]))
    assert ws.bufferedAmount == 14
    ws.send("\ud800")  # a lone surrogate is sent as U+FFFD: 3 bytes
    assert ws.bufferedAmount == 17
    # "As of the last time the event loop reached step 1": the server echoes
    # a message once it has received all of it, so once the last echo has
    # come, at any later turn of the loop every byte had been transmitted
    # before that turn began, and none is counted any more.
    echoed: list[object] = []
    ws.onmessage = lambda event: echoed.append(event.data)
    await eventually(lambda: len(echoed) == 4)  # looks at a later turn than the echo's
    assert echoed == ["héllo", b"abc", b"12345", "\ufffd"], echoed
    assert ws.bufferedAmount == 0, ws.bufferedAmount
    ws.close()
    await ws.wait_closed()


@scenario
async def buffered_amount_drains_after_large_sends(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    chunk = b"\x5a" * 2**20
    for _ in range(8):
        ws.send(chunk)
    assert ws.bufferedAmount == 8 * 2**20
    await eventually(lambda: ws.bufferedAmount == 0, within=20_000 * MS)
    ws.close()
    await ws.wait_closed()


@scenario
async def data_sent_while_closing_or_closed_is_counted_for_ever(servers: Servers) -> None:
    ws = await WebSocket(servers.url("/echo"))
    ws.close()
    assert ws.readyState == WebSocket.CLOSING
    ws.send("abcd")
    assert ws.bufferedAmount == 4
    ws.send(b"xy")
    assert ws.bufferedAmount == 6
    await ws.wait_closed()
    assert ws.bufferedAmount == 6
    ws.send("é")
    assert ws.bufferedAmount == 8
    ws.send(Blob(["123"]))
    assert ws.bufferedAmount == 11


@scenario
async def data_sent_after_server_close_is_counted(servers: Servers) -> None:
    ws = WebSocket(servers.url("/close", code=4000, reason="bye"))
    counted: list[int] = []

    def on_close(event: object) -> None:
        ws.send("after close")
        counted.append(ws.bufferedAmount)

    ws.onclose = on_close
    await ws.wait_closed()
    assert counted == [len("after close")]
