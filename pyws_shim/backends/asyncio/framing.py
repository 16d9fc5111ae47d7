"""RFC 6455 section 5.2, "Base Framing Protocol", for plain data frames.

The receive path reads frame headers here and leaves everything unusual to
the websockets sans-I/O core (see :mod:`.receiver`); the send path frames
text and binary messages here, masked as RFC 6455 5.3 requires. Control
frames (close, ping, pong) are framed by the core.
"""

from __future__ import annotations

import os
from typing import Final

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

__all__ = [
    "BINARY",
    "CONTINUATION",
    "FIN",
    "LARGE_FRAME",
    "MASK_BIT",
    "MASK_PIECE",
    "MASK_POOL_SIZE",
    "RSV1",
    "RSV_BITS",
    "SHORT_HEADERS",
    "TEXT",
    "apply_mask",
    "frame_header",
    "masked_pieces",
    "masking_keys",
]

# RFC 6455 5.2: "FIN: 1 bit", "RSV1, RSV2, RSV3: 1 bit each", "Opcode: 4 bits".
FIN: Final = 0x80
RSV1: Final = 0x40
RSV_BITS: Final = 0x70
OPCODE_BITS: Final = 0x0F
# "Mask: 1 bit", "Payload length: 7 bits, 7+16 bits, or 7+64 bits".
MASK_BIT: Final = 0x80
LENGTH_BITS: Final = 0x7F
# "%x0 denotes a continuation frame", "%x1 denotes a text frame", "%x2 denotes
# a binary frame"; %x8 and up are control frames.
CONTINUATION: Final = 0x0
TEXT: Final = 0x1
BINARY: Final = 0x2
FIRST_CONTROL: Final = 0x8

# Frames this long and longer are written as a header and a payload, not joined.
LARGE_FRAME: Final = 64 * 1024
# A large frame's payload is masked in pieces of this size (a multiple of 4,
# so that each piece starts at the first octet of the key). A reply sent from
# a message handler otherwise allocates its whole masked copy while the
# received message is alive, and glibc's allocator then trims and regrows its
# heap for nearly every message: 256 x 1 MiB echoed from onmessage, 811 brk
# calls and 1.7 ms of CPU per MiB in one piece; in pieces of 64 KiB, with the
# receive buffer kept too (receiver.BIG_BUFFER_KEPT), 73 (3.11) to 85 (3.12)
# brk calls and 0.8 to 1.0 ms (strace -c; 16 KiB pieces cost more calls than
# they save, 128 KiB and up churn again on 3.12).
MASK_PIECE: Final = 64 * 1024

# RFC 6455 5.3: "The masking key is a 32-bit value chosen at random by the
# client. When preparing a masked frame, the client MUST pick a fresh masking
# key from the set of allowed 32-bit values. The masking key needs to be
# unpredictable; thus, the masking key MUST be derived from a strong source of
# entropy". Keys come from os.urandom in blocks: one call serves 1,024 frames.
MASK_POOL_SIZE: Final = 4096


def masked_pieces(payload: bytes | memoryview, mask: bytes) -> list[bytes]:
    """``payload`` masked with ``mask``, in pieces of ``MASK_PIECE`` bytes."""
    view = memoryview(payload)
    return [apply_mask(view[i : i + MASK_PIECE], mask) for i in range(0, len(view), MASK_PIECE)]


def masking_keys() -> list[bytes]:
    """1,024 fresh masking keys, from one ``os.urandom`` call."""
    pool = os.urandom(MASK_POOL_SIZE)
    return [pool[i : i + 4] for i in range(0, MASK_POOL_SIZE, 4)]


# The first two bytes of a masked data frame with a 7-bit length, by first
# byte (FIN, RSV1 and opcode) and length: a lookup instead of a new bytes.
SHORT_HEADERS: Final = {
    head1: [bytes((head1, MASK_BIT | length)) for length in range(126)]
    for head1 in (FIN | TEXT, FIN | BINARY, FIN | RSV1 | TEXT, FIN | RSV1 | BINARY)
}


def frame_header(head1: int, length: int, mask: bytes) -> bytes:
    """The header of a masked frame: the first byte ``head1`` (FIN, RSV and
    opcode), the payload length in its shortest form, and the masking key.

    RFC 6455 5.2: "Payload length: ... If 0-125, that is the payload length.
    If 126, the following 2 bytes interpreted as a 16-bit unsigned integer
    are the payload length. If 127, the following 8 bytes interpreted as a
    64-bit unsigned integer ... are the payload length. ... the minimal
    number of bytes MUST be used to encode the length".
    """
    if length < 126:
        return bytes((head1, MASK_BIT | length)) + mask
    if length < 0x10000:
        return bytes((head1, MASK_BIT | 126)) + length.to_bytes(2, "big") + mask
    return bytes((head1, MASK_BIT | 127)) + length.to_bytes(8, "big") + mask
