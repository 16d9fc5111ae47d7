"""``pyws_shim.client``'s plain-Python parts, side by side with websockets'.

The headers of a refused handshake (``Headers``, ``MultipleValuesError``),
the exceptions' attributes and messages, ``process_exception`` and the
argument checks of ``connect()`` behave as websockets' own: each test runs
the same statements on websockets' class and on pyws_shim.client's, and
compares. What pyws_shim.client does differently by design is tested on
its own, and says why. (The connections themselves are tested in every
runtime by ``tests/scenarios/client.py``.)
"""

from __future__ import annotations

from typing import Any

import pytest
from websockets import datastructures, http11

from pyws_shim import client

PAIRS = [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")]


@pytest.fixture(params=["websockets", "pyws_shim"])
def http(request: pytest.FixtureRequest) -> Any:
    """Where ``Headers`` and ``MultipleValuesError`` are: websockets', or pyws_shim.client's."""
    return datastructures if request.param == "websockets" else client


# Headers.


def test_headers_mapping_api(http: Any) -> None:
    headers_class = http.Headers
    headers = headers_class(PAIRS)
    assert headers["content-type"] == headers["CONTENT-TYPE"] == "text/plain"
    assert headers.get("Content-Type") == "text/plain"
    assert headers.get("Missing") is None
    assert headers.get("Missing", "default") == "default"
    assert "CONTENT-TYPE" in headers
    assert "missing" not in headers
    assert 42 not in headers
    # A mapping of the lower-case names.
    assert list(headers) == ["content-type", "set-cookie"]
    assert list(headers.keys()) == ["content-type", "set-cookie"]
    assert len(headers) == 2
    assert headers.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert headers.get_all("missing") == []
    assert list(headers.raw_items()) == PAIRS
    assert repr(headers) == f"Headers({PAIRS!r})"
    assert str(headers) == (
        "Content-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n"
    )
    assert dict(headers_class([("A", "1"), ("b", "2")])) == {"a": "1", "b": "2"}
    assert list(headers_class([("A", "1")]).items()) == [("a", "1")]


def test_headers_missing_and_repeated_names(http: Any) -> None:
    headers = http.Headers(PAIRS)
    with pytest.raises(KeyError) as missing:
        headers["Missing"]
    assert missing.value.args == ("missing",)
    for name in ("Set-Cookie", "set-cookie"):
        with pytest.raises(LookupError) as repeated:
            headers[name]
        assert type(repeated.value) is http.MultipleValuesError
        assert not isinstance(repeated.value, KeyError)  # dict-like code must not take it
        assert str(repeated.value) == repr(name)
        # get() too: only a missing name gives the default.
        with pytest.raises(LookupError):
            headers.get(name)
    assert isinstance(http.MultipleValuesError("x"), LookupError)
    assert str(http.MultipleValuesError("Set-Cookie")) == "'Set-Cookie'"
    assert str(http.MultipleValuesError("a", "b")) == "('a', 'b')"


def test_headers_equality(http: Any) -> None:
    headers_class = http.Headers
    # Equal when each name has the same values in the same order, whatever
    # the case of the names and the order of the names.
    assert headers_class([("A", "1"), ("b", "2")]) == headers_class([("B", "2"), ("a", "1")])
    assert headers_class([("A", "1"), ("a", "2")]) != headers_class([("A", "2"), ("a", "1")])
    assert headers_class([("A", "1")]) != headers_class([("A", "1"), ("A", "1")])
    assert headers_class() == headers_class()
    assert headers_class([("A", "1")]) != {"a": "1"}  # not a Headers
    with pytest.raises(TypeError):
        hash(headers_class())


def test_response_holds_status_reason_headers_and_body() -> None:
    implementations: list[tuple[Any, Any]] = [
        (http11.Response, datastructures.Headers),
        (client.Response, client.Headers),
    ]
    for response_class, headers_class in implementations:
        response = response_class(403, "Forbidden", headers_class([("X-A", "1")]), b"no")
        assert (response.status_code, response.reason_phrase, response.body) == (
            403,
            "Forbidden",
            b"no",
        )
        assert response.headers["x-a"] == "1"
    assert client.Response(200, "OK") == client.Response(200, "OK", client.Headers(), b"")
