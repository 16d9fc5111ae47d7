"""Scenarios: the File API's ``Blob``, alone and over a WebSocket.

The File API (https://w3c.github.io/FileAPI/) is the reference: the Blob
constructor (parts, type, endings), slice(), and the reads (arrayBuffer(),
bytes(), text()); and the WebSockets Standard for a Blob sent and received.
"""

from __future__ import annotations

import asyncio
import sys

from pyws_shim import Blob, MessageEvent, WebSocket

from . import Servers, scenario
from ._support import raises

DIGITS = b"0123456789"


async def content(blob: Blob) -> bytes:
    """The bytes of ``blob``, read both ways (they must agree)."""
    data = await blob.bytes()
    buffer = await blob.arrayBuffer()
    assert isinstance(data, bytes), type(data)
    assert isinstance(buffer, bytes), type(buffer)
    assert data == buffer, (data, buffer)
    assert len(data) == blob.size, (len(data), blob.size)
    return data


async def echo(servers: Servers, binary_type: str, *payloads: object) -> list[object]:
    """Send ``payloads`` to /echo; return the data of the echoed messages."""
    ws = WebSocket(servers.url("/echo"))
    ws.binaryType = binary_type  # type: ignore[assignment]
    received: list[object] = []
    done = asyncio.Event()

    def on_message(event: MessageEvent) -> None:
        received.append(event.data)
        if len(received) == len(payloads):
            done.set()

    ws.onmessage = on_message
    await ws.wait_open()
    for payload in payloads:
        ws.send(payload)  # type: ignore[arg-type]
    await done.wait()
    ws.close()
    await ws.wait_closed()
    return received


# The constructor.


@scenario
async def blob_empty_by_default(servers: Servers) -> None:
    for blob in (Blob(), Blob([]), Blob(()), Blob([], {}), Blob([], None)):
        assert blob.size == 0, blob.size
        assert blob.type == "", blob.type
        assert await content(blob) == b""
        assert await blob.text() == ""


@scenario
async def blob_parts_are_concatenated(servers: Servers) -> None:
    inner = Blob([b"ij", "k"])
    blob = Blob(
        [b"ab", bytearray(b"cd"), memoryview(b"ef"), "gh", inner, b"", "", Blob()],
    )
    assert blob.size == 11, blob.size
    assert await content(blob) == b"abcdefghijk"
    # Any iterable of parts.
    assert await content(Blob(part for part in (b"x", "y"))) == b"xy"
    assert await content(Blob((b"1", b"2"))) == b"12"
    # A memoryview of part of a buffer holds only that part.
    assert await content(Blob([memoryview(b"0123456789")[2:5]])) == b"234"


@scenario
async def blob_copies_its_parts(servers: Servers) -> None:
    buffer = bytearray(b"abc")
    view = memoryview(buffer)
    blob = Blob([buffer, view])
    buffer[0] = ord("z")
    assert await content(blob) == b"abcabc", "the Blob changed with its source"


@scenario
async def blob_str_parts_are_utf8(servers: Servers) -> None:
    blob = Blob(["héllo ✓ 😀"])
    assert await content(blob) == "héllo ✓ 😀".encode()
    assert blob.size == len("héllo ✓ 😀".encode())
    assert await blob.text() == "héllo ✓ 😀"


@scenario
async def blob_lone_surrogates_become_replacement_characters(servers: Servers) -> None:
    blob = Blob(["a\ud800b", "\udc00"])
    assert await content(blob) == b"a\xef\xbf\xbdb\xef\xbf\xbd"
    assert blob.size == 8, blob.size
    assert await blob.text() == "a\ufffdb\ufffd"
    # A high surrogate followed by a low one is the pair it would be in JavaScript.
    assert await content(Blob(["\ud83d\ude00"])) == "😀".encode()
    # Each part is converted on its own: a pair split across parts is two lone halves.
    assert await content(Blob(["\ud83d", "\ude00"])) == "\ufffd\ufffd".encode()


@scenario
async def blob_type_is_lowercased(servers: Servers) -> None:
    assert Blob([], {"type": "Text/Plain;Charset=UTF-8"}).type == "text/plain;charset=utf-8"
    assert Blob([b"x"], {"type": "APPLICATION/OCTET-STREAM"}).type == "application/octet-stream"
    assert Blob([], {"type": ""}).type == ""
    # Any ASCII-printable string is kept, even if it is not a valid MIME type.
    assert Blob([], {"type": "not a mime type!"}).type == "not a mime type!"


@scenario
async def blob_type_with_non_printable_characters_is_empty(servers: Servers) -> None:
    for bad in ("text/plaín", "text/plain\x00", "a\tb", "text/\x7f", "\u2603", "a\nb"):
        blob = Blob([b"data"], {"type": bad})
        assert blob.type == "", f"type {bad!r} gave {blob.type!r}"
        assert blob.size == 4


@scenario
async def blob_native_endings_convert_line_breaks_in_str_parts(servers: Servers) -> None:
    text = "a\r\nb\rc\nd\r\r\ne\n\r"
    native = Blob([text, b"x\r\ny\r"], {"endings": "native"})
    # The native line ending is "\r\n" on Windows, "\n" elsewhere; bytes parts are kept.
    eol = b"\r\n" if sys.platform == "win32" else b"\n"
    expected = eol.join([b"a", b"b", b"c", b"d", b"", b"e", b"", b""]) + b"x\r\ny\r"
    assert await content(native) == expected, await native.bytes()
    transparent = Blob([text], {"endings": "transparent"})
    assert await content(transparent) == text.encode()
    assert await content(Blob([text])) == text.encode(), "transparent is the default"


@scenario
async def blob_bad_parts_are_type_error(servers: Servers) -> None:
    for parts in (5, "abc", b"abc", None, [5], [None], [b"ok", 1.5], [["nested"]]):
        raises(TypeError, f"Blob({parts!r})", Blob, parts)
    raises(TypeError, "Blob([], 'text/plain')", Blob, [], "text/plain")
    raises(TypeError, "Blob([], {'type': 5})", Blob, [], {"type": 5})
    raises(TypeError, "Blob([], {'endings': 'unix'})", Blob, [], {"endings": "unix"})


# slice().


@scenario
async def blob_slice_positions(servers: Servers) -> None:
    blob = Blob([DIGITS], {"type": "text/plain"})
    cases: list[tuple[int | None, int | None, bytes]] = [
        (None, None, DIGITS),
        (2, None, b"23456789"),
        (2, 5, b"234"),
        (0, 0, b""),
        (-3, None, b"789"),
        (-3, -1, b"78"),
        (1, -1, b"12345678"),
        (None, 4, b"0123"),
        (None, -8, b"01"),
        (5, 100, b"56789"),
        (100, None, b""),
        (100, 200, b""),
        (-100, 2, b"01"),
        (-100, -100, b""),
        (6, 3, b""),
        (-2, -5, b""),
        (10, 10, b""),
    ]
    for start, end, expected in cases:
        part = blob.slice(start, end)
        assert isinstance(part, Blob)
        got = await content(part)
        assert got == expected, f"slice({start}, {end}) == {got!r}, expected {expected!r}"
        assert part.size == len(expected)
    # The arguments are optional.
    assert await content(blob.slice()) == DIGITS
    assert await content(blob.slice(7)) == b"789"
    assert await content(blob.slice(-2)) == b"89"
    assert await content(blob.slice(end=2)) == b"01"
    # The original is untouched.
    assert await content(blob) == DIGITS


@scenario
async def blob_slice_content_type(servers: Servers) -> None:
    blob = Blob([DIGITS], {"type": "text/plain"})
    # Without a contentType the slice's type is "", not the original's.
    assert blob.slice().type == "", blob.slice().type
    assert blob.slice(0, 3, "Text/HTML").type == "text/html"
    assert blob.slice(contentType="application/JSON").type == "application/json"
    assert blob.slice(0, 3, "bad\u00e9").type == ""
    assert await content(blob.slice(0, 3, "text/html")) == b"012"


@scenario
async def blob_slice_of_slice(servers: Servers) -> None:
    blob = Blob([b"abc", "def", Blob([b"ghij"])])
    middle = blob.slice(2, -2)
    assert await content(middle) == b"cdefgh"
    inner = middle.slice(1, -1)
    assert await content(inner) == b"defg"
    assert await content(inner.slice(-1)) == b"g"
    assert await content(Blob([inner, middle.slice(0, 1)])) == b"defgc"


# Reading.


@scenario
async def blob_text_decodes_utf8_with_replacement(servers: Servers) -> None:
    cases = [
        (b"plain", "plain"),
        ("héllo ✓".encode(), "héllo ✓"),
        (b"a\xffb", "a\ufffdb"),
        (b"\xc3", "\ufffd"),
        (b"\xe2\x82", "\ufffd"),  # a truncated sequence is one U+FFFD
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),  # an encoded surrogate is not UTF-8
        (b"\xef\xbb\xbfbom", "bom"),  # a leading BOM is dropped
        (b"\xef\xbb\xbf\xef\xbb\xbfx", "\ufeffx"),  # only one
        (b"x\xef\xbb\xbf", "x\ufeff"),  # not at the start: kept
        (b"\xef\xbb\xbf", ""),
    ]
    for data, expected in cases:
        text = await Blob([data]).text()
        assert text == expected, f"Blob([{data!r}]).text() == {text!r}, expected {expected!r}"


@scenario
async def blob_reads_are_awaitable(servers: Servers) -> None:
    blob = Blob(["ab", b"\x00\xff"])
    results = await asyncio.gather(blob.arrayBuffer(), blob.bytes(), blob.text())
    assert results[0] == b"ab\x00\xff"
    assert results[1] == b"ab\x00\xff"
    assert results[2] == "ab\x00\ufffd"
    # A second read gives the same bytes again.
    assert await blob.bytes() == b"ab\x00\xff"
    assert await blob.text() == "ab\x00\ufffd"


# Over a WebSocket.


@scenario
async def blob_sent_arrives_as_the_same_bytes(servers: Servers) -> None:
    payloads = [
        Blob([b"\x00\x01\x02\xff"]),
        Blob(["text in a blob ✓"], {"type": "text/plain"}),  # still a binary message
        Blob([b"abc", Blob([b"def"])]).slice(1, -1),
        Blob([bytes(range(256)) * 40]),
    ]
    received = await echo(servers, "arraybuffer", *payloads)
    expected = [
        b"\x00\x01\x02\xff",
        "text in a blob ✓".encode(),
        b"bcde",
        bytes(range(256)) * 40,
    ]
    assert len(received) == len(expected), received
    for got, want in zip(received, expected, strict=True):
        assert isinstance(got, bytes), f"a Blob came back as {type(got).__name__}: {got!r}"
        assert got == want, (len(got), len(want))


@scenario
async def blob_received_when_binary_type_is_blob(servers: Servers) -> None:
    size = 300
    expected = (bytes(range(256)) * 2)[:size]
    ws = WebSocket(servers.url("/bytes", size=size))
    assert ws.binaryType == "blob"
    received: asyncio.Future[MessageEvent] = asyncio.get_running_loop().create_future()

    def on_message(event: MessageEvent) -> None:
        if not received.done():
            received.set_result(event)

    ws.onmessage = on_message
    event = await received
    data = event.data
    assert isinstance(data, Blob), f"expected a Blob, got {type(data).__name__}"
    assert data.size == size, data.size
    assert data.type == "", data.type
    assert await content(data) == expected
    assert await content(data.slice(250, 260)) == expected[250:260]
    ws.close()
    await ws.wait_closed()
    # Still readable after the socket closed, and usable as a part.
    assert await content(data) == expected
    assert await content(Blob([b"<", data, b">"])) == b"<" + expected + b">"


@scenario
async def blob_echo_round_trip_as_blob(servers: Servers) -> None:
    sent = [Blob([b"one"]), b"two", bytearray(b"three")]
    received = await echo(servers, "blob", *sent)
    contents = []
    for data in received:
        assert isinstance(data, Blob), f"expected a Blob, got {type(data).__name__}"
        contents.append(await content(data))
    assert contents == [b"one", b"two", b"three"], contents
    # A received Blob can be sent on as it is.
    (again,) = await echo(servers, "arraybuffer", received[0])
    assert again == b"one", again


@scenario
async def empty_blob_is_an_empty_binary_message(servers: Servers) -> None:
    received = await echo(servers, "arraybuffer", Blob(), Blob([b""]), Blob([b"abc"]).slice(2, 1))
    assert received == [b"", b"", b""], received
    received = await echo(servers, "blob", Blob())
    (data,) = received
    assert isinstance(data, Blob), f"expected a Blob, got {type(data).__name__}"
    assert data.size == 0
    assert await content(data) == b""
