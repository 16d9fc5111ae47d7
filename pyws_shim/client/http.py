"""The HTTP response of a refused handshake, as :class:`~.InvalidStatus` holds it.

``websockets.http11.Response`` and ``websockets.datastructures.Headers``
have these members; pyws_shim.client has its own (websockets is not
installed under Pyodide). The response is known in CPython only: under
Pyodide the runtime's WebSocket shows no part of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["Headers", "MultipleValuesError", "Response"]


class MultipleValuesError(LookupError):
    """``headers[name]`` when the header has several values (use ``get_all``)."""


class Headers:
    """HTTP headers: names compared case-insensitively, values in order."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(str(name), str(value)) for name, value in items]

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` (possibly none)."""
        folded = name.lower()
        return [value for key, value in self._items if key.lower() == folded]

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.get_all(name)
        return values[0] if values else default

    def raw_items(self) -> Iterator[tuple[str, str]]:
        """Every ``(name, value)`` pair, in order."""
        return iter(self._items)

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        if len(values) > 1:
            raise MultipleValuesError(name)
        return values[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len({name.lower() for name, _ in self._items})

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass
class Response:
    """An HTTP response: status, reason phrase, headers and body."""

    status_code: int
    reason_phrase: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
