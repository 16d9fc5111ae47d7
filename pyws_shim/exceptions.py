"""Exceptions raised by pyws_shim.

``DOMException`` is the one class both backends raise for the errors the DOM
specifies, so a bad argument fails the same way in CPython and in Pyodide.
``ConnectionClosed`` belongs to the Pythonic additions (awaiting open,
``async for``); the DOM surface itself never raises it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .events import CloseEvent

__all__ = ["ConnectionClosed", "DOMException"]


class DOMException(Exception):
    """The WebIDL ``DOMException``: an error with a ``name``, a ``message`` and
    a legacy numeric ``code``.

    The constructor takes ``(message, name)`` in that order, as WebIDL's does::

        raise DOMException("The code must be 1000 or 3000-4999.", "InvalidAccessError")
    """

    # WebIDL "DOMException names" table: the legacy code of each name that has one.
    _LEGACY_CODES: ClassVar[dict[str, int]] = {
        "IndexSizeError": 1,
        "HierarchyRequestError": 3,
        "WrongDocumentError": 4,
        "InvalidCharacterError": 5,
        "NoModificationAllowedError": 7,
        "NotFoundError": 8,
        "NotSupportedError": 9,
        "InvalidStateError": 11,
        "SyntaxError": 12,
        "InvalidModificationError": 13,
        "NamespaceError": 14,
        "InvalidAccessError": 15,
        "TypeMismatchError": 17,
        "SecurityError": 18,
        "NetworkError": 19,
        "AbortError": 20,
        "URLMismatchError": 21,
        "QuotaExceededError": 22,
        "TimeoutError": 23,
        "InvalidNodeTypeError": 24,
        "DataCloneError": 25,
    }

    # The legacy code constants of the interface, for the three names used here.
    INVALID_STATE_ERR: ClassVar[int] = 11
    SYNTAX_ERR: ClassVar[int] = 12
    INVALID_ACCESS_ERR: ClassVar[int] = 15

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(message, name)
        self.message: str = str(message)
        self.name: str = str(name)

    @property
    def code(self) -> int:
        """The legacy code of ``name`` (0 for names that have none)."""
        return self._LEGACY_CODES.get(self.name, 0)

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name

    def __repr__(self) -> str:
        return f"DOMException({self.message!r}, {self.name!r})"


class ConnectionClosed(Exception):
    """The connection closed where the awaiting code needed it open.

    Raised by ``await ws.wait_open()`` (and ``async with``/``await ws``) when
    the connection closes before it opens, and by ``async for`` when the
    connection ends without a clean closing handshake. ``event`` is the
    ``close`` event that ended it; its fields are repeated as attributes.
    When the backend knows why the connection failed (CPython: the
    ``OSError``, TLS error or handshake error), that error is the
    ``__cause__``.
    """

    def __init__(self, message: str, event: CloseEvent) -> None:
        super().__init__(message)
        self.event: CloseEvent = event

    @property
    def code(self) -> int:
        return self.event.code

    @property
    def reason(self) -> str:
        return self.event.reason

    @property
    def wasClean(self) -> bool:
        return self.event.wasClean
