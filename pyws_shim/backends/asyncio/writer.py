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
and handed over at the next turn, in one system call, or as soon as
``FLUSH_SIZE`` bytes wait. While the transport
asks for a pause (its buffer is over its high-water mark), nothing more is
handed to it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from bisect import bisect_right
from typing import Final

__all__ = ["FLUSH_SIZE", "WriteBuffer", "unacknowledged_bytes"]

# Combined writes go out once this many bytes wait, without waiting for the
# next turn of the loop: a long burst of sends (a thousand replies to one
# read) then reaches the server while the rest are made, and the two sides
# work at the same time instead of in turns (measured: pipelined echo
# throughput about twice as high, for a write every few hundred messages).
FLUSH_SIZE: Final = 16 * 1024

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
        "_app_done",
        "_app_queued",
        "_closed",
        "_cumulative",
        "_ends",
        "_fresh",
        "_handed",
        "_head",
        "_large_pending",
        "_loop",
        "_paused",
        "_pending",
        "_pending_size",
        "_transmitted",
        "_transport",
        "_wrote_this_turn",
        "queued",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.WriteTransport | None = None
        # Whether nothing more may be handed to the transport: not attached
        # yet, or closing (the driver says so: a transport's own is_closing()
        # is a call per write).
        self._closed = True
        self._pending: list[bytes] = []  # not handed to the transport yet
        self._pending_size = 0
        self._large_pending = False  # a chunk of LARGE_FRAME bytes or more is pending
        self._paused = False
        self._wrote_this_turn = False
        self.queued = 0
        self._handed = 0
        self._transmitted = 0
        # The messages, in order: the wire offset of each one's end, and the
        # application bytes of all messages up to it. _head is the first not
        # known to be transmitted; bufferedAmount is what was queued since.
        self._ends: list[int] = []
        self._cumulative: list[int] = []
        self._head = 0
        self._app_queued = 0
        self._app_done = 0
        # Whether this turn of the loop has settled the accounting already
        # (settling happens before the turn's own messages are queued).
        self._fresh = False

    # The transport.

    def attach(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport
        self._closed = False

    def closing(self) -> None:
        """The driver closes (or half-closes) the transport: nothing more goes to it."""
        self._closed = True

    def detach(self, drained: bool) -> None:
        """The connection is lost. ``drained``: the transport wrote all it
        had first (else what it still held never reached the network)."""
        if drained:
            self.transmitted()
        self._pending.clear()
        self._pending_size = 0
        self._closed = True
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
        size = len(data)
        queued = self.queued = self.queued + size
        if app_bytes:
            self._app_queued += app_bytes
            self._ends.append(queued)
            self._cumulative.append(self._app_queued)
        if self._closed:
            return  # never transmitted: it stays counted
        if self._wrote_this_turn or self._paused or self._pending:
            self._pending.append(data)
            self._pending_size += size
            if self._pending_size >= FLUSH_SIZE and not self._paused:
                self.flush()
        else:
            self._wrote_this_turn = True
            self._handed += size
            self._transport.write(data)  # type: ignore[union-attr]

    def write_large(self, header: bytes, pieces: list[bytes], app_bytes: int) -> None:
        """Queue a large frame as its header and its payload's pieces, not
        joined (no copy)."""
        if not self._fresh:
            self._touch()
        size = len(header) + sum(map(len, pieces))
        self.queued += size
        self._app_queued += app_bytes
        self._ends.append(self.queued)
        self._cumulative.append(self._app_queued)
        if self._closed:
            return
        if self._paused:
            self._pending.append(header)
            self._pending += pieces
            self._pending_size += size
            self._large_pending = True
            return
        self.flush()
        self._wrote_this_turn = True
        self._handed += size
        transport = self._transport
        assert transport is not None
        transport.write(header)
        for piece in pieces:
            transport.write(piece)

    def flush(self, force: bool = False) -> None:
        """Hand what is pending to the transport, unless it asked for a pause
        (``force``: even then, before the end of the stream)."""
        pending = self._pending
        if not pending or (self._paused and not force) or self._closed:
            return
        transport = self._transport
        assert transport is not None
        self._pending = []
        self._handed += self._pending_size
        self._pending_size = 0
        if len(pending) == 1:
            transport.write(pending[0])
        elif self._large_pending:
            self._large_pending = False
            for chunk in pending:
                transport.write(chunk)
        else:
            transport.write(b"".join(pending))

    # The accounting.

    @property
    def buffered_amount(self) -> int:
        """bufferedAmount: application bytes queued and not transmitted, as
        of the start of this turn of the loop (plus those queued since)."""
        if not self._fresh:
            self._touch()
        return self._app_queued - self._app_done

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
        # The messages whose last byte has been transmitted: by bisection
        # (their end offsets grow), then compacted now and then.
        ends = self._ends
        done = bisect_right(ends, self.transmitted(), self._head)
        if done > self._head:
            self._app_done = self._cumulative[done - 1]
            if done > 1024 and done * 2 > len(ends):
                del ends[:done]
                del self._cumulative[:done]
                done = 0
            self._head = done

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
