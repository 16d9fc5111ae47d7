"""The HTTP response of a refused handshake, as :class:`~.InvalidStatus` holds it.

``websockets.http11.Response`` and ``websockets.datastructures.Headers``
have these members; pyws_shim.client has its own (websockets is not
installed under Pyodide). The response is known in CPython only: under
Pyodide the runtime's WebSocket shows no part of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Headers", "MultipleValuesError", "Response"]


class MultipleValuesError(LookupError):
    """``headers[name]`` when the header has several values (use ``get_all``)."""

    def __str__(self) -> str:
        # As websockets (and KeyError): the name, quoted.
        if len(self.args) == 1:
            return repr(self.args[0])
        return super().__str__()


class Headers(Mapping[str, str]):
    """HTTP headers, read-only: names compared case-insensitively, values in
    order. As ``websockets.datastructures.Headers``: a mapping of the
    lower-case names, where ``headers[name]`` (and ``get``) raises
    :class:`MultipleValuesError` for a header given more than once."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(str(name), str(value)) for name, value in items]

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` (possibly none)."""
        folded = name.lower()
        return [value for key, value in self._items if key.lower() == folded]

    def raw_items(self) -> Iterator[tuple[str, str]]:
        """Every ``(name, value)`` pair, in order."""
        return iter(self._items)

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name.lower())
        if len(values) > 1:
            raise MultipleValuesError(name)
        return values[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __iter__(self) -> Iterator[str]:
        return iter({name.lower(): None for name, _ in self._items})

    def __len__(self) -> int:
        return len({name.lower() for name, _ in self._items})

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._by_name() == other._by_name()

    def _by_name(self) -> dict[str, list[str]]:
        by_name: dict[str, list[str]] = {}
        for name, value in self._items:
            by_name.setdefault(name.lower(), []).append(value)
        return by_name

    def __str__(self) -> str:
        """The headers as HTTP writes them."""
        return "".join(f"{name}: {value}\r\n" for name, value in self._items) + "\r\n"

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass
class Response:
    """An HTTP response: status, reason phrase, headers and body."""

    status_code: int
    reason_phrase: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
