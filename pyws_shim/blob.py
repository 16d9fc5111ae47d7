"""The File API's ``Blob``: immutable bytes with a MIME type.

A ``MessageEvent`` carries a Blob when ``binaryType`` is ``"blob"`` (the
default), and ``send()`` accepts one. Reading is asynchronous, as in the
browser, because a Blob's bytes may live elsewhere: under Pyodide a received
Blob is a :class:`~pyws_shim.backends.pyodide.JsBlob`, a subclass that holds
the JavaScript Blob and reads it only when asked.

For backends (and subclasses), besides the File API:

- :meth:`Blob.from_bytes` makes a Blob over bytes without copying them;
- :attr:`Blob.held_bytes` is the bytes when this Blob holds them in Python
  (``None`` for a Blob whose bytes are elsewhere);
- a subclass whose bytes live elsewhere sets ``held_bytes`` to ``None`` and
  overrides :attr:`size`, :meth:`slice`, :meth:`_read` and :meth:`_concatenate`
  (which the constructor calls when one of its parts is such a Blob).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .webidl import usv_string

__all__ = ["Blob"]

Chunk = bytes | Any  # bytes, or a Blob whose bytes live elsewhere


def _normalize_type(value: str) -> str:
    # File API, Blob constructor step 3: "If the type member of the options
    # argument is not the empty string: if t contains any characters outside
    # the range U+0020 to U+007E, then set t to the empty string and return
    # from these substeps. Convert every character in t to ASCII lowercase."
    if any(not " " <= ch <= "~" for ch in value):
        return ""
    return value.lower()


def _index(name: str, value: object) -> int | None:
    # WebIDL "long long" (clamped by the slice steps), or absent.
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"Blob.slice(): {name} must be an int or None, not {type(value).__name__}")
    return value


class Blob:
    """``Blob(parts=(), options=None)``

    ``parts`` is an iterable of ``bytes``, ``bytearray``, ``memoryview``,
    ``str`` (encoded as UTF-8, lone surrogates as U+FFFD) or ``Blob``;
    ``options`` may hold ``"type"`` (a MIME type) and ``"endings"``
    (``"transparent"``, the default, or ``"native"``).
    """

    __slots__ = ("_data", "_type")
    _data: bytes | None
    _type: str

    def __new__(
        cls,
        parts: Iterable[bytes | bytearray | memoryview | str | Blob] = (),
        options: Mapping[str, Any] | None = None,
    ) -> Blob:
        chunks, content_type = _blob_parts(parts, options)
        elsewhere = next((c for c in chunks if not isinstance(c, bytes)), None)
        if elsewhere is not None:
            # A part's bytes live elsewhere: its class joins the parts there.
            blob: Blob = type(elsewhere)._concatenate(chunks, content_type)
            return blob
        return cls.from_bytes(chunks[0] if len(chunks) == 1 else b"".join(chunks), content_type)

    # The backend-facing API.

    @classmethod
    def from_bytes(cls, data: bytes, type: str = "") -> Blob:
        """A Blob over ``data`` (not copied) with the MIME type ``type``
        (already normalized)."""
        blob = object.__new__(cls)
        blob._data = data
        blob._type = type
        return blob

    @property
    def held_bytes(self) -> bytes | None:
        """The bytes, when this Blob holds them in Python; else ``None``
        (read them with ``await blob.bytes()``)."""
        return self._data

    @classmethod
    def _concatenate(cls, chunks: Sequence[Chunk], type: str) -> Blob:
        """A Blob of ``chunks`` (bytes, or Blobs of this class), for a class
        whose Blobs hold their bytes elsewhere."""
        raise NotImplementedError

    async def _read(self) -> bytes:
        """The bytes (a subclass reads them from where they live)."""
        data = self._data
        assert data is not None
        return data

    # The File API.

    @property
    def size(self) -> int:
        data = self._data
        assert data is not None
        return len(data)

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
        first, stop = _index("start", start), _index("end", end)
        if contentType is not None and not isinstance(contentType, str):
            raise TypeError(
                f"Blob.slice(): contentType must be a str or None, not {type(contentType).__name__}"
            )
        size = self.size
        # File API, slice() steps 3 and 4: relativeStart and relativeEnd.
        relative_start = (
            0 if first is None else (max(size + first, 0) if first < 0 else min(first, size))
        )
        relative_end = (
            size if stop is None else (max(size + stop, 0) if stop < 0 else min(stop, size))
        )
        span = max(relative_end - relative_start, 0)
        content_type = "" if contentType is None else _normalize_type(contentType)
        return self._slice(relative_start, relative_start + span, content_type)

    def _slice(self, start: int, end: int, content_type: str) -> Blob:
        """Bytes ``start`` to ``end`` (already clamped), as a new Blob."""
        data = self._data
        assert data is not None
        return Blob.from_bytes(data[start:end], content_type)

    async def arrayBuffer(self) -> bytes:
        """The bytes (an ArrayBuffer in JavaScript)."""
        return await self._read()

    async def bytes(self) -> bytes:
        """The bytes (a Uint8Array in JavaScript)."""
        return await self._read()

    async def text(self) -> str:
        """The bytes decoded as UTF-8, a leading BOM dropped and malformed
        sequences replaced by U+FFFD (Encoding's "UTF-8 decode")."""
        return (await self._read()).decode("utf-8-sig", "replace")

    def __repr__(self) -> str:
        return f"<Blob size={self.size} type={self.type!r}>"


def _blob_parts(parts: object, options: object) -> tuple[list[Chunk], str]:
    """The File API's "process blob parts" and the type option: the parts
    as chunks (bytes, or Blobs held elsewhere) and the normalized type."""
    if isinstance(parts, (str, bytes, bytearray, memoryview)) or not isinstance(parts, Iterable):
        raise TypeError(
            "Blob(): parts must be an iterable of bytes-like, str or Blob "
            f"objects, not {type(parts).__name__}"
        )
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise TypeError(f"Blob(): options must be a mapping, not {type(options).__name__}")
    endings = options.get("endings", "transparent")
    if endings not in ("transparent", "native"):
        raise TypeError(f"Blob(): endings must be 'transparent' or 'native', not {endings!r}")
    chunks: list[Chunk] = []
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
            held = part.held_bytes
            chunks.append(part if held is None else held)
        else:
            raise TypeError(
                "Blob(): each part must be bytes, bytearray, memoryview, str or "
                f"Blob, not {type(part).__name__}"
            )
    content_type = options.get("type", "")
    if not isinstance(content_type, str):
        raise TypeError(f"Blob(): type must be a str, not {type(content_type).__name__}")
    return chunks or [b""], _normalize_type(content_type)
