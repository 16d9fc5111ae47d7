"""The fast receive path against the websockets core, on random frame streams.

pyws_shim's CPython driver reads data frames itself (``receiver.Receiver``)
and leaves control frames and anything unusual to the websockets sans-I/O
core. This test proves that the shortcut changes nothing: random streams of
frames (well-formed fragmented messages, control frames between fragments,
reserved bits and opcodes, masked and oversized frames, invalid UTF-8 in one
frame or split across fragments, messages over ``max_size``, with and without
permessage-deflate) go, split at random points, through the receiver, and
frame by frame through a reference made of the core alone plus the message
assembly the core leaves to its caller (UTF-8, as the websockets library's
own connections do). Both must deliver the same messages, report the same
closing handshake, pongs and failure, leave the core in the same state, and
write the same frames.

The one difference on purpose is in :func:`reference_close_rule`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.exceptions import ProtocolError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from pyws_shim.backends import Closure
from pyws_shim.backends.asyncio.receiver import Receiver

# Frames, as bytes a server writes (possibly wrong ones).


@dataclass(frozen=True)
class RawFrame:
    opcode: int
    payload: bytes
    fin: bool = True
    rsv: int = 0  # bits 0x40, 0x20, 0x10
    masked: bool = False

    def serialize(self) -> bytes:
        head1 = (0x80 if self.fin else 0) | self.rsv | self.opcode
        length = len(self.payload)
        mask_bit = 0x80 if self.masked else 0
        if length < 126:
            header = bytes((head1, mask_bit | length))
        elif length < 65536:
            header = bytes((head1, mask_bit | 126)) + length.to_bytes(2, "big")
        else:
            header = bytes((head1, mask_bit | 127)) + length.to_bytes(8, "big")
        if not self.masked:
            return header + self.payload
        key = b"\x01\x02\x03\x04"
        return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(self.payload))


INVALID_UTF8 = [b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\xe2\x82"]
CLOSE_CODES = [1000, 1001, 1003, 1007, 1011, 3000, 4999, 0, 999, 1004, 1005, 1006, 1015, 2999, 5000]

text_payloads = st.one_of(
    st.text(max_size=20).map(str.encode),
    st.sampled_from(INVALID_UTF8),
    st.text(min_size=40, max_size=200).map(str.encode),
)
binary_payloads = st.one_of(
    st.binary(max_size=30),
    st.binary(min_size=126, max_size=300),
    st.just(bytes(range(256)) * 300),  # 76,800 bytes: a 64-bit length, a buffer of its own
)


@st.composite
def messages(draw: st.DrawFn) -> list[RawFrame]:
    """One message, possibly fragmented at any byte (characters included)."""
    text = draw(st.booleans())
    payload = draw(text_payloads if text else binary_payloads)
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
    return [
        RawFrame((1 if text else 2) if i == 0 else 0, piece, fin=i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    ]


@st.composite
def control_frames(draw: st.DrawFn) -> RawFrame:
    kind = draw(st.sampled_from(["ping", "pong", "close"]))
    if kind == "close":
        body = draw(
            st.one_of(
                st.just(b""),
                st.just(b"\x03"),  # 1 byte: invalid
                st.builds(
                    lambda code, reason: code.to_bytes(2, "big") + reason,
                    st.sampled_from(CLOSE_CODES),
                    st.one_of(st.text(max_size=10).map(str.encode), st.sampled_from(INVALID_UTF8)),
                ),
            )
        )
        return RawFrame(8, body)
    payload = draw(st.one_of(st.binary(max_size=20), st.binary(min_size=126, max_size=130)))
    return RawFrame(9 if kind == "ping" else 10, payload)


@st.composite
def odd_frames(draw: st.DrawFn) -> RawFrame:
    """Frames that break a rule (or look as if they might)."""
    return RawFrame(
        opcode=draw(st.sampled_from([0, 1, 2, 3, 7, 8, 9, 11, 15])),
        payload=draw(st.binary(max_size=20)),
        fin=draw(st.booleans()),
        rsv=draw(st.sampled_from([0, 0x40, 0x20, 0x10])),
        masked=draw(st.booleans()),
    )


unfinished_messages = messages().map(
    lambda frames: [*frames[:-1], RawFrame(frames[0].opcode, frames[-1].payload, fin=False)][:2]
)

streams = st.lists(
    st.one_of(
        messages(),
        messages(),
        unfinished_messages,  # so that the next message interleaves with it
        control_frames().map(lambda frame: [frame]),
        odd_frames().map(lambda frame: [frame]),
    ),
    max_size=8,
).map(lambda groups: [frame for group in groups for frame in group])


# Two clients in the OPEN state, and what they write.


def open_client(deflate: bool, max_size: int | None) -> tuple[ClientProtocol, ServerProtocol]:
    client = ClientProtocol(
        parse_uri("ws://example.com/"),
        extensions=[ClientPerMessageDeflateFactory()] if deflate else None,
        max_size=max_size,
    )
    server = ServerProtocol(
        extensions=[ServerPerMessageDeflateFactory()] if deflate else None, max_size=None
    )
    client.send_request(client.connect())
    for chunk in client.data_to_send():
        server.receive_data(chunk)
    [request] = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    for chunk in server.data_to_send():
        client.receive_data(chunk)
    client.events_received()
    assert client.state is State.OPEN
    return client, server


def frames_written(data: bytes) -> list[tuple[int, bytes]]:
    """The (opcode, payload) of the masked frames a client wrote."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        head1, head2 = data[pos], data[pos + 1]
        assert head2 & 0x80, "a client masks every frame"
        length, pos = head2 & 0x7F, pos + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
        key, pos = data[pos : pos + 4], pos + 4
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(data[pos : pos + length]))
        frames.append((head1 & 0x0F, payload))
        pos += length
    return frames


def output(client: ClientProtocol) -> bytes:
    return b"".join(client.data_to_send())


@dataclass
class Outcome:
    messages: list[str | bytes] = field(default_factory=list)
    closing_started: int = 0
    pongs: list[bytes] = field(default_factory=list)
    failure: tuple[str, str] | None = None
    written: bytes = b""

    def describe(self, client: ClientProtocol) -> tuple[object, ...]:
        return (
            self.messages,
            self.closing_started,
            self.pongs,
            self.failure,
            frames_written(self.written),
            client.state,
            client.close_sent,
            client.close_rcvd,
        )


# The reference: the core alone, fed frame by frame, and the UTF-8 assembly.

_UTF8 = codecs.getincrementaldecoder("utf-8")
DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


def reference_close_rule(client: ClientProtocol, frame: RawFrame, in_progress: bool) -> None:
    """The one difference on purpose. RFC 6455 5.4: "Control frames ... MAY be
    injected in the middle of a fragmented message"; browsers close normally
    when a close frame comes between fragments (Autobahn 7.1.5), where the core
    fails with 1002 "incomplete fragmented message". The receiver drops the
    message in progress and lets the core see a close frame outside one."""
    if frame.opcode == 8 and in_progress and not frame.rsv and frame.fin and not frame.masked:
        client.current_size = None


def run_reference(client: ClientProtocol, stream: list[RawFrame]) -> Outcome:
    outcome = Outcome()
    parts: list[bytes] | None = None
    decoder: codecs.IncrementalDecoder | None = None
    for raw in stream:
        if client.parser_exc is not None or outcome.failure is not None:
            break
        reference_close_rule(client, raw, parts is not None)
        client.receive_data(raw.serialize())
        for frame in client.events_received():
            assert isinstance(frame, Frame)
            try:
                if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.BINARY:
                    if frame.opcode is Opcode.TEXT:
                        decoder = _UTF8()
                        decoder.decode(frame.data, frame.fin)
                    parts = [bytes(frame.data)]
                elif frame.opcode is Opcode.CONT:
                    assert parts is not None
                    if decoder is not None:
                        decoder.decode(frame.data, frame.fin)
                    parts.append(bytes(frame.data))
                elif frame.opcode is Opcode.CLOSE:
                    parts = decoder = None
                    outcome.closing_started += 1
                elif frame.opcode is Opcode.PONG:
                    outcome.pongs.append(bytes(frame.data))
            except UnicodeDecodeError as exc:
                client.fail(1007, f"{exc.reason} at position {exc.start}")
                outcome.failure = (type(exc).__name__, str(exc))
                break
            if parts is not None and frame.fin and frame.opcode in DATA_OPCODES:
                data = b"".join(parts)
                outcome.messages.append(data.decode() if decoder is not None else data)
                parts = decoder = None
        outcome.written += output(client)
    error = client.parser_exc
    if outcome.failure is None and error is not None and not isinstance(error, EOFError):
        outcome.failure = (type(error).__name__, str(error))
    client.receive_eof()
    outcome.written += output(client)
    return outcome


# The receiver, fed at random split points through the buffer protocol.


class Recorder:
    """The receiver's handler and owner."""

    def __init__(self, client: ClientProtocol) -> None:
        self.client = client
        self.outcome = Outcome()

    def connection_established(self, protocol: str, extensions: str) -> None:
        raise AssertionError("not after the handshake")

    def message_received(self, data: object) -> None:
        assert isinstance(data, (str, bytes))
        self.outcome.messages.append(data)

    def closing_handshake_started(self) -> None:
        self.outcome.closing_started += 1

    def connection_closed(self, closure: Closure) -> None:
        raise AssertionError("the driver reports closes, not the receiver")

    def pong_received(self, data: bytes) -> None:
        self.outcome.pongs.append(data)

    def write_protocol_output(self) -> None:
        self.outcome.written += output(self.client)

    def close_frame_received(self) -> None:
        pass

    def fail_connection(self, cause: BaseException) -> None:
        assert self.outcome.failure is None, "failed twice"
        self.outcome.failure = (type(cause).__name__, str(cause))


def run_receiver(
    client: ClientProtocol, data: bytes, splits: list[int], max_size: int | None
) -> Outcome:
    recorder = Recorder(client)
    receiver = Receiver(client, recorder, recorder, max_size)
    position = 0
    for size in [*splits, len(data)]:
        chunk = data[position : position + size]
        position += len(chunk)
        while chunk:
            buffer = receiver.get_buffer(-1)
            n = min(len(buffer), len(chunk))
            buffer[:n] = chunk[:n]
            receiver.buffer_updated(n)
            chunk = chunk[n:]
    receiver.receive_eof()
    return recorder.outcome


def compare(stream: list[RawFrame], splits: list[int], deflate: bool, max_size: int | None) -> None:
    reference_client, server = open_client(deflate, max_size)
    fast_client, _ = open_client(deflate, max_size)
    if deflate:
        # Compress well-formed messages as the server would (its extension
        # object keeps the shared compression context).
        extension = server.extensions[0]
        encoded = []
        for raw in stream:
            if raw.opcode <= 2 and not raw.rsv and not raw.masked:
                frame = extension.encode(Frame(Opcode(raw.opcode), raw.payload, raw.fin))
                raw = RawFrame(raw.opcode, bytes(frame.data), raw.fin, 0x40 if frame.rsv1 else 0)
            encoded.append(raw)
        stream = encoded
    data = b"".join(raw.serialize() for raw in stream)
    expected = run_reference(reference_client, stream)
    actual = run_receiver(fast_client, data, splits, max_size)
    assert actual.describe(fast_client) == expected.describe(reference_client)


settings_for_streams = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# Found by Hypothesis: a close frame between fragments, over max_size on its
# own; it counts alone, as the message in progress ends with it.
CLOSE_OVER_MAX_SIZE_BETWEEN_FRAGMENTS = [
    RawFrame(opcode=2, payload=b"", fin=False, rsv=0, masked=False),
    RawFrame(opcode=8, payload=b"\x03\xe8" + b"x" * 15, fin=True, rsv=0, masked=False),
]


@settings_for_streams
@given(
    stream=streams,
    splits=st.lists(st.integers(1, 200), max_size=30),
    max_size=st.sampled_from([None, 16, 100, 100_000]),
)
@example(stream=CLOSE_OVER_MAX_SIZE_BETWEEN_FRAGMENTS, splits=[], max_size=16)
def test_same_outcome_as_the_core(
    stream: list[RawFrame], splits: list[int], max_size: int | None
) -> None:
    compare(stream, splits, deflate=False, max_size=max_size)


@settings_for_streams
@given(
    stream=streams,
    splits=st.lists(st.integers(1, 200), max_size=30),
    max_size=st.sampled_from([None, 16, 100_000]),
)
@example(stream=CLOSE_OVER_MAX_SIZE_BETWEEN_FRAGMENTS, splits=[], max_size=16)
def test_same_outcome_as_the_core_with_deflate(
    stream: list[RawFrame], splits: list[int], max_size: int | None
) -> None:
    compare(stream, splits, deflate=True, max_size=max_size)


def test_a_close_frame_between_fragments_closes_normally() -> None:
    """The difference on purpose, shown on its own: the partial message is
    dropped and the server's close frame is echoed (no 1002)."""
    fast_client, _ = open_client(False, None)
    stream = [RawFrame(1, b"frag", fin=False), RawFrame(8, b"\x03\xe8bye"), RawFrame(0, b"ment")]
    data = b"".join(raw.serialize() for raw in stream)
    outcome = run_receiver(fast_client, data, [], None)
    assert outcome.messages == []
    assert outcome.closing_started == 1
    assert outcome.failure is None
    assert frames_written(outcome.written) == [(8, b"\x03\xe8bye")]
    # The core alone fails it.
    core_client, _ = open_client(False, None)
    core_client.receive_data(data)
    assert isinstance(core_client.parser_exc, ProtocolError)
    assert str(core_client.parser_exc) == "incomplete fragmented message"


@pytest.mark.parametrize("max_size", [1, 16, 124, 125, 126, 127])
@pytest.mark.parametrize("opcode", [1, 2])
def test_sizes_around_max_size(max_size: int, opcode: int) -> None:
    """Frames of max_size - 1, max_size and max_size + 1 bytes, each on its own
    connection: the same outcome as the core (the receiver's short path
    decides some of them without it)."""
    for size in (max_size - 1, max_size, max_size + 1):
        compare([RawFrame(opcode, b"a" * size)], [], deflate=False, max_size=max_size)
