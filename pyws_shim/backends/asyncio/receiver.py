"""The receiving half of an open connection: bytes in, messages out.

Plain data frames are read here, without the websockets sans-I/O core's
per-frame generators: a text or binary frame, or the fragments of one
message, unmasked, of an acceptable size. Everything else goes to the core,
fed at frame boundaries, so that its rules apply unchanged: control frames
(it answers pings, parses and echoes close frames, checks close codes and
reasons), and any frame that breaks a rule (a masked frame, an unknown
opcode, reserved bits, a fragmented or oversized control frame: the core
fails the connection with its own close code and reason). Once the closing
handshake has started from the server's side, or the connection has failed,
every further byte goes to the core, which discards it as RFC 6455 says.

The rules for data frames that the core cannot see from here (fragment
order, the size of a message across its fragments, UTF-8 in text messages,
permessage-deflate through the negotiated extension object) are applied
below, each beside the RFC sentence; ``tests/test_receiver_differential.py``
checks that random frame streams give the same messages, close frames and
closes here as through the core alone.

One difference is on purpose: a close frame between the fragments of a
message closes the connection normally, as in browsers (RFC 6455 5.4:
"Control frames ... MAY be injected in the middle of a fragmented message";
Autobahn case 7.1.5), where the core fails it with 1002.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final, Protocol

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from .assembly import MessageAssembler
from .framing import BINARY, CONTINUATION, FIN, MASK_BIT, RSV_BITS, TEXT

_FIRST_CONTROL: Final = 0x8
_CLOSE: Final = 0x8  # RFC 6455 5.2: "%x8 denotes a connection close"
_SHORT_TEXT: Final = FIN | TEXT  # the first byte of a whole text frame
_SHORT_FIRST_BYTES: Final = frozenset({FIN | TEXT, FIN | BINARY})
# RFC 6455 5.2: "%x3-7 are reserved for further non-control frames", "%xB-F
# are reserved for further control frames".
_RESERVED_OPCODES: Final = frozenset({*range(0x3, 0x8), *range(0xB, 0x10)})

if TYPE_CHECKING:
    from websockets.client import ClientProtocol
    from websockets.extensions.base import Extension

    from .. import ConnectionHandler

__all__ = [
    "Receiver",
    "ReceiverOwner",
    "big_frame_buffer",
    "give_back_big_frame_buffer",
    "scratch_buffer",
]

# RFC 6455 7.4.1: "1002 indicates that an endpoint is terminating the
# connection due to a protocol error"; "1007 ... received data within a
# message that was not consistent with the type of the message (e.g., non-UTF-8
# [RFC3629] data within a text message)"; "1009 ... received a message that
# is too big for it to process"; "1011 ... encountered an unexpected condition".
PROTOCOL_ERROR: Final = 1002
INVALID_DATA: Final = 1007
MESSAGE_TOO_BIG: Final = 1009
INTERNAL_ERROR: Final = 1011

SCRATCH_SIZE: Final = 256 * 1024
# A frame longer than this that is not complete yet gets a buffer of its own,
# which the socket fills directly.
BIG_FRAME: Final = 64 * 1024

_local = threading.local()


def scratch_buffer() -> memoryview:
    """The receive buffer of this thread, shared by its connections.

    A transport asks for a buffer, fills it and reports it full in one go,
    and a connection keeps nothing in it afterwards (a partial frame is
    copied out), so one buffer per thread serves every connection of its
    event loop: an idle connection holds no receive buffer.
    """
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(SCRATCH_SIZE))
    return view


# The buffer of a big frame, once its message is delivered, is kept for the
# next big frame of any connection of this thread (one buffer, up to this
# size): allocating a megabyte per message, beside the message handed to the
# application and a reply's masked copy, makes glibc's allocator trim and
# regrow its heap for nearly every message (see framing.MASK_PIECE).
BIG_BUFFER_KEPT: Final = 4 * 2**20


def big_frame_buffer(size: int) -> memoryview:
    """A buffer of ``size`` bytes for a big frame: this thread's kept one
    when it is large enough (the connection owns it until it gives it back)."""
    kept: bytearray | None = getattr(_local, "big", None)
    if kept is not None and len(kept) >= size:
        _local.big = None
        return memoryview(kept)[:size]
    return memoryview(bytearray(size))


def give_back_big_frame_buffer(view: memoryview) -> None:
    """Keep a big frame's buffer, whose frame has been processed (nothing
    holds a view of it any more), for the next big frame of this thread."""
    buffer = view.obj
    assert isinstance(buffer, bytearray)
    if len(buffer) <= BIG_BUFFER_KEPT:
        kept: bytearray | None = getattr(_local, "big", None)
        if kept is None or len(kept) < len(buffer):
            _local.big = buffer


class ReceiverOwner(Protocol):
    """What the receiver needs from the driver that owns it."""

    def write_protocol_output(self) -> None:
        """Write what the core wants to send (a pong, a close frame)."""

    def close_frame_received(self) -> None:
        """The server's close frame arrived (the closing handshake is under way)."""

    def fail_connection(self, cause: BaseException) -> None:
        """The connection failed (the core has queued its close frame)."""


class Receiver:
    """Frames in, messages to ``handler`` out, for one open connection."""

    __slots__ = (
        "_assembler",
        "_big",
        "_big_filled",
        "_deflate",
        "_failed",
        "_fast",
        "_handler",
        "_max_size",
        "_owner",
        "_pending",
        "_protocol",
        "_scratch_filled",
    )

    def __init__(
        self,
        protocol: ClientProtocol,
        handler: ConnectionHandler,
        owner: ReceiverOwner,
        max_size: int | None,
    ) -> None:
        self._protocol = protocol
        self._handler = handler
        self._owner = owner
        self._max_size = max_size
        extensions: list[Extension] = protocol.extensions
        # Only permessage-deflate is ever offered (or accepted by the core).
        self._deflate: Extension | None = extensions[0] if extensions else None
        self._assembler = MessageAssembler()
        # Whether frames are parsed here; else the core takes every byte.
        self._fast = True
        self._failed = False  # whether the connection failed (reported once)
        self._pending = b""  # the start of a frame, kept from the last read
        self._scratch_filled = 0
        self._big: memoryview | None = None  # a big frame's own buffer
        self._big_filled = 0

    # The transport's buffer protocol (asyncio.BufferedProtocol).

    def get_buffer(self, sizehint: int) -> memoryview:
        big = self._big
        if big is not None:
            return big[self._big_filled :]
        view = scratch_buffer()
        pending = self._pending
        filled = len(pending)
        if filled:
            view[:filled] = pending
            self._pending = b""
        self._scratch_filled = filled
        return view[filled:]

    def buffer_updated(self, nbytes: int) -> None:
        big = self._big
        if big is not None:
            self._big_filled += nbytes
            if self._big_filled == len(big):
                self._big = None
                self.receive(big)  # copies what it keeps (the message, a partial frame)
                give_back_big_frame_buffer(big)
            return
        self.receive(scratch_buffer()[: self._scratch_filled + nbytes])

    # Frames.

    def receive(self, data: memoryview | bytes) -> None:
        """Process ``data`` after what was received before."""
        if not self._fast:
            self._to_core(data)
            return
        view = data if isinstance(data, memoryview) else memoryview(data)
        pending = self._pending
        if pending:  # (not after get_buffer, which moved it into the buffer)
            view = memoryview(pending + bytes(view))
            self._pending = b""
        end = len(view)
        pos = 0
        deliver = self._handler.message_received
        assembler = self._assembler
        # Whether a fragmented message is in progress (the assembler's own
        # property, kept here: it is asked for every frame).
        in_progress = assembler.in_progress
        max_size = self._max_size
        short_limit = 126 if max_size is None else min(126, max_size + 1)
        plain = self._deflate is None
        while True:
            available = end - pos
            if available < 2:
                break
            head1 = view[pos]
            head2 = view[pos + 1]
            if head2 < short_limit and head1 in _SHORT_FIRST_BYTES and plain and not in_progress:
                # The common case, the general steps below taken in one go: a
                # whole text or binary frame (FIN, no reserved bit), unmasked,
                # shorter than 126 bytes and within max_size, no extension,
                # no fragmented message in progress.
                total = head2 + 2
                if available < total:
                    break
                start = pos + 2
                pos += total
                if head1 == _SHORT_TEXT:
                    try:
                        text = str(view[start:pos], "utf-8")
                    except UnicodeDecodeError as exc:
                        self._fail(INVALID_DATA, exc, f"{exc.reason} at position {exc.start}")
                        return
                    deliver(text)
                else:
                    deliver(bytes(view[start:pos]))
                continue
            length = head2 & 0x7F
            if length < 126:
                header_length = 2
            elif length == 126:
                if available < 4:
                    break
                length = (view[pos + 2] << 8) | view[pos + 3]
                header_length = 4
            else:
                if available < 10:
                    break
                length = int.from_bytes(view[pos + 2 : pos + 10], "big")
                header_length = 10
            opcode = head1 & 0x0F
            total = header_length + length
            if head2 & MASK_BIT or opcode in _RESERVED_OPCODES:
                # RFC 6455 5.1: "The client MUST close a connection if it
                # detects a masked frame"; 5.2: "If an unknown opcode is
                # received, the receiving endpoint MUST _Fail the WebSocket
                # Connection_". The core applies both, before anything else.
                self._to_core(view[pos:end])
                return
            # Then the size, before reading the payload: the core's limit,
            # counted across the fragments of a message (websockets'
            # max_size, which browsers do not have).
            if max_size is None:
                allowance = None
            else:
                # A close frame between fragments ends the message in progress
                # (the one difference on purpose, above): it counts alone.
                in_message = in_progress and not (
                    opcode == _CLOSE and head1 & FIN and not head1 & RSV_BITS
                )
                allowance = max_size - assembler.size if in_message else max_size
                if length > allowance:
                    self._fail(MESSAGE_TOO_BIG, self._too_big(length, allowance, in_message))
                    return
            if opcode >= _FIRST_CONTROL:
                if length > 125 or not head1 & FIN or head1 & RSV_BITS:
                    # 5.5: "All control frames MUST have a payload length of
                    # 125 bytes or less and MUST NOT be fragmented." The core
                    # applies it, and the rule on reserved bits.
                    self._to_core(view[pos:end])
                    return
                # A control frame: the core's, once it is complete.
                if available < total:
                    break
                pos += total
                self._control(bytes(view[pos - total : pos]))
                if not self._fast:  # a close frame: the core takes every byte now
                    break
                continue
            if available < total:
                if total > BIG_FRAME:
                    # The socket fills the rest of this frame's own buffer directly.
                    big = big_frame_buffer(total)
                    big[:available] = view[pos:end]
                    self._big = big
                    self._big_filled = available
                    return
                break
            payload = view[pos + header_length : pos + total]
            if head1 & RSV_BITS or self._deflate is not None:
                # RFC 6455 5.2: "RSV1, RSV2, RSV3: ... MUST be 0 unless an
                # extension is negotiated that defines meanings for non-zero
                # values." The extension (permessage-deflate) decodes; the
                # core's Frame.check() applies the rule.
                try:
                    frame = Frame(
                        Opcode(opcode),
                        bytes(payload),
                        bool(head1 & FIN),
                        bool(head1 & 0x40),
                        bool(head1 & 0x20),
                        bool(head1 & 0x10),
                    )
                    if self._deflate is not None:
                        frame = self._deflate.decode(frame, max_size=allowance)
                    frame.check()
                except PayloadTooBig:
                    assert allowance is not None
                    self._fail(MESSAGE_TOO_BIG, self._too_big(None, allowance, in_progress))
                    return
                except ProtocolError as exc:
                    self._fail(PROTOCOL_ERROR, exc)
                    return
                payload = memoryview(frame.data)
            pos += total
            try:
                if opcode == CONTINUATION:
                    # RFC 6455 5.4: "A fragmented message consists of a single
                    # frame with the FIN bit clear and an opcode other than 0,
                    # followed by zero or more frames with the FIN bit clear and
                    # the opcode set to 0, and terminated by a single frame with
                    # the FIN bit set and an opcode of 0."
                    if not in_progress:
                        self._fail(PROTOCOL_ERROR, ProtocolError("unexpected continuation frame"))
                        return
                    if head1 & FIN:
                        in_progress = False
                        deliver(assembler.finish(payload))
                    else:
                        assembler.extend(payload)
                elif in_progress:
                    # 5.4: "The fragments of one message MUST NOT be
                    # interleaved between the fragments of another message".
                    self._fail(PROTOCOL_ERROR, ProtocolError("expected a continuation frame"))
                    return
                elif not head1 & FIN:
                    in_progress = True
                    assembler.begin(opcode == TEXT, payload)
                elif opcode == TEXT:
                    deliver(str(payload, "utf-8"))
                else:
                    deliver(bytes(payload))
            except UnicodeDecodeError as exc:
                # RFC 6455 8.1: "When an endpoint is to interpret a byte stream
                # as UTF-8 but finds that the byte stream is not, in fact, a
                # valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
                # Connection_." (The reason is worded as the core's own.)
                self._fail(INVALID_DATA, exc, f"{exc.reason} at position {exc.start}")
                return
        if pos < end and self._fast:
            self._pending = bytes(view[pos:end])

    def receive_eof(self) -> None:
        """The server ended the TCP stream."""
        self._fast = False
        self._pending = b""
        self._big = None
        self._assembler.discard()
        self._protocol.receive_eof()
        self._owner.write_protocol_output()

    def _too_big(self, size: int | None, allowance: int, in_message: bool) -> PayloadTooBig:
        # As the core words it: the limit, and what was read of the message
        # the frame belongs to (``in_message``).
        exc = PayloadTooBig(size, allowance)
        exc.set_current_size(self._assembler.size if in_message else None)
        return exc

    def _control(self, frame: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(frame)
        self._after_core()

    def _to_core(self, data: memoryview | bytes) -> None:
        # The core takes every byte from here on.
        self._fast = False
        self._pending = b""
        self._big = None
        self._protocol.receive_data(bytes(data))
        self._after_core()

    def _after_core(self) -> None:
        protocol = self._protocol
        events = protocol.events_received()
        self._owner.write_protocol_output()
        for event in events:
            assert isinstance(event, Frame)
            if event.opcode is Opcode.CLOSE:
                # "after receiving a control frame indicating the connection
                # should be closed, a peer discards any further data received"
                # (1.4), the message in progress included.
                self._fast = False
                self._assembler.discard()
                self._handler.closing_handshake_started()
                self._owner.close_frame_received()
            elif event.opcode is Opcode.PONG:
                self._handler.pong_received(bytes(event.data))
            # PING: the core queued the pong already.
        exc = protocol.parser_exc
        if exc is not None and not isinstance(exc, EOFError) and not self._failed:
            # A protocol error, a message too big, a close frame with an
            # invalid code or reason: the core failed the connection (and
            # queued its close frame).
            self._fast = False
            self._failed = True
            self._assembler.discard()
            self._owner.fail_connection(exc)

    def _fail(self, code: int, exc: BaseException, reason: str | None = None) -> None:
        """RFC 6455 7.1.7, "Fail the WebSocket Connection", for a rule applied here."""
        self._fast = False
        self._failed = True
        self._pending = b""
        self._big = None
        self._assembler.discard()
        protocol = self._protocol
        if protocol.state is State.OPEN or protocol.state is State.CLOSING:
            protocol.fail(code, str(exc) if reason is None else reason)
        self._owner.write_protocol_output()
        self._owner.fail_connection(exc)
