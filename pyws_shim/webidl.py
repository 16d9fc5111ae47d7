"""WebIDL conversions that pyws_shim applies to Python values.

Only the one conversion the WebSocket and Blob interfaces need lives here:
USVString. The rest of the argument rules are in :mod:`pyws_shim.validation`.
"""

from __future__ import annotations

import re

__all__ = ["usv_string"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def usv_string(value: str) -> str:
    """Convert ``value`` to a scalar value string (WebIDL "USVString").

    WebIDL: "convert it to a sequence of Unicode scalar values by replacing
    any surrogates that are not part of a pair with U+FFFD". A Python ``str``
    holds code points, not UTF-16 code units; a high surrogate followed by a
    low one is read as the pair it would be in JavaScript, so the same text
    gives the same bytes on the wire in CPython and under Pyodide.
    """
    if value.isascii() or _SURROGATE.search(value) is None:
        return value
    # Round-trip through UTF-16 code units: pairs join, lone ones become U+FFFD.
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
