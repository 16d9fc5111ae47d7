"""Fragmented messages, put together as their frames arrive (RFC 6455 5.4).

The payloads go into one growing buffer, so a message in many small
fragments costs about its own size in memory (a list of fragments would cost
tens of bytes more per fragment). Text is checked as UTF-8 fragment by
fragment, so invalid text fails the connection as soon as it arrives
(RFC 6455 8.1), not only at the end of the message.
"""

from __future__ import annotations

import codecs

__all__ = ["MessageAssembler"]

_UTF8Decoder = codecs.getincrementaldecoder("utf-8")


class MessageAssembler:
    """At most one message in progress: :meth:`begin` with its first frame,
    :meth:`extend` with the next ones, :meth:`finish` with the last one."""

    __slots__ = ("_buffer", "_decoder")

    def __init__(self) -> None:
        self._buffer: bytearray | None = None
        # An incremental UTF-8 decoder for a text message, used to check it.
        self._decoder: codecs.IncrementalDecoder | None = None

    @property
    def in_progress(self) -> bool:
        """Whether a message has begun and not finished."""
        return self._buffer is not None

    @property
    def size(self) -> int:
        """The bytes received so far of the message in progress."""
        return 0 if self._buffer is None else len(self._buffer)

    def begin(self, text: bool, data: bytes | memoryview) -> None:
        """The first frame of a fragmented message (its FIN bit clear)."""
        assert self._buffer is None, "a message is already in progress"
        self._buffer = bytearray(data)
        if text:
            self._decoder = _UTF8Decoder()
            self._decoder.decode(data)  # raises UnicodeDecodeError

    def extend(self, data: bytes | memoryview) -> None:
        """A continuation frame that is not the last one."""
        buffer = self._buffer
        assert buffer is not None, "no message in progress"
        buffer += data
        if self._decoder is not None:
            self._decoder.decode(data)

    def finish(self, data: bytes | memoryview) -> str | bytes:
        """The last continuation frame: the whole message."""
        buffer = self._buffer
        assert buffer is not None, "no message in progress"
        buffer += data
        decoder = self._decoder
        self._buffer = self._decoder = None
        if decoder is None:
            return bytes(buffer)
        decoder.decode(data, final=True)  # a sequence cut short at the end
        return buffer.decode("utf-8")

    def discard(self) -> None:
        """Drop the message in progress (the connection is closing)."""
        self._buffer = self._decoder = None
