"""Frames on their way to the network: combined writes, pausing, and the
accounting behind ``bufferedAmount``.

WHATWG, ``bufferedAmount``: "the number of bytes of application data (UTF-8
text and binary data) that have been queued using send() but that, as of the
last time the event loop reached step 1, had not yet been transmitted to the
network." So a message counts from ``send()`` until its last byte has left
for the socket, including the time it spends in the transport's own buffer
(a burst of 32 MiB to a server that reads nothing stays counted), and the
value falls only between turns of the event loop, never inside the code that
reads it.

Writes are combined: the first write of a turn of the loop goes to the
transport at once (no added latency); the later ones of that turn are joined
and handed over at the next turn, in one system call. While the transport
asks for a pause (its buffer is over its high-water mark), nothing more is
handed to it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections import deque
from typing import Final

from .framing import LARGE_FRAME

__all__ = ["WriteBuffer", "unacknowledged_bytes"]

# Linux: ioctl SIOCOUTQ (the same number as TIOCOUTQ) on a TCP socket.
_SIOCOUTQ: int | None
try:
    import termios

    _SIOCOUTQ = termios.TIOCOUTQ if sys.platform == "linux" else None
except ImportError:  # pragma: no cover - Windows
    _SIOCOUTQ = None
# macOS: getsockopt(SOL_SOCKET, SO_NWRITE)
_SO_NWRITE: Final = 0x1024 if sys.platform == "darwin" else None


def unacknowledged_bytes(transport: asyncio.BaseTransport) -> int:
    """Bytes written to the socket that the peer's TCP has not acknowledged
    yet, where the operating system tells (Linux, macOS); else 0."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        if _SIOCOUTQ is not None:
            import fcntl

            result = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
            return max(int.from_bytes(result, sys.byteorder, signed=True), 0)
        if _SO_NWRITE is not None:  # pragma: no cover - macOS
            return max(int(sock.getsockopt(socket.SOL_SOCKET, _SO_NWRITE)), 0)
    except (OSError, ValueError):  # closed meanwhile, or not a TCP socket
        pass
    return 0


class WriteBuffer:
    """The writes of one connection. Offsets count wire bytes from the start
    of the connection: ``queued`` were written here, ``handed`` went to the
    transport, :meth:`transmitted` left it for the socket."""

    __slots__ = (
        "_buffered",
        "_fresh",
        "_handed",
        "_in_flight",
        "_loop",
        "_paused",
        "_pending",
        "_transmitted",
        "_transport",
        "_wrote_this_turn",
        "queued",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.WriteTransport | None = None
        self._pending: list[bytes] = []  # not handed to the transport yet
        self._paused = False
        self._wrote_this_turn = False
        self.queued = 0
        self._handed = 0
        self._transmitted = 0
        # Messages not known to be transmitted: (wire offset of their end,
        # their bytes of application data), oldest first.
        self._in_flight: deque[tuple[int, int]] = deque()
        self._buffered = 0  # bufferedAmount
        # Whether this turn of the loop has settled the accounting already
        # (settling happens before the turn's own messages are queued).
        self._fresh = False

    # The transport.

    def attach(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def detach(self, drained: bool) -> None:
        """The connection is lost. ``drained``: the transport wrote all it
        had first (else what it still held never reached the network)."""
        if drained:
            self.transmitted()
        self._pending.clear()
        self._transport = None

    def pause(self) -> None:
        """The transport's buffer is over its high-water mark."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self.flush()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def unhanded(self) -> int:
        """Wire bytes queued here and not handed to the transport yet."""
        return self.queued - self._handed

    # Writing.

    def write(self, data: bytes, app_bytes: int = 0) -> None:
        """Queue ``data``: one frame, or several, carrying ``app_bytes`` of
        application data (0 for control frames and the handshake)."""
        if not self._fresh:
            self._touch()
        self.queued += len(data)
        if app_bytes:
            self._in_flight.append((self.queued, app_bytes))
            self._buffered += app_bytes
        transport = self._transport
        if transport is None or transport.is_closing():
            return  # never transmitted: it stays counted
        if self._wrote_this_turn or self._paused or self._pending:
            self._pending.append(data)
        else:
            self._wrote_this_turn = True
            self._handed += len(data)
            transport.write(data)

    def write_large(self, header: bytes, payload: bytes, app_bytes: int) -> None:
        """Queue a large frame as its header and its payload, not joined (no copy)."""
        self._touch()
        self.queued += len(header) + len(payload)
        self._in_flight.append((self.queued, app_bytes))
        self._buffered += app_bytes
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._paused:
            self._pending += (header, payload)
            return
        self.flush()
        self._wrote_this_turn = True
        self._handed += len(header) + len(payload)
        transport.write(header)
        transport.write(payload)

    def flush(self, force: bool = False) -> None:
        """Hand what is pending to the transport, unless it asked for a pause
        (``force``: even then, before the end of the stream)."""
        pending = self._pending
        transport = self._transport
        if not pending or (self._paused and not force) or transport is None:
            return
        if transport.is_closing():
            return
        self._pending = []
        self._handed += sum(map(len, pending))
        if len(pending) == 1:
            transport.write(pending[0])
        elif any(len(chunk) >= LARGE_FRAME for chunk in pending):
            for chunk in pending:
                transport.write(chunk)
        else:
            transport.write(b"".join(pending))

    # The accounting.

    @property
    def buffered_amount(self) -> int:
        """bufferedAmount: application bytes queued and not transmitted, as
        of the start of this turn of the loop (plus those queued since)."""
        self._touch()
        return self._buffered

    def transmitted(self) -> int:
        """The wire offset up to which the transport has written to the socket."""
        transport = self._transport
        if transport is not None:
            sent = self._handed - transport.get_write_buffer_size()
            if sent > self._transmitted:
                self._transmitted = sent
        return self._transmitted

    def acknowledged(self) -> int:
        """The wire offset up to which the peer's TCP has received our bytes
        (where the operating system tells; else :meth:`transmitted`). Bytes
        in the socket's send queue have reached the socket but not the
        peer: on loopback several megabytes."""
        transmitted = self.transmitted()
        transport = self._transport
        if transport is None:
            return transmitted
        return transmitted - unacknowledged_bytes(transport)

    def undelivered(self) -> int:
        """Wire bytes queued that have not reached the peer's TCP yet."""
        return self.queued - self.acknowledged()

    def _touch(self) -> None:
        # The first contact of a turn of the loop: settle what earlier turns
        # transmitted, and come back at the next turn for the combined writes.
        if not self._fresh:
            self._fresh = True
            self._settle()
            self._loop.call_soon(self._next_turn)

    def _settle(self) -> None:
        limit = self.transmitted()
        in_flight = self._in_flight
        while in_flight and in_flight[0][0] <= limit:
            self._buffered -= in_flight.popleft()[1]

    def _next_turn(self) -> None:
        if not self._pending or self._paused:
            self._fresh = False
            self._wrote_this_turn = False
            return
        # Hand over what waited, as this turn's write: what it transmits
        # counts as transmitted from the next turn on, and what is written
        # later in this turn waits for the next one.
        self._settle()
        self.flush()
        self._wrote_this_turn = True
        self._loop.call_soon(self._next_turn)
