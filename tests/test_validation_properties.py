"""Property tests of the argument rules in ``pyws_shim.validation`` and ``pyws_shim.webidl``.

Every expected value here comes from a small model written in this file from
the steps of the WHATWG WebSockets Standard (https://websockets.spec.whatwg.org/)
and the WebIDL conversions they rely on, as quoted in the docstrings of
``pyws_shim/validation.py``:

* ``close(code, reason)`` steps 1 and 2 (InvalidAccessError, then the
  123-byte limit on the UTF-8 encoding of the USVString reason);
* the constructor's steps 2 to 7 (URL parser, http/https to ws/wss, scheme
  check, fragment check) and steps 8 and 9 (subprotocols as RFC 7230 tokens
  without repeats);
* WebIDL's USVString conversion, modelled as a walk over UTF-16 code units.

The models never call the functions under test; the only library they lean on
is Python's own ``str``/``int`` handling. The URL parser is the one thing not
re-implemented: generated URLs keep to components whose serialization is
known (lowercased ASCII hosts, dotted-quad IPv4, ports, paths without dot
segments or characters that need percent-encoding), and ada's ``origin``
serves as a second oracle.
"""

from __future__ import annotations

import array
import string
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import ada_url
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pyws_shim import Blob, DOMException
from pyws_shim.validation import (
    close_arguments,
    origin_of,
    parse_url_with_ada,
    send_payload,
    subprotocols,
    websocket_url,
)
from pyws_shim.webidl import usv_string

T = TypeVar("T")

# ---------------------------------------------------------------------------
# Shared model pieces
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DOMError:
    """The observable part of a thrown DOMException: its name and legacy code."""

    name: str
    code: int


# WebIDL "DOMException names" table, the two rows the WebSocket steps throw.
SYNTAX_ERROR = DOMError("SyntaxError", 12)
INVALID_ACCESS_ERROR = DOMError("InvalidAccessError", 15)


def outcome(call: Callable[[], T]) -> T | DOMError:
    """Run ``call`` and return its result, or the DOMException it threw."""
    try:
        return call()
    except DOMException as exc:
        return DOMError(exc.name, exc.code)


def utf16_code_units(value: str) -> list[int]:
    """The code units a JavaScript string holding ``value`` would have."""
    units: list[int] = []
    for char in value:
        cp = ord(char)
        if cp >= 0x10000:
            cp -= 0x10000
            units.append(0xD800 + (cp >> 10))
            units.append(0xDC00 + (cp & 0x3FF))
        else:
            units.append(cp)
    return units


def usv_model(value: str) -> str:
    """WebIDL USVString: "convert it to a sequence of Unicode scalar values by
    replacing any surrogates that are not part of a pair with U+FFFD"."""
    units = utf16_code_units(value)
    out: list[str] = []
    i = 0
    while i < len(units):
        unit = units[i]
        if 0xD800 <= unit <= 0xDBFF and i + 1 < len(units) and 0xDC00 <= units[i + 1] <= 0xDFFF:
            out.append(chr(0x10000 + ((unit - 0xD800) << 10) + (units[i + 1] - 0xDC00)))
            i += 2
            continue
        out.append("\ufffd" if 0xD800 <= unit <= 0xDFFF else chr(unit))
        i += 1
    return "".join(out)


def utf8_length(scalars: str) -> int:
    """The length of the UTF-8 encoding of a scalar value string."""
    total = 0
    for char in scalars:
        cp = ord(char)
        assert not 0xD800 <= cp <= 0xDFFF, "UTF-8 encodes scalar values only"
        total += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
    return total


def has_surrogate(value: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in value)


def ascii_lowercase(value: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in value)


HIGH_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDBFF)
LOW_SURROGATES = st.characters(min_codepoint=0xDC00, max_codepoint=0xDFFF)
SURROGATE_PAIRS = st.tuples(HIGH_SURROGATES, LOW_SURROGATES).map("".join)


def texts_with_surrogates(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text whose code points may include lone surrogates and high+low pairs."""
    pieces = st.one_of(
        st.characters(),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        SURROGATE_PAIRS,
    )
    return st.lists(pieces, min_size=min_size, max_size=max_size).map("".join)


ANY_TEXT = st.one_of(st.text(max_size=80), texts_with_surrogates(60))

# ---------------------------------------------------------------------------
# 1. close(code, reason)
# ---------------------------------------------------------------------------

CLOSE_CODE_EDGES = [0, 999, 1000, 1001, 2999, 3000, 4999, 5000, 65535, 65536, -1, -1000]
CLOSE_CODES = st.one_of(
    st.none(),
    st.sampled_from(CLOSE_CODE_EDGES),
    st.integers(min_value=-70_000, max_value=70_000),
    st.integers(min_value=2990, max_value=5010),
    st.integers(),
)
# Long reasons too, so that step 2's limit is crossed in both directions.
CLOSE_REASONS = st.one_of(
    st.none(),
    ANY_TEXT,
    texts_with_surrogates(min_size=25, max_size=50),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x7FF), max_size=70),
)


def close_model(code: int | None, reason: str | None) -> tuple[int | None, str] | DOMError:
    # Step 1: "If code is present, but is neither an integer equal to 1000 nor
    # an integer in the range 3000 to 4999, inclusive, throw an InvalidAccessError."
    if code is not None and not (code == 1000 or 3000 <= code <= 4999):
        return INVALID_ACCESS_ERROR
    if reason is None:
        return (code, "")
    # Step 2: "let reasonBytes be the result of encoding reason; if reasonBytes
    # is longer than 123 bytes, then throw a SyntaxError." (reason is a USVString)
    scalars = usv_model(reason)
    if utf8_length(scalars) > 123:
        return SYNTAX_ERROR
    # The close algorithm sends 1000 when a reason comes without a code.
    return (1000 if code is None else code, scalars)


@settings(max_examples=300)
@given(code=CLOSE_CODES, reason=CLOSE_REASONS)
def test_close_code_and_reason_follow_the_close_method_steps(
    code: int | None, reason: str | None
) -> None:
    assert outcome(lambda: close_arguments(code, reason)) == close_model(code, reason)


@settings(max_examples=200)
@given(
    code=st.one_of(
        st.sampled_from([0, 999, 1001, 2999, 5000, 65535, -1]),
        st.integers().filter(lambda c: c != 1000 and not 3000 <= c <= 4999),
    ),
    reason=st.one_of(st.none(), ANY_TEXT, st.text(min_size=200, max_size=300)),
)
def test_close_code_outside_1000_and_3000_4999_is_invalid_access(
    code: int, reason: str | None
) -> None:
    # The code is checked (step 1) before the reason (step 2): an over-long
    # reason still yields InvalidAccessError.
    with pytest.raises(DOMException) as info:
        close_arguments(code, reason)
    assert info.value.name == "InvalidAccessError"
    assert info.value.code == 15 == DOMException.INVALID_ACCESS_ERR


@settings(max_examples=100)
@given(
    code=st.one_of(st.just(1000), st.integers(min_value=3000, max_value=4999)),
    reason=st.one_of(st.none(), st.text(max_size=41)),
)
def test_close_code_1000_or_3000_4999_is_accepted(code: int, reason: str | None) -> None:
    # At most 41 code points of at most 3 bytes each: never over 123 bytes.
    if reason is not None:
        reason = "".join(c for c in reason if ord(c) < 0x10000)
    assert close_arguments(code, reason) == (code, "" if reason is None else usv_model(reason))


@st.composite
def reasons_of_utf8_size(draw: st.DrawFn, size: int) -> str:
    """A reason whose USVString encodes to exactly ``size`` UTF-8 bytes,
    mixing 1-, 2-, 3- and 4-byte scalars, lone surrogates (U+FFFD: 3 bytes)
    and surrogate pairs (one astral scalar: 4 bytes)."""
    by_width: dict[int, st.SearchStrategy[str]] = {
        1: st.characters(max_codepoint=0x7F),
        2: st.characters(min_codepoint=0x80, max_codepoint=0x7FF),
        3: st.one_of(
            st.characters(min_codepoint=0x800, max_codepoint=0xFFFF),
            HIGH_SURROGATES,
            LOW_SURROGATES,
            st.just("€"),
        ),
        4: st.one_of(st.characters(min_codepoint=0x10000), SURROGATE_PAIRS),
    }
    pieces: list[str] = []
    remaining = size
    while remaining > 0:
        width = draw(st.sampled_from([w for w in (1, 2, 3, 4) if w <= remaining]))
        piece = draw(by_width[width])
        if pieces and 0xD800 <= ord(pieces[-1][-1]) <= 0xDBFF and 0xDC00 <= ord(piece[0]) <= 0xDFFF:
            piece = "\ufffd"  # a lone low after a lone high would pair up into 4 bytes
        pieces.append(piece)
        remaining -= width
    return "".join(pieces)


@settings(max_examples=60)
@given(
    code=st.one_of(st.none(), st.just(1000), st.just(4999)),
    reason=reasons_of_utf8_size(123),
)
def test_close_reason_of_exactly_123_bytes_is_accepted(code: int | None, reason: str) -> None:
    scalars = usv_model(reason)
    assert utf8_length(scalars) == 123
    assert close_arguments(code, reason) == (1000 if code is None else code, scalars)


@settings(max_examples=60)
@given(
    code=st.one_of(st.none(), st.just(1000), st.just(3000)),
    reason=reasons_of_utf8_size(124),
)
def test_close_reason_longer_than_123_bytes_is_syntax_error(code: int | None, reason: str) -> None:
    assert utf8_length(usv_model(reason)) == 124
    with pytest.raises(DOMException) as info:
        close_arguments(code, reason)
    assert info.value.name == "SyntaxError"
    assert info.value.code == 12 == DOMException.SYNTAX_ERR


@pytest.mark.parametrize(
    ("reason", "size"),
    [
        ("a" * 123, 123),
        ("a" * 124, 124),
        ("é" * 61 + "a", 123),
        ("é" * 62, 124),
        ("€" * 41, 123),
        ("€" * 41 + "a", 124),
        ("\U0001f600" * 30 + "abc", 123),
        ("\U0001f600" * 31, 124),
        ("\ud83d\ude00" * 30 + "abc", 123),  # pairs join: 4 bytes each
        ("\ud83d\ude00" * 31, 124),
        ("\ud800" * 41, 123),  # consecutive highs never pair: U+FFFD each
        ("\udc00" * 20 + "\ud800" * 21, 123),  # lows before highs: all lone
        ("\ud800" * 41 + "a", 124),
    ],
    ids=[
        "ascii-123",
        "ascii-124",
        "2-byte-123",
        "2-byte-124",
        "3-byte-123",
        "3-byte-124",
        "astral-123",
        "astral-124",
        "pairs-123",
        "pairs-124",
        "lone-high-123",
        "lone-low-then-high-123",
        "lone-high-124",
    ],
)
def test_close_reason_bytes_boundary_at_123(reason: str, size: int) -> None:
    scalars = usv_model(reason)
    assert utf8_length(scalars) == size
    if size <= 123:
        assert close_arguments(None, reason) == (1000, scalars)
    else:
        with pytest.raises(DOMException) as info:
            close_arguments(None, reason)
        assert (info.value.name, info.value.code) == ("SyntaxError", 12)


NOT_INTEGERS = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.booleans(),
    st.just(b"1000"),
    st.just([1000]),
    st.just(1000.0),
)


@settings(max_examples=100)
@given(code=NOT_INTEGERS, reason=st.one_of(st.none(), st.text(max_size=5)))
def test_close_code_not_an_integer_is_type_error(code: object, reason: str | None) -> None:
    with pytest.raises(TypeError, match="code"):
        close_arguments(code, reason)


NOT_STRINGS = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.binary(max_size=5),
    st.lists(st.text(max_size=2), max_size=2),
    st.just(object()),
)


@settings(max_examples=100)
@given(
    code=st.one_of(st.none(), st.just(1000), st.integers(min_value=3000, max_value=4999)),
    reason=NOT_STRINGS,
)
def test_close_reason_not_a_string_is_type_error(code: int | None, reason: object) -> None:
    with pytest.raises(TypeError, match="reason"):
        close_arguments(code, reason)


@pytest.mark.parametrize(
    ("code", "reason"),
    [(5, 5), (999, b"bye"), (5000, ["bye"]), (0, 1.5)],
)
def test_close_arguments_are_converted_before_step_1(code: int, reason: object) -> None:
    # WebIDL converts every argument (the Python analogue: the TypeError for a
    # non-str reason) before the method's steps run, so a reason that is not a
    # string is a TypeError even when the code would fail step 1.
    with pytest.raises(TypeError, match="reason"):
        close_arguments(code, reason)


# ---------------------------------------------------------------------------
# 2. Subprotocols (constructor steps 8 and 9)
# ---------------------------------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
TOKENS = st.text(alphabet=TCHAR, min_size=1, max_size=8)
ODD_PROTOCOLS = st.one_of(
    st.sampled_from(["", " ", "a b", "a,b", "chat ", "é", "(x)", "a/b", "a=b", "\t", "{", "\x7f"]),
    st.text(max_size=4),
)


def is_token(value: str) -> bool:
    # RFC 7230 section 3.2.6: token = 1*tchar
    return len(value) > 0 and all(char in TCHAR for char in value)


def subprotocols_model(protocols: list[str]) -> list[str] | DOMError:
    seen: list[str] = []
    for protocol in protocols:
        # Step 9: "If any of the values in protocols occur more than once or
        # otherwise fail to match the requirements ... then throw a SyntaxError."
        if not is_token(protocol):
            return SYNTAX_ERROR
        if ascii_lowercase(protocol) in seen:
            return SYNTAX_ERROR
        seen.append(ascii_lowercase(protocol))
    return list(protocols)


@st.composite
def protocol_lists(draw: st.DrawFn) -> list[str]:
    """Lists drawn from a small pool, with ASCII case flips, so repeats are common."""
    pool = draw(st.lists(st.one_of(TOKENS, TOKENS, ODD_PROTOCOLS), min_size=1, max_size=4))
    picks = draw(st.lists(st.sampled_from(pool), max_size=5))
    flipped: list[str] = []
    for pick in picks:
        if draw(st.booleans()):
            pick = "".join(c.swapcase() if c.isascii() else c for c in pick)
        flipped.append(pick)
    return flipped


@settings(max_examples=300)
@given(
    protocols=st.one_of(
        protocol_lists(),
        st.lists(TOKENS, max_size=5, unique_by=ascii_lowercase),
    )
)
def test_protocols_must_be_tokens_that_occur_once_ascii_case_insensitively(
    protocols: list[str],
) -> None:
    expected = subprotocols_model(protocols)
    assert outcome(lambda: subprotocols(protocols)) == expected
    assert outcome(lambda: subprotocols(tuple(protocols))) == expected
    assert outcome(lambda: subprotocols(p for p in protocols)) == expected


@settings(max_examples=150)
@given(protocol=st.one_of(TOKENS, ODD_PROTOCOLS))
def test_protocols_string_is_a_sequence_of_just_that_string(protocol: str) -> None:
    # Step 8: "If protocols is a string, set protocols to a sequence consisting
    # of just that string."
    expected = [protocol] if is_token(protocol) else SYNTAX_ERROR
    assert outcome(lambda: subprotocols(protocol)) == expected


@settings(max_examples=100)
@given(
    before=st.lists(TOKENS, max_size=3, unique_by=ascii_lowercase),
    bad=st.one_of(st.integers(), st.none(), st.binary(max_size=3), st.floats(), st.just(["x"])),
)
def test_protocols_value_not_a_string_is_type_error(before: list[str], bad: object) -> None:
    with pytest.raises(TypeError, match="protocol"):
        subprotocols([*before, bad])


@pytest.mark.parametrize(
    "protocols",
    [1, None, 1.5, b"chat", bytearray(b"chat"), memoryview(b"chat"), object()],
)
def test_protocols_not_a_string_or_sequence_is_type_error(protocols: object) -> None:
    with pytest.raises(TypeError, match="protocol"):
        subprotocols(protocols)


def test_protocols_empty_sequence_is_no_protocol() -> None:
    assert subprotocols([]) == []
    assert subprotocols(()) == []


@pytest.mark.parametrize(
    "protocols",
    [["not a token", 5], ["chat", "chat", None], ["", b"x"]],
)
def test_protocols_sequence_is_converted_before_step_9(protocols: list[object]) -> None:
    # WebIDL converts the whole sequence<DOMString> (the Python analogue: the
    # TypeError for a non-str value) before step 9 checks any value.
    with pytest.raises(TypeError, match="protocol"):
        subprotocols(protocols)


# ---------------------------------------------------------------------------
# 3. The URL (constructor steps 2 to 7)
# ---------------------------------------------------------------------------

SCHEMES = st.one_of(
    st.sampled_from(["ws", "wss", "http", "https"]),
    st.sampled_from(["ws", "wss", "http", "https"]),
    st.sampled_from(
        [
            *("ws", "wss", "http", "https", "WS", "WSS", "HTTP", "Https"),
            *("ftp", "file", "javascript", "data", "mailto"),
        ]
    ),
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6),
)
LABELS = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_letters),
    st.text(alphabet=string.ascii_letters + string.digits, max_size=8),
)
DOMAINS = st.lists(LABELS, min_size=1, max_size=4).map(".".join)
IPV4 = st.lists(st.integers(0, 255), min_size=4, max_size=4).map(
    lambda octets: ".".join(map(str, octets))
)
HOSTS = st.one_of(DOMAINS, DOMAINS, IPV4)
PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
SEGMENTS = st.text(alphabet=PATH_CHARS, max_size=6).filter(lambda s: s not in (".", ".."))
QUERY_CHARS = string.ascii_letters + string.digits + "-._~!$&()*+,;=:@/?"
DEFAULT_PORTS = {"ws": 80, "wss": 443}
MAPPED_SCHEMES = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}


@dataclass(frozen=True)
class Port:
    text: str  # what follows the host in the input, ":" included
    value: int | None


PORTS = st.one_of(
    st.just(Port("", None)),
    st.just(Port(":", None)),  # an empty port is no port
    st.builds(
        lambda value, zeros: Port(":" + "0" * zeros + str(value), value),
        st.one_of(st.sampled_from([0, 80, 443, 8080, 65535]), st.integers(0, 65535)),
        st.integers(0, 2),
    ),
)


@dataclass(frozen=True)
class URLParts:
    scheme: str
    userinfo: str
    host: str
    port: Port
    segments: tuple[str, ...]
    slash: bool  # with no segments: "ws://h" or "ws://h/"
    query: str | None
    fragment: str | None

    def text(self) -> str:
        path = "/" + "/".join(self.segments) if self.segments or self.slash else ""
        query = "" if self.query is None else "?" + self.query
        fragment = "" if self.fragment is None else "#" + self.fragment
        return f"{self.scheme}://{self.userinfo}{self.host}{self.port.text}{path}{query}{fragment}"


NO_USERINFO = st.just("")


def url_parts(
    schemes: st.SearchStrategy[str] = SCHEMES,
    userinfo: st.SearchStrategy[str] = NO_USERINFO,
    fragments: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[URLParts]:
    return st.builds(
        URLParts,
        scheme=schemes,
        userinfo=userinfo,
        host=HOSTS,
        port=PORTS,
        segments=st.lists(SEGMENTS, max_size=4).map(tuple),
        slash=st.booleans(),
        query=st.one_of(st.none(), st.text(alphabet=QUERY_CHARS, max_size=6)),
        fragment=(
            st.one_of(
                st.none(),
                st.none(),
                st.none(),
                st.just(""),
                st.text(alphabet=QUERY_CHARS, max_size=4),
            )
            if fragments is None
            else fragments
        ),
    )


def websocket_url_model(parts: URLParts) -> str | DOMError:
    scheme = ascii_lowercase(parts.scheme)
    # Steps 4 and 5: http becomes ws, https becomes wss.
    # Step 6: "If urlRecord's scheme is not "ws" or "wss", then throw a SyntaxError."
    if scheme not in MAPPED_SCHEMES:
        return SYNTAX_ERROR
    # Step 7: "If urlRecord's fragment is non-null, then throw a SyntaxError."
    if parts.fragment is not None:
        return SYNTAX_ERROR
    mapped = MAPPED_SCHEMES[scheme]
    port = parts.port.value
    port_text = "" if port is None or port == DEFAULT_PORTS[mapped] else f":{port}"
    path = "/" + "/".join(parts.segments)
    query = "" if parts.query is None else "?" + parts.query
    return f"{mapped}://{ascii_lowercase(parts.host)}{port_text}{path}{query}"


def ws_url(url: object, base: str | None = None) -> str:
    return websocket_url(url, base=base, parser=parse_url_with_ada)


@settings(max_examples=300)
@given(parts=url_parts())
@example(URLParts("ws", "", "example.com", Port("", None), (), True, None, ""))
@example(URLParts("HTTPS", "", "EXAMPLE.com", Port(":443", 443), ("a",), True, None, None))
@example(URLParts("http", "", "h", Port(":443", 443), (), False, "", None))
def test_url_scheme_port_and_fragment_follow_constructor_steps(parts: URLParts) -> None:
    url = parts.text()
    expected = websocket_url_model(parts)
    actual = outcome(lambda: ws_url(url))
    assert actual == expected
    if isinstance(actual, str):
        mapped = MAPPED_SCHEMES[ascii_lowercase(parts.scheme)]
        assert actual.startswith(mapped + "://")
        assert "#" not in actual
        # The serialized URL is a fixed point of the constructor's steps.
        assert ws_url(actual) == actual


@settings(max_examples=50)
@given(url=st.one_of(st.binary(max_size=10), st.integers(), st.none(), st.just(["ws://h/"])))
def test_url_not_a_string_is_type_error(url: object) -> None:
    with pytest.raises(TypeError, match="url"):
        ws_url(url)


RELATIVE_SEGMENTS = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "-_~", min_size=1, max_size=6),
    min_size=1,
    max_size=3,
)


@settings(max_examples=100)
@given(segments=RELATIVE_SEGMENTS, form=st.sampled_from(["path", "/path", "//host"]))
def test_relative_url_without_base_url_is_syntax_error(segments: list[str], form: str) -> None:
    # Step 3: "If urlRecord is failure, then throw a SyntaxError."
    relative = {
        "path": "/".join(segments),
        "/path": "/" + "/".join(segments),
        "//host": "//example.org/" + "/".join(segments),
    }[form]
    with pytest.raises(DOMException) as info:
        ws_url(relative)
    assert (info.value.name, info.value.code) == ("SyntaxError", 12)


@settings(max_examples=100)
@given(segments=RELATIVE_SEGMENTS, form=st.sampled_from(["path", "/path", "//host"]))
def test_relative_url_resolves_against_base_url(segments: list[str], form: str) -> None:
    base = "ws://example.com/dir/"
    joined = "/".join(segments)
    relative, expected = {
        "path": (joined, "ws://example.com/dir/" + joined),
        "/path": ("/" + joined, "ws://example.com/" + joined),
        "//host": ("//Example.ORG/" + joined, "ws://example.org/" + joined),
    }[form]
    assert ws_url(relative, base) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ws://foo bar.com/", SYNTAX_ERROR),
        ("ws://example.com:65536/", SYNTAX_ERROR),
        ("ws://[::1", SYNTAX_ERROR),
        ("ws://example.com/#", SYNTAX_ERROR),
        ("ws://example.com/#foo", SYNTAX_ERROR),
        ("ws://example.com/%23", "ws://example.com/%23"),
        ("http://example.com/", "ws://example.com/"),
        ("https://EXAMPLE.com:443/a", "wss://example.com/a"),
        ("ws://[::1]:8080", "ws://[::1]:8080/"),
        ("ws://example.com/a b", "ws://example.com/a%20b"),
        ("mailto:x@example.com", SYNTAX_ERROR),
        ("javascript:alert(1)", SYNTAX_ERROR),
        ("", SYNTAX_ERROR),
        ("ws://xn--n3h.com/", "ws://xn--n3h.com/"),
        ("ws://\u2603.com/", "ws://xn--n3h.com/"),
        ("ws://example.com/\ud800", "ws://example.com/%EF%BF%BD"),  # url is a USVString
        ("ws://example.com/\ud83d\ude00", "ws://example.com/%F0%9F%98%80"),
    ],
)
def test_web_platform_tests_constructor_urls(url: str, expected: str | DOMError) -> None:
    assert outcome(lambda: ws_url(url)) == expected


# ---------------------------------------------------------------------------
# 4. The origin of a ws:/wss: URL
# ---------------------------------------------------------------------------

USER_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;="
USERINFO = st.one_of(
    st.just(""),
    st.builds(lambda u: u + "@", st.text(alphabet=USER_CHARS + "@", max_size=5)),
    st.builds(
        lambda u, p: f"{u}:{p}@",
        st.text(alphabet=USER_CHARS, max_size=5),
        st.text(alphabet=USER_CHARS + ":@", max_size=5),
    ),
)


@settings(max_examples=200)
@given(
    parts=url_parts(
        schemes=st.sampled_from(["ws", "wss", "http", "https", "WSS"]),
        userinfo=USERINFO,
        fragments=st.none(),
    )
)
def test_origin_is_scheme_host_and_non_default_port(parts: URLParts) -> None:
    mapped = MAPPED_SCHEMES[ascii_lowercase(parts.scheme)]
    port = parts.port.value
    port_text = "" if port is None or port == DEFAULT_PORTS[mapped] else f":{port}"
    expected = f"{mapped}://{ascii_lowercase(parts.host)}{port_text}"
    url = ws_url(parts.text())
    assert origin_of(url) == expected
    assert origin_of(url) == ada_url.URL(url).origin


# ---------------------------------------------------------------------------
# 5. send(data)
# ---------------------------------------------------------------------------


@settings(max_examples=200)
@given(data=ANY_TEXT)
def test_send_string_is_a_usv_string(data: str) -> None:
    result = send_payload(data)
    assert isinstance(result, str)
    assert result == usv_model(data)
    assert not has_surrogate(result)


@settings(max_examples=50)
@given(data=st.binary(max_size=64))
def test_send_bytes_is_the_same_bytes(data: bytes) -> None:
    result = send_payload(data)
    assert isinstance(result, bytes)
    assert result == data


def buffer_views(data: bytes) -> Iterator[tuple[str, bytearray, object, bytes]]:
    """(label, backing bytearray, BufferSource, the bytes it holds) for ``data``."""
    backing = bytearray(data)
    yield "bytearray", backing, backing, bytes(data)
    backing = bytearray(data)
    yield "memoryview", backing, memoryview(backing), bytes(data)
    backing = bytearray(data)
    yield "strided memoryview", backing, memoryview(backing)[::2], bytes(data[::2])
    backing = bytearray(data)
    yield "reversed memoryview", backing, memoryview(backing)[::-1], bytes(data[::-1])
    if len(data) % 2 == 0 and data:
        backing = bytearray(data)
        shaped = memoryview(backing).cast("B", shape=[2, len(data) // 2])
        yield "2-D memoryview", backing, shaped, bytes(data)


@settings(max_examples=100)
@given(data=st.binary(max_size=64))
def test_send_buffer_source_is_its_bytes_copied_at_most_once(data: bytes) -> None:
    # A contiguous buffer is handed to the backend as a read-only byte view
    # (the backend copies it once, before send() returns: the scenario
    # messages.bytes_like_and_blob_payloads checks that on the wire); a
    # strided one is gathered into one copy here.
    for label, backing, source, held in buffer_views(data):
        result = send_payload(source)
        assert bytes(result) == held, label  # type: ignore[arg-type]
        if isinstance(result, memoryview):
            assert result.readonly, label
            assert (result.format, result.ndim, result.c_contiguous) == ("B", 1, True), label
            assert result.obj is backing, f"{label}: copied where a view would do"
        else:
            assert isinstance(result, bytes), label
            for i in range(len(backing)):
                backing[i] ^= 0xFF
            assert result == held, f"{label}: the gathered copy changed with its buffer"


@settings(max_examples=100)
@given(
    values=st.lists(st.integers(-(2**31), 2**31 - 1), max_size=16),
    step=st.sampled_from([1, 2, -1]),
)
def test_send_memoryview_of_int_array_is_its_bytes(values: list[int], step: int) -> None:
    source = memoryview(array.array("i", values))[::step]
    expected = b"".join(struct.pack("=i", v) for v in values[::step])
    result = send_payload(source)
    assert isinstance(result, (bytes, memoryview))
    assert bytes(result) == expected


@settings(max_examples=30)
@given(parts=st.lists(st.binary(max_size=8), max_size=3))
def test_send_blob_is_sent_as_is(parts: list[bytes]) -> None:
    blob = Blob(parts)
    assert send_payload(blob) is blob


@settings(max_examples=100)
@given(
    data=st.one_of(
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.lists(st.integers(0, 255), max_size=3),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
        st.just(object()),
        st.just(array.array("i", [1])),
    )
)
def test_send_other_types_are_type_error(data: object) -> None:
    with pytest.raises(TypeError, match="data"):
        send_payload(data)


def test_send_released_memoryview_is_type_error() -> None:
    view = memoryview(b"abc")
    view.release()
    with pytest.raises(TypeError):
        send_payload(view)


# ---------------------------------------------------------------------------
# 6. WebIDL USVString
# ---------------------------------------------------------------------------


@settings(max_examples=300)
@given(value=st.one_of(ANY_TEXT, texts_with_surrogates(20)))
@example("\ud800")
@example("\udc00\ud800")
@example("\ud83d\ude00")
@example("\ud800\U0001f600")
@example("\U0001f600\udc00")
@example("a\ud800\udbff\udc00b")
def test_usv_string_replaces_surrogates_not_part_of_a_pair(value: str) -> None:
    result = usv_string(value)
    assert result == usv_model(value)
    assert not has_surrogate(result)
    assert usv_string(result) == result


@settings(max_examples=100)
@given(value=st.one_of(st.text(alphabet=st.characters(max_codepoint=0x7F)), st.text()))
def test_usv_string_of_scalar_values_is_unchanged(value: str) -> None:
    assert not has_surrogate(value)  # st.text() leaves out surrogates
    assert usv_string(value) == value
    assert usv_model(value) == value
