"""Scenarios: the ``WebSocket(url, protocols)`` constructor.

Every argument is checked before any I/O (WHATWG WebSockets Standard, "new
WebSocket(url, protocols)", steps 1 to 9): the URL first, then the
protocols, and the keyword-only options in every runtime too.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from pyws_shim import WebSocket

from . import BROWSERS, SCRIPT_RUNTIMES, Servers, scenario, skip_in
from ._support import dom_error, first_message, raises


async def discard(ws: WebSocket) -> None:
    """Close a socket made only to read its attributes, and wait until it is closed."""
    ws.close()
    await ws.wait_closed()
    assert ws.readyState == WebSocket.CLOSED


def port_of(servers: Servers) -> int:
    port = urlsplit(servers.ws).port
    assert port is not None
    return port


def refused_port(servers: Servers) -> int:
    port = urlsplit(servers.refused).port
    assert port is not None
    return port


# The URL.


@scenario
async def other_schemes_are_syntax_errors(servers: Servers) -> None:
    port = port_of(servers)
    for url in (
        f"ftp://127.0.0.1:{port}/echo",
        "file:///tmp/socket",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "data:text/plain,hello",
        "about:blank",
        "ws+unix:///tmp/socket",
    ):
        dom_error("SyntaxError", f"WebSocket({url!r})", WebSocket, url)


@scenario
async def fragment_in_url_is_syntax_error(servers: Servers) -> None:
    for url in (
        servers.url("/echo") + "#fragment",
        servers.url("/echo") + "#",
        servers.ws + "#",
        servers.url("/echo", a="1") + "#x",
        servers.url("/echo").replace("ws://", "http://", 1) + "#",
        servers.url("/echo").replace("ws://", "https://", 1) + "#top",
    ):
        dom_error("SyntaxError", f"WebSocket({url!r})", WebSocket, url)


@scenario
async def unparsable_url_is_syntax_error(servers: Servers) -> None:
    for url in (
        "ws://foo bar.com/",
        "ws://example.com:65536/",
        "ws://[::1",
        "ws://",
        "wss://",
        "ws://exa mple.com:80/",
        "ws://example.com:port/",
        "ws://%/",
        "http://[::1/",
    ):
        dom_error("SyntaxError", f"WebSocket({url!r})", WebSocket, url)


@scenario(
    skip=skip_in(
        BROWSERS, "in a browser, relative URLs resolve against the page's (or worker's) URL"
    )
)
async def relative_url_is_syntax_error_outside_a_page(servers: Servers) -> None:
    # With no document there is no base URL: the URL parser fails on these.
    # ("" is relative too: in a page it resolves to the page's own URL.)
    for url in ("/path", "path", "", "?query", "//127.0.0.1/echo", "../echo", "not a url"):
        dom_error("SyntaxError", f"WebSocket({url!r})", WebSocket, url)


@scenario(
    skip=skip_in(
        ("cpython", *SCRIPT_RUNTIMES), "no page, so no base URL: relative URLs are a SyntaxError"
    )
)
async def relative_url_resolves_against_the_page(servers: Servers) -> None:
    # Constructor step 1: "Let baseURL be this's relevant settings object's
    # API base URL": in a page the document's base URL, in a worker the
    # worker's own URL (its location); then http: becomes ws:.
    import js  # type: ignore[import-not-found]

    base = str(js.document.baseURI) if hasattr(js, "document") else str(js.location.href)
    expected = str(js.URL.new("/echo?x=1", base).href)
    assert expected.startswith(("http:", "https:")), expected
    ws = WebSocket("/echo?x=1")
    assert ws.url == "ws" + expected.removeprefix("http"), (ws.url, expected)
    await discard(ws)  # the page's (or worker's) own server is not a WebSocket server
    ws = WebSocket("")
    assert ws.url == "ws" + base.partition("#")[0].removeprefix("http"), ws.url
    await discard(ws)


@scenario
async def non_str_url_is_type_error(servers: Servers) -> None:
    for url in (None, servers.url("/echo").encode(), 5, ["ws://127.0.0.1/"]):
        raises(TypeError, f"WebSocket({url!r})", WebSocket, url)


@scenario
async def http_scheme_becomes_ws(servers: Servers) -> None:
    echo = servers.url("/echo")
    ws = WebSocket(echo.replace("ws://", "http://", 1))
    assert ws.url == echo, ws.url
    await discard(ws)
    ws = WebSocket(echo.replace("ws://", "HTTP://", 1))
    assert ws.url == echo, ws.url
    await discard(ws)


@scenario
async def http_url_connects_as_ws(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo").replace("ws://", "http://", 1))
    await ws.wait_open()
    assert ws.readyState == WebSocket.OPEN
    assert ws.url == servers.url("/echo")
    ws.close()
    event = await ws.wait_closed()
    assert event.wasClean, event


@scenario
async def https_scheme_becomes_wss(servers: Servers) -> None:
    port = refused_port(servers)
    ws = WebSocket(f"https://127.0.0.1:{port}/path")
    assert ws.url == f"wss://127.0.0.1:{port}/path", ws.url
    await discard(ws)


@scenario
async def url_host_is_lowercased(servers: Servers) -> None:
    port = refused_port(servers)
    ws = WebSocket(f"WS://LOCALHOST:{port}/Path")
    # The scheme and host are lowercased; the path keeps its case.
    assert ws.url == f"ws://localhost:{port}/Path", ws.url
    await discard(ws)


@scenario
async def default_port_is_dropped(servers: Servers) -> None:
    for url, expected in (
        ("ws://127.0.0.1:80/", "ws://127.0.0.1/"),
        ("wss://127.0.0.1:443", "wss://127.0.0.1/"),
        ("http://127.0.0.1:80/x", "ws://127.0.0.1/x"),
        ("https://127.0.0.1:443/x", "wss://127.0.0.1/x"),
    ):
        ws = WebSocket(url)
        assert ws.url == expected, f"WebSocket({url!r}).url == {ws.url!r}, expected {expected!r}"
        await discard(ws)
    # A non-default port stays, even the other scheme's default.
    ws = WebSocket("ws://127.0.0.1:443/")
    assert ws.url == "ws://127.0.0.1:443/", ws.url
    await discard(ws)


@scenario
async def empty_path_becomes_slash(servers: Servers) -> None:
    ws = WebSocket(servers.ws)
    assert ws.url == servers.ws + "/", ws.url
    await discard(ws)


@scenario
async def ipv6_host_is_serialized_in_brackets(servers: Servers) -> None:
    port = refused_port(servers)
    ws = WebSocket(f"ws://[::1]:{port}")
    assert ws.url == f"ws://[::1]:{port}/", ws.url
    await discard(ws)
    ws = WebSocket(f"ws://[0:0:0:0:0:0:0:1]:{port}/x")
    assert ws.url == f"ws://[::1]:{port}/x", ws.url
    await discard(ws)


@scenario
async def ipv4_shorthand_is_normalized(servers: Servers) -> None:
    port = port_of(servers)
    ws = WebSocket(f"ws://127.1:{port}/echo")
    assert ws.url == servers.url("/echo"), ws.url
    await discard(ws)


@scenario
async def space_in_path_is_percent_encoded(servers: Servers) -> None:
    ws = WebSocket(servers.ws + "/a b/c")
    assert ws.url == servers.ws + "/a%20b/c", ws.url
    await discard(ws)


@scenario
async def idn_host_becomes_punycode(servers: Servers) -> None:
    port = refused_port(servers)
    ws = WebSocket(f"ws://bücher.localhost:{port}/")
    assert ws.url == f"ws://xn--bcher-kva.localhost:{port}/", ws.url
    await discard(ws)


@scenario
async def query_is_kept(servers: Servers) -> None:
    ws = WebSocket(servers.ws + "/echo?a=1&b=two&c")
    assert ws.url == servers.ws + "/echo?a=1&b=two&c", ws.url
    await discard(ws)
    # The query is percent-encoded like the path: a space becomes %20.
    ws = WebSocket(servers.ws + "/echo?q=a b")
    assert ws.url == servers.ws + "/echo?q=a%20b", ws.url
    await discard(ws)
    # An empty query stays.
    ws = WebSocket(servers.ws + "/echo?")
    assert ws.url == servers.ws + "/echo?", ws.url
    await discard(ws)


# The protocols.


@scenario
async def protocol_str_is_one_protocol(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"), "chat")
    assert ws.protocol == "", "protocol is empty until the connection is established"
    await ws.wait_open()
    assert ws.protocol == "chat", ws.protocol
    ws.close()
    await ws.wait_closed()


@scenario
async def protocol_list_is_offered_in_order(servers: Servers) -> None:
    # /echo selects the first protocol the client offers.
    ws = WebSocket(servers.url("/echo"), ["superchat", "chat"])
    await ws.wait_open()
    assert ws.protocol == "superchat", ws.protocol
    ws.close()
    await ws.wait_closed()
    ws = WebSocket(servers.url("/echo"), ("v2.json", "v1.json"))
    await ws.wait_open()
    assert ws.protocol == "v2.json", ws.protocol
    ws.close()
    await ws.wait_closed()


@scenario
async def protocols_may_be_any_iterable(servers: Servers) -> None:
    # An iterator is read once: the protocols checked are the ones offered.
    ws = WebSocket(servers.url("/echo"), (p for p in ["gen1", "gen2"]))
    await ws.wait_open()
    assert ws.protocol == "gen1", ws.protocol
    ws.close()
    await ws.wait_closed()
    dom_error(
        "SyntaxError",
        "a generator with a repeat",
        WebSocket,
        servers.url("/echo"),
        (p for p in ["a", "A"]),
    )


@scenario
async def every_token_character_is_allowed_in_a_protocol(servers: Servers) -> None:
    token = "!#$%&'*+-.^_`|~09azAZ"
    ws = WebSocket(servers.url("/headers"), [token, "v1"])
    assert ws.readyState == WebSocket.CONNECTING
    data = await first_message(ws)  # the request headers the server saw
    # The server selects the first protocol offered: the token, unchanged.
    assert ws.protocol == token, ws.protocol
    await discard(ws)
    headers = json.loads(data)
    offered = headers.get("sec-websocket-protocol", "")
    assert [p.strip() for p in offered.split(",")] == [token, "v1"], headers


@scenario
async def no_protocols_offered_means_empty_protocol(servers: Servers) -> None:
    ws = WebSocket(servers.url("/echo"), [])
    await ws.wait_open()
    assert ws.protocol == "", ws.protocol
    ws.close()
    await ws.wait_closed()


@scenario
async def invalid_protocol_token_is_syntax_error(servers: Servers) -> None:
    url = servers.url("/echo")
    for bad in ("", "a b", "a,b", "é", "a\x00", "a\tb", "(chat)", "chat/1", "a;b", 'a"b'):
        dom_error("SyntaxError", f"WebSocket(url, {bad!r})", WebSocket, url, bad)
        dom_error(
            "SyntaxError", f"WebSocket(url, ['chat', {bad!r}])", WebSocket, url, ["chat", bad]
        )


@scenario
async def duplicate_protocols_are_syntax_error(servers: Servers) -> None:
    url = servers.url("/echo")
    for protocols in (["chat", "chat"], ["chat", "CHAT"], ["a", "b", "A"], ("x", "x")):
        dom_error("SyntaxError", f"WebSocket(url, {protocols!r})", WebSocket, url, protocols)


@scenario
async def non_str_protocols_are_type_error(servers: Servers) -> None:
    url = servers.url("/echo")
    for protocols in (5, None, [1], ["chat", None], [b"chat"], b"chat", 1.5):
        raises(TypeError, f"WebSocket(url, {protocols!r})", WebSocket, url, protocols)


@scenario
async def url_is_checked_before_protocols(servers: Servers) -> None:
    # A bad URL and bad protocols: the URL's error (step 3, 6 or 7) comes
    # before the protocols' (step 9).
    for url, protocols in (
        ("ws://foo bar.com/", ["x", "x"]),
        ("ftp://127.0.0.1/", "a b"),
        ("ws://127.0.0.1/#frag", ["chat", ""]),
    ):
        exc = dom_error(
            "SyntaxError", f"WebSocket({url!r}, {protocols!r})", WebSocket, url, protocols
        )
        assert "URL" in exc.message, f"not the URL's error: {exc.message!r}"
    # A url that is not a str fails whatever the protocols.
    raises(TypeError, "url None, protocol 'a b'", WebSocket, None, "a b")


# The keyword-only options: checked before any I/O in every runtime.


@scenario
async def invalid_options_raise_before_any_io(servers: Servers) -> None:
    url = servers.url("/echo")
    cases: list[tuple[type[Exception], dict[str, object]]] = [
        (ValueError, {"open_timeout": -1}),
        (ValueError, {"open_timeout": 0}),
        (ValueError, {"close_timeout": -1}),
        (ValueError, {"open_timeout": float("inf")}),
        (TypeError, {"open_timeout": "1"}),
        (TypeError, {"max_size": "x"}),
        (ValueError, {"max_size": 0}),
        (ValueError, {"compression": "gzip"}),
        (ValueError, {"headers": {"Sec-WebSocket-Key": "x"}}),
        (ValueError, {"headers": {"X-Bad": "a\r\nb"}}),
        (ValueError, {"headers": {"bad name": "x"}}),
        (TypeError, {"headers": 5}),
        (TypeError, {"origin": 5}),
        (TypeError, {"ssl": "yes"}),
        (TypeError, {"proxy": 8080}),
        (TypeError, {"proxy": False}),
        (ValueError, {"proxy": "ftp://127.0.0.1:21"}),
        (ValueError, {"proxy": "http://127.0.0.1:3128/path"}),
        (ValueError, {"backend": "nope"}),
    ]
    for kind, options in cases:
        raises(kind, f"WebSocket(url, **{options!r})", WebSocket, url, **options)
