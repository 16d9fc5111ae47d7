"""The File API's ``Blob``: immutable bytes with a MIME type.

A ``MessageEvent`` carries a Blob when ``binaryType`` is ``"blob"`` (the
default), and ``send()`` accepts one. In CPython a Blob holds its bytes; the
Pyodide backend may subclass it to hold a JavaScript Blob and read it lazily,
which is why reading is asynchronous, as in the browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from .webidl import usv_string

__all__ = ["Blob", "ExternalBlobs"]


class ExternalBlobs(Protocol):
    """Blobs whose bytes live outside Python (under Pyodide: JavaScript
    Blobs), installed by the backend that makes them as ``Blob.external``.
    A Blob holding such a handle reads it only when asked."""

    def size(self, handle: Any, /) -> int: ...
    def type(self, handle: Any, /) -> str: ...
    def slice(self, handle: Any, start: int, end: int, content_type: str, /) -> Any: ...
    def concat(self, parts: Sequence[bytes | Any], content_type: str, /) -> Any: ...
    async def read(self, handle: Any, /) -> bytes: ...


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

    __slots__ = ("_data", "_external", "_type")

    # The backend whose Blobs may hold an external handle (None in CPython).
    external: ExternalBlobs | None = None

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
        chunks: list[bytes | Any] = []  # bytes, or external handles not read yet
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
                chunks.append(part._data if part._data is not None else part._external)
            else:
                raise TypeError(
                    "Blob(): each part must be bytes, bytearray, memoryview, str or "
                    f"Blob, not {type(part).__name__}"
                )
        content_type = options.get("type", "")
        if not isinstance(content_type, str):
            raise TypeError(f"Blob(): type must be a str, not {type(content_type).__name__}")
        self._type: str = _normalize_type(content_type)
        self._data: bytes | None
        self._external: Any = None
        if all(isinstance(chunk, bytes) for chunk in chunks):
            self._data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        else:
            assert Blob.external is not None
            self._data = None
            self._external = Blob.external.concat(chunks, self._type)

    @classmethod
    def _from_bytes(cls, data: bytes, content_type: str = "") -> Blob:
        """A Blob over ``data`` without a copy (for received messages)."""
        blob = cls.__new__(cls)
        blob._data = data
        blob._external = None
        blob._type = content_type
        return blob

    @classmethod
    def _from_external(cls, handle: Any) -> Blob:
        """A Blob over an external handle (see :class:`ExternalBlobs`)."""
        assert Blob.external is not None
        blob = cls.__new__(cls)
        blob._data = None
        blob._external = handle
        blob._type = Blob.external.type(handle)
        return blob

    def _bytes(self) -> bytes:
        """The bytes, synchronously: only for a Blob whose bytes are in Python."""
        if self._data is None:
            raise RuntimeError("this Blob's bytes are not in Python yet: await blob.bytes()")
        return self._data

    async def _read(self) -> bytes:
        if self._data is None:
            assert Blob.external is not None
            self._data = await Blob.external.read(self._external)
        return self._data

    @property
    def size(self) -> int:
        if self._data is None:
            assert Blob.external is not None
            return Blob.external.size(self._external)
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
        # WebIDL converts the arguments first: [Clamp] long long start and end
        # (any int: the steps below clamp it to the size), DOMString contentType.
        for name, value in (("start", start), ("end", end)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(
                    f"Blob.slice(): {name} must be an int or None, not {type(value).__name__}"
                )
        if contentType is not None and not isinstance(contentType, str):
            raise TypeError(
                f"Blob.slice(): contentType must be a str or None, not {type(contentType).__name__}"
            )
        size = self.size
        # File API, slice() steps 3 and 4: relativeStart and relativeEnd.
        relative_start = (
            0 if start is None else (max(size + start, 0) if start < 0 else min(start, size))
        )
        relative_end = size if end is None else (max(size + end, 0) if end < 0 else min(end, size))
        span = max(relative_end - relative_start, 0)
        content_type = "" if contentType is None else _normalize_type(contentType)
        if self._data is None:
            assert Blob.external is not None
            return Blob._from_external(
                Blob.external.slice(
                    self._external, relative_start, relative_start + span, content_type
                )
            )
        return Blob._from_bytes(self._data[relative_start : relative_start + span], content_type)

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
