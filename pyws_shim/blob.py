"""The File API's ``Blob``: immutable bytes with a MIME type.

A ``MessageEvent`` carries a Blob when ``binaryType`` is ``"blob"`` (the
default), and ``send()`` accepts one. In CPython a Blob holds its bytes; the
Pyodide backend may subclass it to hold a JavaScript Blob and read it lazily,
which is why reading is asynchronous, as in the browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .webidl import usv_string

__all__ = ["Blob"]


def _normalize_type(value: str) -> str:
    # File API, Blob constructor step 3: "If the type member of the options
    # argument is not the empty string: if t contains any characters outside
    # the range U+0020 to U+007E, then set t to the empty string and return
    # from these substeps. Convert every character in t to ASCII lowercase."
    if any(not " " <= ch <= "~" for ch in value):
        return ""
    return value.lower()


class Blob:
    """``Blob(parts=(), options=None)``

    ``parts`` is an iterable of ``bytes``, ``bytearray``, ``memoryview``,
    ``str`` (encoded as UTF-8, lone surrogates as U+FFFD) or ``Blob``;
    ``options`` may hold ``"type"`` (a MIME type) and ``"endings"``
    (``"transparent"``, the default, or ``"native"``).
    """

    __slots__ = ("_data", "_type")

    def __init__(
        self,
        parts: Iterable[bytes | bytearray | memoryview | str | Blob] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(parts, (str, bytes, bytearray, memoryview)) or not isinstance(
            parts, Iterable
        ):
            raise TypeError(
                "Blob(): parts must be an iterable of bytes-like, str or Blob "
                f"objects, not {type(parts).__name__}"
            )
        options = {} if options is None else options
        if not isinstance(options, Mapping):
            raise TypeError(f"Blob(): options must be a mapping, not {type(options).__name__}")
        endings = options.get("endings", "transparent")
        if endings not in ("transparent", "native"):
            raise TypeError(f"Blob(): endings must be 'transparent' or 'native', not {endings!r}")
        chunks: list[bytes] = []
        for part in parts:
            if isinstance(part, str):
                text = usv_string(part)
                if endings == "native":
                    # "convert line endings to native": \r\n and \r become \n here.
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                chunks.append(text.encode("utf-8"))
            elif isinstance(part, (bytes, bytearray, memoryview)):
                chunks.append(bytes(part))
            elif isinstance(part, Blob):
                chunks.append(part._bytes())
            else:
                raise TypeError(
                    "Blob(): each part must be bytes, bytearray, memoryview, str or "
                    f"Blob, not {type(part).__name__}"
                )
        content_type = options.get("type", "")
        if not isinstance(content_type, str):
            raise TypeError(f"Blob(): type must be a str, not {type(content_type).__name__}")
        self._data: bytes = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._type: str = _normalize_type(content_type)

    @classmethod
    def _from_bytes(cls, data: bytes, content_type: str = "") -> Blob:
        """A Blob over ``data`` without a copy (for received messages)."""
        blob = cls.__new__(cls)
        blob._data = data
        blob._type = content_type
        return blob

    def _bytes(self) -> bytes:
        """The bytes, synchronously (in-memory Blobs only)."""
        return self._data

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def type(self) -> str:
        return self._type

    def slice(
        self,
        start: int | None = None,
        end: int | None = None,
        contentType: str | None = None,
    ) -> Blob:
        """A new Blob with bytes ``start`` to ``end`` (negative counts from
        the end, as in the File API) and type ``contentType``."""
        size = self.size
        # File API, slice() steps 3 and 4: relativeStart and relativeEnd.
        relative_start = (
            0 if start is None else (max(size + start, 0) if start < 0 else min(start, size))
        )
        relative_end = size if end is None else (max(size + end, 0) if end < 0 else min(end, size))
        span = max(relative_end - relative_start, 0)
        return Blob._from_bytes(
            self._data[relative_start : relative_start + span],
            "" if contentType is None else _normalize_type(contentType),
        )

    async def arrayBuffer(self) -> bytes:
        """The bytes (an ArrayBuffer in JavaScript)."""
        return self._bytes()

    async def bytes(self) -> bytes:
        """The bytes (a Uint8Array in JavaScript)."""
        return self._bytes()

    async def text(self) -> str:
        """The bytes decoded as UTF-8, a leading BOM dropped and malformed
        sequences replaced by U+FFFD (Encoding's "UTF-8 decode")."""
        return self._bytes().decode("utf-8-sig", "replace")

    def __repr__(self) -> str:
        return f"<Blob size={self.size} type={self.type!r}>"
