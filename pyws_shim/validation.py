"""Every argument rule of the WebSocket interface, in one place.

Both backends call these functions before any I/O, so a bad argument fails
with the same exception in CPython and under Pyodide. Each function names the
steps of the WHATWG WebSockets Standard (https://websockets.spec.whatwg.org/)
that it implements; the rules that the standard leaves to WebIDL (argument
types) follow what a Python user expects: a ``TypeError`` naming the
argument, where JavaScript would silently stringify.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from .blob import Blob
from .exceptions import DOMException
from .webidl import usv_string

__all__ = [
    "MAX_REASON_BYTES",
    "URLParser",
    "check_special_host",
    "close_arguments",
    "constructor_arguments",
    "is_token",
    "origin_of",
    "parse_url_with_ada",
    "protocol_list",
    "send_payload",
    "subprotocols",
    "websocket_url",
]

MAX_REASON_BYTES = 123


class URLParser(Protocol):
    """A WHATWG URL parser: returns the serialized URL record, or raises
    ``ValueError`` where the URL parser returns failure.

    CPython uses :func:`parse_url_with_ada`. A backend whose runtime parser
    is lenient (RUNTIMES.md: Chromium's ``URL`` accepts a space in a host)
    must reject what the standard rejects before returning.
    """

    def __call__(self, url: str, base: str | None, /) -> str: ...


def parse_url_with_ada(url: str, base: str | None, /) -> str:
    """The WHATWG URL parser of ada (https://github.com/ada-url/ada)."""
    import ada_url  # imported here: it is a compiled module, absent under Pyodide

    return str(ada_url.URL(url, base).href)


# URL Standard: "A forbidden domain code point is a forbidden host code point,
# a C0 control, U+0025 (%), or U+007F DELETE." A forbidden host code point is
# U+0000, TAB, LF, CR, space, #, /, :, <, >, ?, @, [, \\, ], ^ or |.
_FORBIDDEN_DOMAIN_CODE_POINTS = frozenset(
    [chr(c) for c in range(0x20)] + list(" #%/:<>?@[\\]^|\x7f")
)


def check_special_host(href: str) -> str:
    """Reject a serialized ``ws:``/``wss:``/``http:``/``https:`` URL whose
    domain holds a forbidden domain code point; return ``href``.

    The URL Standard's host parser fails on them ("domain to ASCII", then
    "If asciiDomain contains a forbidden domain code point, domain-invalid-
    code-point validation error, return failure"), but some runtimes' URL
    classes percent-encode instead (RUNTIMES.md: Chromium turns
    ``ws://foo bar.com/`` into ``ws://foo%20bar.com/``). A :class:`URLParser`
    built on such a class calls this; it raises ``ValueError``.
    """
    authority = href.partition("://")[2].split("/", 1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return href  # an IPv6 address, checked by the IPv6 parser
    domain = host.rpartition(":")[0] if ":" in host else host
    if not domain or any(ch in _FORBIDDEN_DOMAIN_CODE_POINTS for ch in domain):
        raise ValueError(f"invalid host in {href!r}")
    return href


def websocket_url(url: object, *, base: str | None, parser: URLParser) -> str:
    """The ``new WebSocket(url, protocols)`` constructor, steps 1 to 6:
    parse ``url`` and return the serialized URL the socket connects to.

    Raises ``TypeError`` when ``url`` is not a ``str`` and ``SyntaxError``
    (a :class:`DOMException`) where the standard throws one.
    """
    url = _url_argument(url)
    # Step 2: "Let urlRecord be the result of applying the URL parser to url
    # with baseURL." The URL parser takes a scalar value string.
    try:
        href = parser(usv_string(url), base)
    except ValueError:
        # Step 3: "If urlRecord is failure, then throw a SyntaxError."
        raise DOMException(f"The URL {url!r} is invalid.", "SyntaxError") from None
    scheme, sep, rest = href.partition(":")
    # Step 4: "If urlRecord's scheme is "http", then set urlRecord's scheme to "ws"."
    # Step 5: "Otherwise, if urlRecord's scheme is "https", set urlRecord's
    # scheme to "wss"." (Same default ports, so only the scheme changes.)
    if scheme == "http":
        scheme = "ws"
    elif scheme == "https":
        scheme = "wss"
    # Step 6: "If urlRecord's scheme is not "ws" or "wss", then throw a SyntaxError."
    if scheme not in ("ws", "wss"):
        raise DOMException(
            f"The URL's scheme must be 'ws', 'wss', 'http' or 'https'; {scheme!r} is not allowed.",
            "SyntaxError",
        )
    href = scheme + sep + rest
    # Step 7: "If urlRecord's fragment is non-null, then throw a SyntaxError."
    # A serialized URL holds "#" only as the start of its fragment (the URL
    # serializer percent-encodes it everywhere else), even an empty one.
    if "#" in href:
        raise DOMException(
            f"The URL contains a fragment identifier ('{href[href.index('#') :]}'). "
            "Fragment identifiers are not allowed in WebSocket URLs.",
            "SyntaxError",
        )
    return href


def _url_argument(url: object) -> str:
    if not isinstance(url, str):
        raise TypeError(f"WebSocket(): url must be a str, not {type(url).__name__}")
    return url


def origin_of(url: str) -> str:
    """The serialization of the origin of a serialized ``ws:``/``wss:`` URL:
    ``scheme "://" host [":" port]``, the ``origin`` of its MessageEvents.

    The URL serializer writes ``scheme "://" [userinfo "@"] host [":" port]``
    followed by a path that starts with "/" (always present for special
    schemes); userinfo percent-encodes "@" and "/", so both splits are exact.
    """
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority.rpartition('@')[2]}"


# RFC 7230 section 3.2.6: token = 1*tchar
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(value: str) -> bool:
    """Whether ``value`` is an RFC 7230 token (a subprotocol, a header name)."""
    return _TOKEN.fullmatch(value) is not None


def protocol_list(protocols: object) -> list[str]:
    """The WebIDL conversion of ``protocols`` (``DOMString or
    sequence<DOMString>``) and step 8: "If protocols is a string, set
    protocols to a sequence consisting of just that string." A value of
    another type is a ``TypeError``, where JavaScript would stringify it.
    """
    if isinstance(protocols, str):
        return [protocols]
    if isinstance(protocols, Iterable) and not isinstance(
        protocols, (bytes, bytearray, memoryview)
    ):
        items = list(protocols)
        for item in items:
            if not isinstance(item, str):
                raise TypeError(
                    f"WebSocket(): each protocol must be a str, not {type(item).__name__}"
                )
        return items
    raise TypeError(
        f"WebSocket(): protocols must be a str or a sequence of str, not {type(protocols).__name__}"
    )


def subprotocols(protocols: object) -> list[str]:
    """The constructor's steps 8 and 9: ``protocols`` as a list.

    Step 9: "If any of the values in protocols occur more than once or
    otherwise fail to match the requirements for elements that comprise the
    value of `Sec-WebSocket-Protocol` fields as defined by The WebSocket
    Protocol, then throw a SyntaxError." Those elements are RFC 7230
    tokens; repeats are compared case-insensitively, as web-platform-tests
    do.
    """
    items = protocol_list(protocols)
    seen: set[str] = set()
    for item in items:
        if not is_token(item):
            raise DOMException(
                f"The subprotocol {item!r} is invalid: it must be an HTTP token.",
                "SyntaxError",
            )
        folded = item.lower()
        if folded in seen:
            raise DOMException(f"The subprotocol {item!r} is duplicated.", "SyntaxError")
        seen.add(folded)
    return items


def constructor_arguments(
    url: object, protocols: object, *, base: str | None, parser: URLParser
) -> tuple[str, list[str]]:
    """``new WebSocket(url, protocols)``: WebIDL converts both arguments
    (a ``TypeError`` for a wrong type) before the constructor's steps run;
    then steps 1 to 7 check the URL and steps 8 and 9 the protocols."""
    _url_argument(url)
    items = protocol_list(protocols)  # once: protocols may be an iterator
    return websocket_url(url, base=base, parser=parser), subprotocols(items)


def send_payload(data: object) -> str | bytes | memoryview | Blob:
    """The argument of ``send(data)``, as the message it sends.

    ``str`` is a USVString: a text message whose lone surrogates became
    U+FFFD. ``bytes`` are sent as they are; ``bytearray`` and ``memoryview``
    (Python's BufferSource) become a read-only byte view of the caller's
    buffer, which every backend reads before ``send()`` returns (so the
    message is the data as it was at the call, copied once, by the backend).
    A :class:`Blob` is sent as it is. Anything else is a ``TypeError``:
    JavaScript would stringify it, which is never what a Python caller meant.
    """
    if isinstance(data, str):
        return usv_string(data)
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        try:
            view = memoryview(data)
            if view.c_contiguous:
                return view.cast("B").toreadonly()
            return view.tobytes()  # strided: gathered into one copy
        except ValueError as exc:  # a released memoryview
            raise TypeError(f"send(): data cannot be read: {exc}") from None
    if isinstance(data, Blob):
        return data
    raise TypeError(
        f"send(): data must be str, bytes, bytearray, memoryview or Blob, not {type(data).__name__}"
    )


def close_arguments(code: object = None, reason: object = None) -> tuple[int | None, str]:
    """The ``close(code, reason)`` method, steps 1 and 2: return the close
    code (``None`` for a close frame without a body) and the reason.

    Step 1: "If code is present, but is neither an integer equal to 1000 nor
    an integer in the range 3000 to 4999, inclusive, throw an
    InvalidAccessError." Step 2: "If reason is present, then: let reasonBytes
    be the result of encoding reason; if reasonBytes is longer than 123
    bytes, then throw a SyntaxError." WebIDL converts both arguments first
    (a ``TypeError`` for a wrong type); then the code is checked before the
    reason. The close algorithm sends 1000 when a reason comes without a code.
    """
    # WebIDL converts both arguments before the steps run.
    if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
        raise TypeError(f"close(): code must be an int, not {type(code).__name__}")
    if reason is not None and not isinstance(reason, str):
        raise TypeError(f"close(): reason must be a str, not {type(reason).__name__}")
    if code is not None and code != 1000 and not 3000 <= code <= 4999:
        raise DOMException(
            f"The close code must be either 1000, or between 3000 and 4999. {code} is neither.",
            "InvalidAccessError",
        )
    if reason is None:
        return code, ""
    reason = usv_string(reason)
    size = len(reason.encode("utf-8"))
    if size > MAX_REASON_BYTES:
        raise DOMException(
            f"The close reason must not be greater than {MAX_REASON_BYTES} UTF-8 bytes; "
            f"it is {size}.",
            "SyntaxError",
        )
    return (1000 if code is None else code), reason
