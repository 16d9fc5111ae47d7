"""The CPython driver's parts on their own: the write buffer and
``bufferedAmount``, message assembly, frame headers and masks, and the
opening handshake's response head. No WebSocket server: a fake transport,
or a plain TCP socket pair where the operating system is the subject."""

from __future__ import annotations

import asyncio
import socket
import sys
import tracemalloc
from collections.abc import Iterator

import pytest

from pyws_shim.backends.asyncio.assembly import MessageAssembler
from pyws_shim.backends.asyncio.framing import (
    FIN,
    MASK_PIECE,
    SHORT_HEADERS,
    TEXT,
    apply_mask,
    frame_header,
    masked_pieces,
)
from pyws_shim.backends.asyncio.handshake import (
    MAX_RESPONSE_HEAD,
    ResponseHeadTooLarge,
    handshake_head,
    response_head_length,
)
from pyws_shim.backends.asyncio.writer import FLUSH_SIZE, WriteBuffer, unacknowledged_bytes


class FakeTransport:
    """An asyncio write transport whose socket takes what the test says."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.unsent = 0  # bytes in the transport's own buffer
        self.closing = False
        # As asyncio's transports do with an empty buffer: send at once.
        self.sends_at_once = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        if not self.sends_at_once:
            self.unsent += len(data)

    def transmit(self, nbytes: int | None = None) -> None:
        self.unsent = 0 if nbytes is None else self.unsent - nbytes

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def next_turn(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def writer_on(loop: asyncio.AbstractEventLoop) -> tuple[WriteBuffer, FakeTransport]:
    writer = WriteBuffer(loop)
    transport = FakeTransport()
    writer.attach(transport)  # type: ignore[arg-type]
    return writer, transport


# bufferedAmount.


def test_many_messages_settle_in_order(loop: asyncio.AbstractEventLoop) -> None:
    """Thousands of messages, transmitted a few bytes at a time: bufferedAmount
    is always the application bytes of the messages not wholly transmitted."""
    writer, transport = writer_on(loop)
    sizes = [(i % 7) + 1 for i in range(3000)]  # application bytes; 2 more on the wire
    for size in sizes:
        writer.write(b"hh" + b"x" * size, size)
    next_turn(loop)
    wire_ends = []
    offset = 0
    for size in sizes:
        offset += size + 2
        wire_ends.append(offset)
    sent = 0
    # (after about 1,800 messages, the settled ones are compacted away: the
    # steps after it check the accounting across that)
    for step in (1, 5, 333, 1000, 4096, 5000, 20, 300, 2000, 10**6):
        sent = min(sent + step, offset)
        transport.unsent = offset - sent
        next_turn(loop)
        left = sum(size for size, end in zip(sizes, wire_ends, strict=True) if end > sent)
        assert writer.buffered_amount == left, (sent, writer.buffered_amount, left)
    assert writer.buffered_amount == 0


def test_buffered_amount_grows_in_send_and_falls_only_at_a_later_turn(
    loop: asyncio.AbstractEventLoop,
) -> None:
    writer, transport = writer_on(loop)
    transport.sends_at_once = True
    writer.write(b"frame-1", 5)
    assert transport.writes == [b"frame-1"]
    assert writer.buffered_amount == 5  # transmitted, but still this turn
    writer.write(b"frame-2", 3)  # waits for the next turn, to be joined with others
    assert writer.buffered_amount == 8
    seen: list[int] = []

    def in_the_next_turn() -> None:
        # The second write was handed over (and sent) at the start of this turn.
        assert transport.writes == [b"frame-1", b"frame-2"]
        seen.append(writer.buffered_amount)

    loop.call_soon(in_the_next_turn)
    next_turn(loop)
    assert seen == [3]  # the first message, transmitted last turn; not the second yet
    next_turn(loop)
    assert writer.buffered_amount == 0


def test_a_burst_in_the_transport_buffer_stays_counted(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    writer.write(b"x" * 1000, 996)
    for _ in range(3):
        next_turn(loop)
        assert writer.buffered_amount == 996  # not transmitted to the network yet
    transport.transmit(999)
    next_turn(loop)
    assert writer.buffered_amount == 996  # one byte of the frame left
    transport.transmit()
    next_turn(loop)
    assert writer.buffered_amount == 0


def test_control_frames_do_not_count(loop: asyncio.AbstractEventLoop) -> None:
    writer, _ = writer_on(loop)
    writer.write(b"\x88\x80abcd")  # a close frame
    assert writer.buffered_amount == 0


def test_what_a_lost_connection_never_sent_stays_counted(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    writer.write(b"a" * 10, 10)
    transport.transmit()
    next_turn(loop)
    writer.write(b"b" * 10, 10)
    writer.detach(drained=False)  # aborted with the second message unsent
    next_turn(loop)
    assert writer.buffered_amount == 10
    writer.write(b"c" * 4, 4)  # after the connection is gone
    next_turn(loop)
    assert writer.buffered_amount == 14


def test_a_drained_close_transmits_everything(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    writer.write(b"a" * 10, 10)
    transport.transmit()
    writer.detach(drained=True)
    next_turn(loop)
    assert writer.buffered_amount == 0


# Combined writes.


def test_the_first_write_of_a_turn_goes_at_once_the_rest_joined(
    loop: asyncio.AbstractEventLoop,
) -> None:
    writer, transport = writer_on(loop)
    for chunk in (b"1", b"2", b"3"):
        writer.write(chunk, 1)
    assert transport.writes == [b"1"]
    next_turn(loop)
    assert transport.writes == [b"1", b"23"]
    writer.write(b"4", 1)  # a new turn: at once again
    assert transport.writes == [b"1", b"23", b"4"]


def test_a_long_burst_goes_out_in_pieces(loop: asyncio.AbstractEventLoop) -> None:
    """Once FLUSH_SIZE bytes wait, they go without waiting for the next turn."""
    writer, transport = writer_on(loop)
    chunk = b"x" * 100
    writer.write(chunk, 100)  # at once
    count = 1
    while len(transport.writes) < 2:
        writer.write(chunk, 100)
        count += 1
    assert len(transport.writes[1]) == (count - 1) * 100 >= FLUSH_SIZE
    assert (count - 2) * 100 < FLUSH_SIZE


def test_writes_after_a_deferred_flush_are_not_forgotten(loop: asyncio.AbstractEventLoop) -> None:
    """A write later in the turn that handed over the deferred writes waits
    for the next turn, and goes then, even if nothing else is ever written."""
    writer, transport = writer_on(loop)
    writer.write(b"1", 1)
    writer.write(b"2", 1)  # deferred to the next turn

    def later_in_the_next_turn() -> None:
        assert transport.writes == [b"1", b"2"]
        writer.write(b"3", 1)
        writer.write(b"4", 1)

    loop.call_soon(later_in_the_next_turn)
    for _ in range(3):
        next_turn(loop)
    assert transport.writes == [b"1", b"2", b"34"]


@pytest.mark.parametrize("size", [1, MASK_PIECE - 1, MASK_PIECE, 3 * MASK_PIECE + 3])
def test_a_payload_masked_in_pieces_is_the_payload_masked(size: int) -> None:
    # RFC 6455 5.3: octet i is masked with octet i modulo 4 of the key, across
    # the pieces' boundaries too.
    payload = bytes(range(251)) * (size // 251) + bytes(range(size % 251))
    mask = b"\x01\x80\xfe\x37"
    pieces = masked_pieces(payload, mask)
    assert b"".join(pieces) == apply_mask(payload, mask)
    assert [len(piece) for piece in pieces[:-1]] == [MASK_PIECE] * (len(pieces) - 1)
    assert 0 < len(pieces[-1]) <= MASK_PIECE


def test_large_frames_are_not_joined(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    pieces = [b"x" * MASK_PIECE, b"y" * 7]
    writer.write(b"small", 5)
    writer.write_large(b"head", pieces, MASK_PIECE + 7)
    assert transport.writes == [b"small", b"head", *pieces]
    assert writer.queued == 5 + 4 + MASK_PIECE + 7
    assert writer.buffered_amount == 5 + MASK_PIECE + 7


def test_a_paused_transport_gets_nothing_until_it_resumes(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    writer.pause()
    writer.write(b"a", 1)
    writer.write_large(b"h", [b"b" * MASK_PIECE, b"c" * 4], MASK_PIECE + 4)
    next_turn(loop)
    assert transport.writes == []
    assert writer.buffered_amount == 1 + MASK_PIECE + 4
    writer.resume()
    # The large frame's pieces go one by one, never joined.
    assert transport.writes == [b"a", b"h", b"b" * MASK_PIECE, b"c" * 4]
    assert writer.undelivered() == 1 + 1 + MASK_PIECE + 4  # the transport has not sent them
    transport.transmit()
    assert writer.undelivered() == 0


def test_force_flushes_through_a_pause(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    writer.pause()
    writer.write(b"a", 1)
    writer.flush(force=True)
    assert transport.writes == [b"a"]


def test_a_closing_transport_gets_nothing(loop: asyncio.AbstractEventLoop) -> None:
    writer, transport = writer_on(loop)
    writer.closing()  # the driver closes the transport
    writer.write(b"a", 1)
    next_turn(loop)
    assert transport.writes == []
    assert writer.buffered_amount == 1


@pytest.mark.skipif(sys.platform != "linux", reason="SIOCOUTQ is Linux's; elsewhere it reads 0")
def test_unacknowledged_bytes_sees_a_peer_that_does_not_read() -> None:
    """Bytes that left the transport but wait in the socket's send queue
    (the peer's window is full) have not reached the peer."""

    async def main() -> None:
        server_ready: asyncio.Future[socket.socket] = asyncio.get_running_loop().create_future()
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        loop = asyncio.get_running_loop()
        client_transport, _ = await loop.create_connection(
            asyncio.Protocol, *listener.getsockname()
        )
        peer, _ = await loop.sock_accept(listener)
        server_ready.set_result(peer)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert unacknowledged_bytes(client_transport) == 0
        client_transport.write(b"x" * (16 * 2**20))  # more than the buffers hold
        for _ in range(50):
            await asyncio.sleep(0.01)
            if unacknowledged_bytes(client_transport) > 0:
                break
        assert unacknowledged_bytes(client_transport) > 0
        client_transport.abort()
        peer.close()
        listener.close()
        await asyncio.sleep(0)

    asyncio.run(main())


def test_unacknowledged_bytes_without_a_socket_is_zero() -> None:
    assert unacknowledged_bytes(FakeTransport()) == 0  # type: ignore[arg-type]


# Frames.


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, b"\x80"),
        (125, b"\xfd"),
        (126, b"\xfe\x00\x7e"),
        (65535, b"\xfe\xff\xff"),
        (65536, b"\xff" + (65536).to_bytes(8, "big")),
    ],
)
def test_frame_header_uses_the_shortest_length(length: int, encoded: bytes) -> None:
    mask = b"abcd"
    assert frame_header(FIN | TEXT, length, mask) == bytes([FIN | TEXT]) + encoded + mask


def test_short_headers_are_frame_header() -> None:
    for head1, headers in SHORT_HEADERS.items():
        for length, header in enumerate(headers):
            assert header + b"mask" == frame_header(head1, length, b"mask")


def test_apply_mask() -> None:
    assert apply_mask(b"\x00\x00\x00\x00\x00", b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04\x01"


# Message assembly.


def test_fragments_make_one_message() -> None:
    assembler = MessageAssembler()
    assembler.begin(True, b"frag")
    assert assembler.in_progress
    assert assembler.size == 4
    assembler.extend(b"m")
    assert assembler.size == 5
    assert assembler.finish(b"ent") == "fragment"
    assert not assembler.in_progress
    assert assembler.size == 0
    assembler.begin(False, b"\x00")
    assembler.extend(b"")
    assert assembler.finish(b"\xff") == b"\x00\xff"


def test_a_character_split_across_fragments_is_whole() -> None:
    assembler = MessageAssembler()
    data = "é✓".encode()
    assembler.begin(True, data[:1])
    assembler.extend(data[1:3])
    assert assembler.finish(data[3:]) == "é✓"


def test_invalid_utf8_fails_at_the_fragment_that_holds_it() -> None:
    assembler = MessageAssembler()
    assembler.begin(True, b"ok")
    with pytest.raises(UnicodeDecodeError):
        assembler.extend(b"\xff")


def test_text_cut_short_fails_at_the_last_fragment() -> None:
    assembler = MessageAssembler()
    assembler.begin(True, b"ok")
    assembler.extend("é".encode()[:1])  # may continue in the next fragment
    with pytest.raises(UnicodeDecodeError):
        assembler.finish(b"")


def test_discard_drops_the_message() -> None:
    assembler = MessageAssembler()
    assembler.begin(False, b"abc")
    assembler.discard()
    assert not assembler.in_progress
    assembler.begin(True, b"new")
    assert assembler.finish(b"") == "new"


def test_tiny_fragments_cost_about_the_message_size() -> None:
    """Issue 7: 2-byte fragments of a large message must not amplify memory."""
    size = 1_000_000
    assembler = MessageAssembler()
    tracemalloc.start()
    try:
        assembler.begin(False, b"ab")
        for _ in range(size // 2 - 2):
            assembler.extend(b"ab")
        message = assembler.finish(b"ab")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(message) == size
    assert peak < 4 * size, f"peak {peak} bytes for a {size}-byte message"


# The opening handshake's response.


def test_response_head_length() -> None:
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    assert response_head_length(head[:-1]) is None
    assert response_head_length(head + b"\x81\x00") == len(head)
    assert response_head_length(b"HTTP/1.1 101 OK\n\nrest") == len(b"HTTP/1.1 101 OK\n\n")


def test_a_response_head_over_the_limit_is_refused() -> None:
    with pytest.raises(ResponseHeadTooLarge):
        response_head_length(b"HTTP/1.1 101 OK\r\n" + b"X: y\r\n" * (MAX_RESPONSE_HEAD // 6))
    big = b"HTTP/1.1 101 OK\r\nX: " + b"y" * MAX_RESPONSE_HEAD + b"\r\n\r\n"
    with pytest.raises(ResponseHeadTooLarge):
        response_head_length(big)


def test_handshake_head_keeps_what_the_handshake_reads() -> None:
    cookie = b"Set-Cookie: " + b"a" * 16384
    many = [b"X-%d: v" % i for i in range(200)]
    head = b"\r\n".join(
        [
            b"HTTP/1.1 101 Switching Protocols",
            b"Upgrade: websocket",
            cookie,
            b" folded continuation of the cookie",
            *many,
            b"connection: Upgrade",
            b"Sec-WebSocket-Accept: abc=",
            b"Sec-WebSocket-Extensions: permessage-deflate",
            b"\tfolded, kept",
            b"Content-Length: 0",
            b"",
            b"",
        ]
    )
    assert handshake_head(head) == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nconnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: abc=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
        b"\tfolded, kept\r\nContent-Length: 0\r\n\r\n"
    )


def test_a_head_with_bare_line_feeds_goes_to_the_core_unchanged() -> None:
    head = b"HTTP/1.1 101 OK\nUpgrade: websocket\n\n"
    assert handshake_head(head) == head
