"""``validation.check_special_host``: the URL Standard's host rule, held against
serialized URLs.

Under Pyodide the runtime's ``URL`` class parses the constructor's URL, and
some percent-encode a forbidden domain code point where the standard fails
(RUNTIMES.md: Chromium turns ``ws://foo bar.com/`` into
``ws://foo%20bar.com/``); the Pyodide backend then calls this on the
serialized URL. In CPython, ada (a WHATWG URL parser) fails on them itself:
the checks below hold the rule to ada's answer on the same hosts.
"""

from __future__ import annotations

import ada_url
import pytest

from pyws_shim.validation import check_special_host

# The forbidden domain code points that can stand inside a serialized host
# (the others, / : @ ? # [ \\ ], end or split the authority before it).
IN_HOST = [chr(c) for c in range(0x20)] + list(" %<>^|\x7f")


@pytest.mark.parametrize(
    "href",
    [
        "ws://example.com/",
        "wss://example.com:8443/chat?room=1",
        "ws://user:secret@example.com:80/",  # userinfo is not the host
        "ws://127.0.0.1:9000/",
        "ws://[::1]:9000/",  # an IPv6 address: the IPv6 parser's
        "ws://[2001:db8::1]/",
        "wss://xn--bcher-kva.example/",  # IDNA, as serialized
        "http://a-b_c.example/",
    ],
)
def test_a_valid_host_passes_unchanged(href: str) -> None:
    assert check_special_host(href) is href
    assert ada_url.check_url(href)


@pytest.mark.parametrize(
    "href",
    [
        "ws://foo%20bar.com/",  # Chromium's ws://foo bar.com/
        "ws://foo%3Cbar.com/",
        "wss://user@ex%7Cample.com:443/",
        "http://%25/",
        "ws://:80/",  # no host at all
        "ws:///path",
    ],
)
def test_a_forbidden_or_missing_host_is_a_value_error(href: str) -> None:
    with pytest.raises(ValueError, match="invalid host in") as raised:
        check_special_host(href)
    assert repr(href) in str(raised.value)


@pytest.mark.parametrize("code_point", IN_HOST, ids=[f"U+{ord(c):04X}" for c in IN_HOST])
def test_the_forbidden_code_points_are_those_the_standard_refuses(code_point: str) -> None:
    host = f"a{code_point}b.example"
    # As a lenient URL class leaves it, and as it percent-encodes it.
    for serialized in (host, f"a%{ord(code_point):02X}b.example"):
        with pytest.raises(ValueError, match="invalid host in"):
            check_special_host(f"ws://{serialized}/")
    # ada, the standard's parser, refuses the same host (but for TAB, LF and
    # CR, which the URL parser removes from its input before anything else).
    assert ada_url.check_url(f"ws://{host}/") is (code_point in "\t\n\r"), host
