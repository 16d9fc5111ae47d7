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

import asyncio
import inspect
import ssl
from types import SimpleNamespace
from typing import Any

import pytest
from scenarios import Servers
from websockets import datastructures, exceptions, frames, http11
from websockets.asyncio import client as reference_client
from websockets.client import process_exception as reference_process_exception

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


# The exceptions.


@pytest.fixture(params=["websockets", "pyws_shim"])
def names(request: pytest.FixtureRequest) -> Any:
    """The exceptions and ``Close``: websockets', or pyws_shim.client's."""
    if request.param == "websockets":
        return SimpleNamespace(
            **{name: getattr(exceptions, name) for name in exceptions.__all__},
            Close=frames.Close,
            Response=http11.Response,
            Headers=datastructures.Headers,
            process_exception=reference_process_exception,
        )
    return client


@pytest.mark.parametrize(
    ("code", "reason", "text"),
    [
        (1000, "", "1000 (OK)"),
        (1001, "bye", "1001 (going away) bye"),
        (1006, "", "1006 (abnormal closure [internal])"),
        (3000, "app", "3000 (registered) app"),
        (4999, "", "4999 (private use)"),
        (2999, "", "2999 (unknown)"),
        (1016, "x", "1016 (unknown) x"),
    ],
)
def test_close_str(names: Any, code: int, reason: str, text: str) -> None:
    assert str(names.Close(code, reason)) == text


def test_connection_closed_str_and_attributes(names: Any) -> None:
    ok, error = names.Close(1000, "done"), names.Close(1011, "oops")
    cases = [
        (None, None, None, "no close frame received or sent"),
        (None, error, None, "sent 1011 (internal error) oops; no close frame received"),
        (ok, None, None, "received 1000 (OK) done; no close frame sent"),
        (ok, error, True, "received 1000 (OK) done; then sent 1011 (internal error) oops"),
        (ok, error, False, "sent 1011 (internal error) oops; then received 1000 (OK) done"),
    ]
    for rcvd, sent, rcvd_then_sent, text in cases:
        exc = names.ConnectionClosedError(rcvd, sent, rcvd_then_sent)
        assert (exc.rcvd, exc.sent, exc.rcvd_then_sent) == (rcvd, sent, rcvd_then_sent)
        assert str(exc) == text
        assert isinstance(exc, names.ConnectionClosed)
        assert isinstance(exc, names.WebSocketException)


def test_connection_closed_code_and_reason_are_deprecated(names: Any) -> None:
    closed = names.ConnectionClosedOK(names.Close(1001, "away"), None)
    lost = names.ConnectionClosedError(None, None)
    for exc, code, reason in ((closed, 1001, "away"), (lost, 1006, "")):
        with pytest.warns(DeprecationWarning, match=r"ConnectionClosed\.code is deprecated"):
            assert exc.code == code
        with pytest.warns(DeprecationWarning, match=r"ConnectionClosed\.reason is deprecated"):
            assert exc.reason == reason


def test_invalid_uri_proxy_and_status(names: Any) -> None:
    uri = names.InvalidURI("http://x/", "scheme isn't ws or wss")
    assert (uri.uri, uri.msg) == ("http://x/", "scheme isn't ws or wss")
    assert str(uri) == "http://x/ isn't a valid URI: scheme isn't ws or wss"
    proxy = names.InvalidProxy("ftp://proxy/", "scheme ftp isn't supported")
    assert (proxy.proxy, proxy.msg) == ("ftp://proxy/", "scheme ftp isn't supported")
    assert str(proxy) == "ftp://proxy/ isn't a valid proxy: scheme ftp isn't supported"
    response = names.Response(503, "Service Unavailable", names.Headers(), b"")
    status = names.InvalidStatus(response)
    assert status.response is response
    assert str(status) == "server rejected WebSocket connection: HTTP 503"
    assert isinstance(status, names.InvalidHandshake)
    assert isinstance(names.InvalidMessage("x"), names.InvalidHandshake)
    assert isinstance(names.ConcurrencyError("x"), RuntimeError)
    for name in ("ProtocolError", "PayloadTooBig", "InvalidURI", "InvalidProxy"):
        assert issubclass(getattr(names, name), names.WebSocketException), name


def test_process_exception(names: Any) -> None:
    def response(status: int) -> Any:
        return names.Response(status, "", names.Headers(), b"")

    def caused(exc: Exception, cause: BaseException) -> Exception:
        exc.__cause__ = cause
        return exc

    transient = [
        OSError("down"),
        ConnectionRefusedError(),
        TimeoutError(),
        caused(names.InvalidMessage("cut short"), EOFError()),
        *(names.InvalidStatus(response(status)) for status in (500, 502, 503, 504)),
    ]
    for exc in transient:
        assert names.process_exception(exc) is None, repr(exc)
    fatal = [
        ValueError("fatal"),
        names.InvalidMessage("no cause"),
        caused(names.InvalidMessage("not HTTP"), ValueError()),
        *(names.InvalidStatus(response(status)) for status in (400, 403, 404, 501)),
        names.InvalidHandshake("x"),
    ]
    for exc in fatal:
        assert names.process_exception(exc) is exc, repr(exc)


def test_connection_failed_is_an_os_error_and_an_invalid_handshake() -> None:
    # pyws_shim's own: what a runtime that does not say why reports.
    exc = client.ConnectionFailed("failed")
    assert isinstance(exc, OSError)
    assert isinstance(exc, client.InvalidHandshake)
    assert client.process_exception(exc) is None


# connect()'s arguments: refused before any connection.

CONNECTS = {"websockets": reference_client.connect, "pyws_shim": client.connect}


async def _connecting(connect: Any, uri: str, **options: Any) -> None:
    """Call ``connect`` and await it: websockets checks some arguments as it
    connects, pyws_shim.client all of them when it is called."""
    connection = await connect(uri, **options)
    await connection.close()
    raise AssertionError(f"connect({uri!r}, {options}) connected")


@pytest.mark.parametrize("name", list(CONNECTS))
def test_ssl_must_match_the_scheme(name: str) -> None:
    connect = CONNECTS[name]
    context = ssl.create_default_context()
    with pytest.raises(ValueError, match=r"^ssl argument is incompatible with a ws:// URI$"):
        asyncio.run(_connecting(connect, "ws://127.0.0.1:1/", ssl=context))
    with pytest.raises(ValueError, match=r"^ssl=None is incompatible with a wss:// URI$"):
        asyncio.run(_connecting(connect, "wss://127.0.0.1:1/", ssl=None))


@pytest.mark.parametrize("name", list(CONNECTS))
def test_ssl_true_is_the_default_context(name: str, servers: Servers) -> None:
    # The default context verifies the certificate: the test CA's is not trusted.
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_connecting(CONNECTS[name], servers.secure_url("/echo"), ssl=True))


@pytest.mark.parametrize("name", list(CONNECTS))
def test_an_invalid_proxy_is_invalid_proxy(name: str) -> None:
    invalid_proxy: Any = exceptions.InvalidProxy if name == "websockets" else client.InvalidProxy
    with pytest.raises(invalid_proxy) as info:
        asyncio.run(_connecting(CONNECTS[name], "ws://127.0.0.1:1/", proxy="ftp://proxy/"))
    assert info.value.proxy == "ftp://proxy/"
    assert "ftp" in info.value.msg


def test_the_default_user_agent_is_the_backends() -> None:
    parameter = inspect.signature(client.connect).parameters["user_agent_header"]
    assert repr(parameter.default) == "<the backend's User-Agent>"


# What pyws_shim.client refuses and websockets does not, or refuses otherwise:
# each is a clear error when connect() is called, before any connection.


def test_connect_refuses_what_it_cannot_do() -> None:
    url = "ws://127.0.0.1:1/"
    # Of loop.create_connection()'s arguments, only ssl (websockets passes them on).
    with pytest.raises(TypeError, match="unsupported keyword argument 'server_hostname'"):
        client.connect(url, server_hostname="example.com")
    with pytest.raises(TypeError, match=r"ssl must be an ssl\.SSLContext or True, not str"):
        client.connect("wss://127.0.0.1:1/", ssl="yes")
    # Extensions other than permessage-deflate.
    with pytest.raises(NotImplementedError, match="permessage-deflate only"):
        client.connect(url, extensions=[object()])
    # Subprotocols the DOM WebSocket refuses (websockets would send them).
    for subprotocols in (["a b"], ["chat", "chat"]):
        with pytest.raises(ValueError, match=r"^connect\(\): subprotocols: "):
            client.connect(url, subprotocols=subprotocols)
    # Headers that are not HeadersLike (websockets fails as it connects).
    with pytest.raises(TypeError, match="additional_headers must be a Headers, a mapping or"):
        client.connect(url, additional_headers=42)
    with pytest.raises(TypeError, match="additional_headers must be"):
        client.connect(url, additional_headers="X-A: 1")
    # A uri that is not a str.
    with pytest.raises(TypeError, match="uri must be a str, not bytes"):
        client.connect(b"ws://127.0.0.1:1/")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        # websockets: ValueError("Port out of range 0-65535"), as it connects.
        ("ws://127.0.0.1:99999/", "Port out of range"),
        # websockets: an OSError from the resolver, as it connects.
        ("ws://exa mple.test/", ""),
    ],
)
def test_connect_refuses_uris_the_dom_refuses(uri: str, why: str) -> None:
    with pytest.raises(client.InvalidURI) as info:
        client.connect(uri)
    assert info.value.uri == uri
    assert str(info.value).startswith(f"{uri} isn't a valid URI: {why}")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_queue": (4, 8)}, ValueError, r"max_queue: the high-water mark \(4\) is below"),
        ({"max_queue": (None, -1)}, ValueError, "max_queue: the low-water mark must be 0 or more"),
        ({"write_limit": (2**10, 2**12)}, ValueError, "write_limit: the high-water mark"),
        ({"max_queue": ("16", None)}, TypeError, "max_queue must hold ints or None, not str"),
        ({"max_queue": (1, 2, 3)}, TypeError, r"max_queue must be an int, None or a \(high, low\)"),
        ({"write_limit": None}, TypeError, "write_limit must be an int or a"),
    ],
)
def test_connect_refuses_limits_that_break_the_rules(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    # websockets fails these with an AttributeError as it cleans up (17.4).
    with pytest.raises(error, match=message):
        asyncio.run(_connecting(client.connect, "ws://127.0.0.1:1/", **options))


def test_a_connection_shows_its_url_and_state_in_its_repr(servers: Servers) -> None:
    url = servers.url("/echo")

    async def main() -> None:
        ws = await client.connect(url)
        assert repr(ws) == f"<ClientConnection {url!r} OPEN>"
        # Arguments of the wrong type (websockets fails in the frame's
        # serialization instead): the connection stays open.
        with pytest.raises(TypeError, match="close\\(\\): code must be an int, not str"):
            await ws.close("1000")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="close\\(\\): code must be an int, not bool"):
            await ws.close(True)
        with pytest.raises(TypeError, match="close\\(\\): reason must be a str, not bytes"):
            await ws.close(1000, b"bye")  # type: ignore[arg-type]
        await ws.send("open")
        assert await ws.recv() == "open"
        await ws.close()
        assert repr(ws) == f"<ClientConnection {url!r} CLOSED>"

    asyncio.run(main())
