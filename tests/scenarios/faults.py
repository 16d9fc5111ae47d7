"""Scenarios: the fault matrix, against the project's own fault-injection peer.

``tests/faultpeer.py`` writes every handshake byte and frame itself, so it
can do what no correct server does: drop the TCP connection (with a FIN or
a reset) at each stage, answer the handshake wrongly, send reserved bits and
opcodes, masked or oversized or fragmented control frames, invalid UTF-8,
invalid close codes, never answer the close frame, stop reading, read
slowly. It records what the client sent (each frame, the close frame's
code and reason, how the TCP connection ended), and each scenario reads that
record back through the peer's ``/report`` route.

Each case checks the exact events in order with ``readyState`` at each one,
the close event's code, reason and ``wasClean``, the data of the messages,
and what the server received. The expectations come from the WHATWG
WebSockets Standard, RFC 6455 and what browsers do:

- a failed connection (a refused or malformed handshake, a protocol
  violation, invalid UTF-8, a TCP connection lost before the closing
  handshake: RFC 6455 7.2.1) fires ``error`` then ``close`` 1006 with
  ``wasClean`` false;
- a failure after the connection is established sends a close frame with
  the reason's code first (RFC 6455 7.1.7 "SHOULD"; 7.4.1: 1002 for a
  protocol error, 1007 for data that does not match the message type, 1009
  for a message too big);
- a server that never answers the client's close frame is dropped after
  ``close_timeout``: ``close`` 1006, ``wasClean`` false and no ``error``
  (DESIGN.md), as is a TCP connection lost once the client has started the
  closing handshake;
- control frames may come between the fragments of a message (RFC 6455
  5.4): a ping is answered, and a close frame closes cleanly with the
  server's code, dropping the unfinished message (Autobahn 7.1.5, as
  browsers do).

The events are held to these rules in every runtime: where a native
WebSocket departs from them, the shim has to even it out. What a native
WebSocket writes to the server is beyond the shim, so the check of what the
server received follows each engine where it differs (``FAILURE_CLOSE_CODES``
and the sets below it, each with its reason), and a case that no wrapper
could make pass is skipped there with the engine's behaviour as its reason.
``close_timeout`` works in every runtime (under Pyodide the shim keeps it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pyws_shim import CloseEvent, ConnectionClosed, Event, MessageEvent, WebSocket

from . import PYODIDE_RUNTIMES, Servers, current_runtime, scenario, skip_in
from ._support import EventLog, frame, new_id
from .failures import ACCEPTS_MASKED_FRAMES, FIREFOX_DROPS_OPEN

WITHIN = 5.0
"""How long a case waits for the close event. A correct client needs a
fraction of that (or ``close_timeout`` and a fraction); a case that waits
longer reports what happened until then instead of hanging."""

CLOSE_TIMEOUT = 0.5  # seconds, for the cases where the server never finishes the handshake

CONNECTING, OPEN, CLOSING, CLOSED = (
    WebSocket.CONNECTING,
    WebSocket.OPEN,
    WebSocket.CLOSING,
    WebSocket.CLOSED,
)

# Why a case cannot run in a JS runtime.
NO_CUSTOM_CA = (
    "the native WebSocket cannot be given the test CA (no TLS options), so every "
    "certificate of the TLS twin is untrusted before anything else is checked"
)
# Bun and Deno could be given one, but pyws_shim's ssl= is CPython's (an
# SSLContext) and stays there.
SSL_NOT_PASSED = (
    "pyws_shim does not pass ssl= to the native WebSocket (Bun 1.4 takes tls: {ca}, "
    "Deno 2.9 a client from Deno.createHttpClient({caCerts}), but under Pyodide ssl= is "
    "ignored with a warning), so every certificate of the TLS twin is untrusted before "
    "anything else is checked"
)
NO_TEST_CA = {
    **skip_in(PYODIDE_RUNTIMES, NO_CUSTOM_CA),
    **skip_in(("deno", "bun"), SSL_NOT_PASSED),
}
NO_MAX_SIZE = "the native WebSocket has no configurable limit on the size of incoming messages"
UNDICI_CONNECTION_HEADER = (
    "undici (Node's WebSocket) requires the Connection header to be exactly 'upgrade' "
    "and fails the handshake on 'keep-alive, Upgrade' before the shim sees anything"
)
NODE_HEADER_LIMIT = (
    "Node's HTTP parser refuses a response whose headers exceed 16 KiB in all "
    "(http.maxHeaderSize, --max-http-header-size): undici fails the handshake before "
    "the shim sees anything (Chromium takes 256 KiB)"
)
NO_CAUSE = (
    "the native WebSocket's error event carries no reason (the standard hides why a "
    "connection failed from scripts), so ConnectionClosed has no cause there"
)
# Measured with tests/natives.py --faults (RUNTIMES.md, "The fault peer").
DENO_FAILS_THE_CONNECTION_HEADER = (
    "Deno 2.9 refuses the handshake when the Connection header lists tokens "
    "('keep-alive, Upgrade': 'Invalid connection header') before the shim sees anything"
)
DENO_HEADER_LIMIT = (
    "Deno 2.9 refuses a handshake response of more than 100 header lines ('message head "
    "is too large') before the shim sees anything (Chromium, Firefox, WebKit and Bun take 200)"
)
DENO_SKIPS_THE_ACCEPT_CHECK = (
    "Deno 2.9 does not check Sec-WebSocket-Accept: a 101 response without it, or with "
    "a wrong one, opens, and nothing a wrapper can see differs from a valid one"
)
DENO_CLEAN_AFTER_TCP_LOST = (
    "Deno 2.9 ends in a clean close 1005 when the TCP connection ends (a FIN or a reset) "
    "after the client's close frame and before the server's: the very event an empty "
    "close frame from the server gives, so a wrapper cannot tell the two apart"
)
FIREFOX_IGNORES_UNOFFERED_PROTOCOL = (
    "Firefox 153 ignores a Sec-WebSocket-Protocol in the response when none was "
    "offered: it opens, with protocol '', so nothing a wrapper can see says the server "
    "chose one"
)
FIREFOX_ONE_BYTE_CLOSE = (
    "Firefox 153 takes a close frame with a 1-byte payload for one without a code: a "
    "clean close 1005, answered with an empty close frame, the very event a valid "
    "empty close frame gives"
)
FIREFOX_NO_ANSWER_BEFORE_FIN = (
    "Firefox 153 sends no close frame of its own when the server ends the TCP "
    "connection right after its close frame, and ends in close 4001 with wasClean "
    "false (and often with no open nor message before it); a wrapper cannot tell "
    "whether the client answered"
)
WEBKIT_FOLLOWS_REDIRECTS = (
    "WebKitGTK 2.50 (libsoup) follows a redirect from the opening handshake (302 with "
    "a Location) and opens a WebSocket connection there; a wrapper sees only open"
)
_BIG_PONG = (
    "accepts a pong with 126 bytes of payload (RFC 6455 5.5 allows 125) and goes on; "
    "pongs never reach a wrapper"
)
TAKES_A_BIG_PONG = {"webkit": "WebKitGTK 2.50 " + _BIG_PONG, "deno": "Deno 2.9 " + _BIG_PONG}
DENO_DROPS_A_CUT_SEQUENCE = (
    "Deno 2.9 delivers a fragmented text message that ends inside a UTF-8 sequence "
    "('a\\xe2' then '\\x82') as 'a', the sequence dropped, and stays open; the message "
    "looks valid to a wrapper"
)
REFUSES_CLOSE_CODES_1012_TO_1014 = {
    "deno": (
        "Deno 2.9 fails the connection on close code 1014 ('Invalid close code', and "
        "sends 1002): the error and close come from the native socket"
    ),
    "webkit": (
        "WebKitGTK 2.50 fails the connection on close codes 1012, 1013 and 1014 (and "
        "sends 1002): the error and close come from the native socket"
    ),
}

Sent = int | None | frozenset[int | None]
"""The close code a client sends: one, any of a set, or ``None`` (no close frame)."""


def engine() -> str:
    """``"cpython"``, ``"chromium"``, or ``"node"`` and its major version (``"node22"``)."""
    runtime = current_runtime()
    if runtime != "node":
        return runtime
    import js  # type: ignore[import-not-found]

    return "node" + str(js.process.versions.node).split(".")[0]


# What a native WebSocket writes to the server is its own: the shim sees only
# its events, and no wrapper can change the bytes it sends. Where an engine's
# close frame differs from what RFC 6455 asks (7.1.7: a client that fails an
# established connection "SHOULD send a Close frame with an appropriate status
# code"; 7.4.1: 1002 for a protocol error, 1007 for data that is not UTF-8),
# the check of what the server received follows the engine, as measured here.
# The events are checked as the standard says in every engine.
FAILURE_CLOSE_CODES: dict[str, dict[str, Sent]] = {
    # RFC 6455. A 64-bit length with its top bit set breaks 5.2's framing rule
    # (1002) and announces a message too big to process (1009): either is right.
    "standard": {
        "protocol": 1002,
        "oversized-close": 1002,
        "utf8": 1007,
        "reason-utf8": 1007,
        "close-code": 1002,
        "length": frozenset([1002, 1009]),
    },
    # Chromium reports invalid UTF-8, in a message or a close reason, as a
    # protocol error (1002).
    "chromium": {"utf8": 1002, "reason-utf8": 1002},
    # Undici 6 (Node 22) drops the connection without a close frame on a
    # protocol error or invalid UTF-8 in a message (it sends 1002 only for an
    # invalid close code, and 1007 for a close reason that is not UTF-8).
    "node22": {"protocol": None, "oversized-close": None, "utf8": None, "length": None},
    # Deno 2.9 drops the connection without a close frame on every protocol
    # error and on invalid UTF-8 (it sends 1002 only for an invalid close
    # code). It takes a close frame longer than 125 bytes for a valid one and
    # echoes its code (the shim still fails the connection: the events).
    "deno": {
        "protocol": None,
        "oversized-close": 1000,
        "utf8": None,
        "reason-utf8": None,
        "length": None,
    },
    # Firefox 153 drops the connection without a close frame on every protocol
    # error and on invalid UTF-8 (measured; the scenarios that send such frames
    # are skipped there for its lost open event), and answers a close frame
    # with code 0, 1005, 1006 or 1015 with an empty one (it echoes the others:
    # ECHOES_INVALID_CLOSE_CODES).
    "firefox": {
        "protocol": None,
        "utf8": None,
        "reason-utf8": None,
        "length": None,
        "close-code": None,
    },
    # WebKitGTK 2.50 reports a close reason that is not UTF-8 as a protocol
    # error (1002), and drops the connection without a close frame on a
    # 64-bit length with its top bit set.
    "webkit": {"reason-utf8": 1002, "length": None},
}
# Chromium and Firefox accept a close frame with an invalid code, echo it
# and close cleanly; the shim must still fail the connection (the events),
# but the echo has gone out by then. The codes each does not echo:
# Chromium sends 1002 for them, Firefox an empty close frame.
ECHOES_INVALID_CLOSE_CODES: dict[str, frozenset[int]] = {
    "chromium": frozenset({1005, 1006, 1015}),
    "firefox": frozenset({0, 1005, 1006, 1015}),
}
# RFC 6455 5.5.1 lets an endpoint answer a close frame with any code; the
# engines echo the server's, and answer one without a code with one without
# a code, except WebKitGTK 2.50, which answers it with 1000.
ANSWER_TO_AN_EMPTY_CLOSE_FRAME: dict[str, int] = {"webkit": 1000}
# After a refused handshake the client ends the TCP connection (RFC 6455
# 7.1.1), except: WebKitGTK 2.50 (libsoup) keeps a connection that answered
# with an HTTP status other than 101 (and Content-Length: 0) open, for reuse;
# Firefox 153 keeps one that answered with something that is not HTTP. Both
# were still open 20 s later (natives.py --faults).
KEEPS_TCP_OPEN_AFTER: dict[str, frozenset[str]] = {
    "webkit": frozenset({"status-200", "status-403", "status-500"}),
    "firefox": frozenset({"garbage"}),
}
# Deno 2.9 completes a handshake whose subprotocol or extension the client
# did not offer, and opens: the shim then fails the connection, and the server
# receives one close frame, the native close()'s (without a code: a script
# can give no other), or Deno's echo of the server's own (1000), when that
# reached Deno first.
OPENS_WHAT_WAS_NOT_OFFERED: dict[str, frozenset[int | None]] = {"deno": frozenset({None, 1000})}
# A native WebSocket cannot be aborted: once the shim's close_timeout has
# ended a connection, the runtime keeps the TCP connection until it gives up
# itself (Chromium after 60 s, Node never).
DROPS_TCP_AFTER_CLOSE_TIMEOUT = frozenset({"cpython"})
# WebKitGTK 2.50 and Deno 2.9 take send()'s bytes out of bufferedAmount at once
# (into WebKit's network process, into Deno's runtime), whatever the server
# reads: 0 half a second after 32 MiB sent to a server that reads nothing.
# No wrapper can see that backlog, nor its progress, which the close timeout
# counts on to let a slow reader finish.
HIDES_THE_SEND_BACKLOG = ("webkit", "deno")
BACKLOG_HIDDEN = (
    "the native bufferedAmount drops to 0 at once, whatever the server reads "
    "(measured: 0 half a second after 32 MiB to a server that reads nothing), so "
    "neither the backlog nor its progress is visible to a wrapper"
)


def failure_close_code(kind: str) -> Sent:
    """The close code the client sends when it fails the connection for ``kind``
    (``"protocol"``, ``"utf8"``, ``"reason-utf8"``, ``"close-code"`` or
    ``"length"``) in this engine."""
    return FAILURE_CLOSE_CODES.get(engine(), {}).get(kind, FAILURE_CLOSE_CODES["standard"][kind])


# Frames, written byte by byte (RFC 6455 5.2).
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def close_frame(code: int | None = 1000, reason: bytes = b"") -> bytes:
    return frame(CLOSE, b"" if code is None else struct.pack("!H", code) + reason)


def hexed(*frames: bytes) -> str:
    return b"".join(frames).hex()


# Running a case.


@dataclass
class Outcome:
    """What the client saw, and what the server received."""

    ws: WebSocket
    log: EventLog
    record: dict[str, Any]
    what: str

    @property
    def close(self) -> CloseEvent:
        event = self.log.events[-1]
        assert isinstance(event, CloseEvent), f"{self.what}: {self.log.types}"
        return event

    @property
    def messages(self) -> list[Any]:
        return [e.data for e in self.log.events if isinstance(e, MessageEvent)]

    def expect(
        self,
        types: Sequence[str],
        states: Sequence[int],
        close: tuple[int, str, bool],
    ) -> None:
        """The events in order, readyState at each one, and the close event."""
        what = self.what
        assert self.log.types == list(types), f"{what}: events {self.log.types}"
        assert self.log.states == list(states), f"{what}: readyState {self.log.states}"
        event = self.close
        assert (event.code, event.reason, event.wasClean) == close, (
            f"{what}: close {(event.code, event.reason, event.wasClean)}"
        )
        assert self.ws.readyState == CLOSED, f"{what}: readyState {self.ws.readyState}"

    def failed_before_open(self, *, ends: bool = True, closes: Sent = frozenset()) -> None:
        """Failed while connecting: the client sent no frame (``closes``: one
        close frame, with that code) and ended the TCP connection (``ends``)."""
        self.expect(["error", "close"], [CLOSED, CLOSED], (1006, "", False))
        if closes != frozenset():
            self.client_sent_close(closes)
            assert len(self.record["frames"]) == 1, f"{self.what}: {self.record['frames']}"
        else:
            assert self.record["frames"] == [], (
                f"{self.what}: the client sent {self.record['frames']}"
            )
        if ends:
            self.client_ended()

    def failed_after_open(self, *messages: Any, sent: Sent) -> None:
        """Opened, got ``messages``, then failed; the client's close frame
        had code ``sent`` (``None``: no close frame)."""
        n = len(messages)
        self.expect(
            ["open", *["message"] * n, "error", "close"],
            [OPEN, *[OPEN] * n, CLOSED, CLOSED],
            (1006, "", False),
        )
        assert self.messages == list(messages), f"{self.what}: messages {self.messages}"
        self.client_sent_close(sent)

    def closed_cleanly(self, *messages: Any, code: int, reason: str = "") -> None:
        """Opened, got ``messages``, then the server's close frame (``code``,
        ``reason``) closed it cleanly; the client echoed the code."""
        n = len(messages)
        self.expect(
            ["open", *["message"] * n, "close"],
            [OPEN, *[OPEN] * n, CLOSED],
            (code, reason, True),
        )
        assert self.messages == list(messages), f"{self.what}: messages {self.messages}"
        self.client_sent_close(
            ANSWER_TO_AN_EMPTY_CLOSE_FRAME.get(engine()) if code == 1005 else code
        )

    def client_sent_close(self, code: Sent, reason: str | None = None) -> None:
        """The client's frames: masked, and one close frame with ``code`` (a
        set: any of them; ``None``: no close frame, or one without a body)."""
        record, what = self.record, self.what
        frames = record["frames"]
        assert all(f["masked"] for f in frames), f"{what}: unmasked client frames {frames}"
        closes = [f for f in frames if f["opcode"] == CLOSE]
        codes = code if isinstance(code, frozenset) else frozenset([code])
        if None in codes and record["close"] is None:
            assert closes == [], f"{what}: the client sent {closes}"
        else:
            assert record["close"] is not None, f"{what}: no close frame from the client"
            assert record["close"]["code"] in codes, f"{what}: the client's close {record['close']}"
            if reason is not None:
                assert record["close"]["reason"] == reason, f"{what}: {record['close']}"
            assert len(closes) == 1, f"{what}: close frames {closes}"
        assert record["invalid"] is None, f"{what}: the client sent {record['invalid']}"

    def client_ended(self) -> None:
        """The client ended the TCP connection (or the server did, first)."""
        assert self.record["end"] in ("fin", "rst", "server"), (
            f"{self.what}: the TCP connection {self.record['end']}"
        )


async def _wait_closed(ws: WebSocket, log: EventLog, what: str, within: float) -> None:
    try:
        async with asyncio.timeout(within):
            await ws.wait_closed()
    except TimeoutError:
        state = ws.readyState
        ws.close()  # do not leave it running behind the failure
        raise AssertionError(
            f"{what}: no close event within {within} s (readyState {state}, events {log.types})"
        ) from None


async def run_case(
    servers: Servers,
    case: str,
    *,
    protocols: Sequence[str] = (),
    tls: bool = False,
    options: dict[str, Any] | None = None,
    on_open: Callable[[WebSocket], None] | None = None,
    within: float = WITHIN,
    **query: object,
) -> Outcome:
    """Open ``case`` on the fault peer, wait for the close event, fetch the record."""
    record_id = new_id()
    url = servers.fault_url(case, tls=tls, **query, id=record_id)
    what = f"{case} {urlencode(query)}"
    ws = WebSocket(url, protocols, **(options or {}))
    ws.binaryType = "arraybuffer"
    log = EventLog(ws)
    if on_open is not None:
        ws.addEventListener("open", lambda _: on_open(ws))
    await _wait_closed(ws, log, what, within)
    return Outcome(ws, log, await peer_report(servers, record_id), what)


async def _json_message(url: str) -> dict[str, Any]:
    async with WebSocket(url) as ws:
        async for data in ws:
            assert isinstance(data, str)
            result: dict[str, Any] = json.loads(data)
            return result
    raise AssertionError(f"{url} sent nothing")


async def peer_report(servers: Servers, record_id: str) -> dict[str, Any]:
    """What the fault peer received on the connection ``record_id``."""
    record = await _json_message(f"{servers.faults}/report?id={record_id}")
    assert "error" not in record, record
    return record


async def peer_stats(servers: Servers) -> dict[str, Any]:
    """The failures the fault peer saw without an id (TLS)."""
    return await _json_message(f"{servers.faults}/stats")


# TCP dropped at each stage: a FIN, then a reset.


@scenario
async def tcp_dropped_before_the_response(servers: Servers) -> None:
    for how in ("fin", "rst"):
        outcome = await run_case(servers, "drop", stage="before-response", how=how)
        outcome.failed_before_open()


@scenario
async def tcp_dropped_mid_response(servers: Servers) -> None:
    for how in ("fin", "rst"):
        outcome = await run_case(servers, "drop", stage="mid-response", how=how)
        outcome.failed_before_open()


@scenario
async def tcp_dropped_after_open(servers: Servers) -> None:
    # RFC 6455 7.2.1: "If at any point the underlying transport layer
    # connection is unexpectedly lost, the client MUST _Fail the WebSocket
    # Connection_." The message that came before is delivered.
    for how in ("fin", "rst"):
        outcome = await run_case(servers, "drop", stage="after-open", how=how)
        outcome.failed_after_open("hello", sent=None)
        outcome.client_ended()


@scenario
async def tcp_dropped_mid_frame(servers: Servers) -> None:
    for how in ("fin", "rst"):
        outcome = await run_case(servers, "drop", stage="mid-frame", how=how)
        outcome.failed_after_open(sent=None)
        outcome.client_ended()


@scenario
async def tcp_dropped_mid_fragmented_message(servers: Servers) -> None:
    for how in ("fin", "rst"):
        outcome = await run_case(servers, "drop", stage="mid-fragments", how=how)
        outcome.failed_after_open(sent=None)
        outcome.client_ended()


@scenario(skip={"deno": DENO_CLEAN_AFTER_TCP_LOST})
async def tcp_dropped_after_the_clients_close_frame(servers: Servers) -> None:
    # The client started the closing handshake: the connection ends without
    # the server's close frame, so not cleanly (1006), but it was not failed:
    # no error event.
    for how in ("fin", "rst"):
        outcome = await run_case(
            servers,
            "drop",
            stage="after-client-close",
            how=how,
            on_open=lambda ws: ws.close(4000, "bye"),
        )
        outcome.expect(["open", "close"], [OPEN, CLOSED], (1006, "", False))
        outcome.client_sent_close(4000, "bye")
        outcome.client_ended()


# Malformed handshakes: the connection fails before it opens.


async def _refused(
    servers: Servers, *responses: str, protocols: Sequence[str] = (), opens: bool = False
) -> None:
    """Each of ``responses`` fails the connection; ``opens``: one that a native
    socket that does not check it opens (OPENS_WHAT_WAS_NOT_OFFERED)."""
    for response in responses:
        outcome = await run_case(servers, "handshake", protocols=protocols, response=response)
        outcome.failed_before_open(
            ends=response not in KEEPS_TCP_OPEN_AFTER.get(engine(), ()),
            closes=OPENS_WHAT_WAS_NOT_OFFERED.get(engine(), frozenset()) if opens else frozenset(),
        )


@scenario
async def handshake_status_other_than_101_fails(servers: Servers) -> None:
    await _refused(servers, "status-200", "status-403", "status-500")


@scenario(skip={"webkit": WEBKIT_FOLLOWS_REDIRECTS})
async def handshake_redirect_fails(servers: Servers) -> None:
    # WHATWG: the handshake's request has redirect mode "error".
    await _refused(servers, "status-302")


@scenario
async def handshake_garbage_response_fails(servers: Servers) -> None:
    await _refused(servers, "garbage")


@scenario(skip={"deno": DENO_SKIPS_THE_ACCEPT_CHECK})
async def handshake_missing_or_wrong_accept_fails(servers: Servers) -> None:
    await _refused(servers, "no-accept", "wrong-accept")


@scenario
async def handshake_missing_or_wrong_upgrade_fails(servers: Servers) -> None:
    await _refused(servers, "no-upgrade", "wrong-upgrade")


@scenario
async def handshake_missing_or_wrong_connection_fails(servers: Servers) -> None:
    await _refused(servers, "no-connection", "wrong-connection")


@scenario(skip={"firefox": FIREFOX_IGNORES_UNOFFERED_PROTOCOL})
async def handshake_subprotocol_when_none_was_offered_fails(servers: Servers) -> None:
    await _refused(servers, "unrequested-protocol", opens=True)


@scenario
async def handshake_unrequested_subprotocol_fails(servers: Servers) -> None:
    await _refused(servers, "protocol-c", protocols=["a", "b"], opens=True)


@scenario
async def handshake_unrequested_extension_fails(servers: Servers) -> None:
    await _refused(servers, "unrequested-extension", opens=True)


# Unusual handshakes that browsers accept: the connection opens.


async def _opens(servers: Servers, response: str, protocols: Sequence[str] = ()) -> Outcome:
    outcome = await run_case(servers, "handshake", protocols=protocols, response=response)
    outcome.closed_cleanly("ok", code=1000, reason="done")
    return outcome


@scenario
async def handshake_header_names_and_tokens_are_case_insensitive(servers: Servers) -> None:
    await _opens(servers, "case-insensitive")


@scenario(skip={"node": UNDICI_CONNECTION_HEADER, "deno": DENO_FAILS_THE_CONNECTION_HEADER})
async def handshake_connection_header_may_list_tokens(servers: Servers) -> None:
    # RFC 6455 4.1: the Connection header field must "contain a token" that
    # matches "Upgrade": "keep-alive, Upgrade" does.
    await _opens(servers, "connection-list")


@scenario(skip={"node": NODE_HEADER_LIMIT})
async def handshake_with_a_16_kib_set_cookie_opens(servers: Servers) -> None:
    await _opens(servers, "big-cookie")


@scenario(skip={"deno": DENO_HEADER_LIMIT})
async def handshake_with_200_header_lines_opens(servers: Servers) -> None:
    await _opens(servers, "many-headers")


@scenario
async def handshake_with_an_offered_subprotocol_opens(servers: Servers) -> None:
    outcome = await _opens(servers, "protocol-b", protocols=["a", "b"])
    assert outcome.ws.protocol == "b"
    assert outcome.record["request"]["headers"]["sec-websocket-protocol"] == "a, b"


# Frames that fail the connection: RFC 6455 5.2 (reserved bits and opcodes),
# 5.1 (masking), 5.5 (control frames), 5.4 (fragmentation).


async def _protocol_error(servers: Servers, *cases: bytes, kind: str = "protocol") -> None:
    """Each of ``cases`` (bytes after the handshake) fails the connection; the
    client's close frame has the code for ``kind`` (see ``failure_close_code``)."""
    for data in cases:
        outcome = await run_case(servers, "frames", hex=data.hex())
        outcome.failed_after_open(sent=failure_close_code(kind))
        outcome.client_ended()


@scenario(skip=FIREFOX_DROPS_OPEN)
async def reserved_bits_fail(servers: Servers) -> None:
    # "MUST be 0 unless an extension is negotiated that defines meanings for
    # non-zero values": no extension was negotiated.
    await _protocol_error(servers, *(frame(TEXT, b"a", rsv=rsv) for rsv in (4, 2, 1)))


@scenario(skip=FIREFOX_DROPS_OPEN)
async def reserved_data_opcodes_fail(servers: Servers) -> None:
    await _protocol_error(servers, *(frame(opcode, b"a") for opcode in range(0x3, 0x8)))


@scenario(skip=FIREFOX_DROPS_OPEN)
async def reserved_control_opcodes_fail(servers: Servers) -> None:
    await _protocol_error(servers, *(frame(opcode, b"a") for opcode in range(0xB, 0x10)))


@scenario(skip=ACCEPTS_MASKED_FRAMES)
async def masked_frames_from_the_server_fail(servers: Servers) -> None:
    # 5.1: "A client MUST close a connection if it detects a masked frame."
    mask = b"\x01\x02\x03\x04"
    await _protocol_error(
        servers,
        frame(TEXT, b"masked", mask=mask),
        frame(BINARY, b"\x00\x01", mask=mask),
        frame(PING, b"p", mask=mask),
    )


@scenario(skip=FIREFOX_DROPS_OPEN)
async def oversized_control_frames_fail(servers: Servers) -> None:
    # 5.5: "All control frames MUST have a payload length of 125 bytes or less."
    await _protocol_error(servers, frame(PING, b"p" * 126))
    await _protocol_error(
        servers, frame(CLOSE, struct.pack("!H", 1000) + b"r" * 124), kind="oversized-close"
    )


@scenario(skip={**FIREFOX_DROPS_OPEN, **TAKES_A_BIG_PONG})
async def oversized_pong_fails(servers: Servers) -> None:
    await _protocol_error(servers, frame(PONG, b"p" * 126))


@scenario(skip=FIREFOX_DROPS_OPEN)
async def fragmented_control_frames_fail(servers: Servers) -> None:
    # 5.5: "All control frames ... MUST NOT be fragmented."
    await _protocol_error(
        servers,
        frame(PING, b"p", fin=False) + frame(CONT, b"q"),
        frame(CLOSE, struct.pack("!H", 1000), fin=False) + frame(CONT, b""),
    )


@scenario(skip=FIREFOX_DROPS_OPEN)
async def continuation_without_a_message_fails(servers: Servers) -> None:
    await _protocol_error(servers, frame(CONT, b"a"), frame(CONT, b"a", fin=False))


@scenario(skip=FIREFOX_DROPS_OPEN)
async def new_message_inside_a_fragmented_one_fails(servers: Servers) -> None:
    await _protocol_error(
        servers,
        frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"),
        frame(BINARY, b"a", fin=False) + frame(TEXT, b"b"),
    )


@scenario(skip=FIREFOX_DROPS_OPEN)
async def frame_length_with_the_top_bit_set_fails(servers: Servers) -> None:
    # 5.2: "the most significant bit MUST be 0" in a 64-bit payload length.
    await _protocol_error(servers, frame(BINARY, length=1 << 63), kind="length")


# Control frames between fragments (5.4: "Control frames MAY be injected in
# the middle of a fragmented message").


@scenario
async def ping_and_pong_between_fragments_are_handled(servers: Servers) -> None:
    data = hexed(
        frame(TEXT, b"frag", fin=False),
        frame(PING, b"p1"),
        frame(CONT, "mé".encode(), fin=False),
        frame(PONG, b"unsolicited"),
        frame(PING, b"p" * 125),
        frame(CONT, b"nt"),
        frame(BINARY, b"\x00", fin=False),
        frame(PING, b""),
        frame(CONT, b"\xff"),
        close_frame(1000, b"done"),
    )
    outcome = await run_case(servers, "frames", hex=data)
    outcome.closed_cleanly("fragmént", b"\x00\xff", code=1000, reason="done")
    pongs = [f["data"] for f in outcome.record["frames"] if f["opcode"] == PONG]
    # 5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
    # in response" with "identical Application data".
    assert pongs == [b"p1".hex(), (b"p" * 125)[:64].hex(), ""], pongs


@scenario(skip={"firefox": FIREFOX_NO_ANSWER_BEFORE_FIN})
async def close_frame_then_fin_closes_cleanly(servers: Servers) -> None:
    # The server closes its side right after its close frame: the client still
    # received a close frame and answered it (its answer may meet a closed
    # socket), so the connection closed cleanly.
    data = hexed(frame(TEXT, b"last"), close_frame(4001, b"going"))
    outcome = await run_case(servers, "frames", hex=data, then="fin")
    outcome.expect(["open", "message", "close"], [OPEN, OPEN, CLOSED], (4001, "going", True))
    assert outcome.messages == ["last"]
    outcome.client_ended()


@scenario
async def close_frame_between_fragments_closes_cleanly(servers: Servers) -> None:
    # The unfinished message is dropped; the server's close frame closes the
    # connection cleanly (Autobahn 7.1.5; Chromium does this).
    for first in (frame(TEXT, b"unfinished", fin=False), frame(BINARY, b"\x01", fin=False)):
        outcome = await run_case(servers, "frames", hex=hexed(first, close_frame(1000, b"bye")))
        outcome.closed_cleanly(code=1000, reason="bye")


# Invalid UTF-8 (RFC 6455 8.1: "MUST _Fail the WebSocket Connection_"; 7.4.1:
# code 1007).

INVALID_UTF8 = (
    b"\xc3\x28",  # a 2-byte sequence cut short
    b"\xc0\x80",  # an overlong NUL
    b"\xed\xa0\x80",  # a surrogate, U+D800
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xff",  # never in UTF-8
    b"ok\xe2\x82",  # the message ends inside a sequence
)


@scenario(skip=FIREFOX_DROPS_OPEN)
async def invalid_utf8_in_a_text_frame_fails(servers: Servers) -> None:
    await _protocol_error(servers, *(frame(TEXT, data) for data in INVALID_UTF8), kind="utf8")


@scenario(skip=FIREFOX_DROPS_OPEN)
async def invalid_utf8_across_fragments_fails(servers: Servers) -> None:
    await _protocol_error(
        servers,
        frame(TEXT, b"\xe2\x82", fin=False) + frame(CONT, b"\x28"),
        frame(TEXT, b"a", fin=False) + frame(CONT, b"\xed", fin=False) + frame(CONT, b"\xa0\x80"),
        kind="utf8",
    )


@scenario(skip={**FIREFOX_DROPS_OPEN, "deno": DENO_DROPS_A_CUT_SEQUENCE})
async def utf8_sequence_cut_by_the_end_of_a_fragmented_message_fails(servers: Servers) -> None:
    await _protocol_error(
        servers, frame(TEXT, b"a\xe2", fin=False) + frame(CONT, b"\x82"), kind="utf8"
    )


@scenario
async def utf8_split_across_fragments_is_joined(servers: Servers) -> None:
    data = hexed(
        frame(TEXT, b"\xe2", fin=False),
        frame(CONT, b"\x82", fin=False),
        frame(CONT, b"\xac \xf0\x9f", fin=False),
        frame(CONT, b"\x98\x80"),
        close_frame(1000),
    )
    outcome = await run_case(servers, "frames", hex=data)
    outcome.closed_cleanly("€ 😀", code=1000)


@scenario(skip=FIREFOX_DROPS_OPEN)
async def invalid_utf8_in_a_close_reason_fails(servers: Servers) -> None:
    await _protocol_error(
        servers,
        close_frame(1000, b"\xc3\x28"),
        close_frame(4000, b"ok\xed\xa0\x80"),
        kind="reason-utf8",
    )


# Close codes (RFC 6455 7.4: a close frame with a code that may not be sent
# is a protocol error; the close event then says 1006, not that code).


async def _invalid_close_codes(servers: Servers, *codes: int) -> None:
    for code in codes:
        outcome = await run_case(servers, "frames", hex=close_frame(code, b"why").hex())
        not_echoed = ECHOES_INVALID_CLOSE_CODES.get(engine())
        echoed = not_echoed is not None and code not in not_echoed
        outcome.failed_after_open(sent=code if echoed else failure_close_code("close-code"))
        outcome.client_ended()


@scenario
async def close_codes_below_1000_fail(servers: Servers) -> None:
    await _invalid_close_codes(servers, 0, 1, 999)


@scenario
async def close_code_1004_fails(servers: Servers) -> None:
    await _invalid_close_codes(servers, 1004)


@scenario
async def close_code_1005_fails(servers: Servers) -> None:
    # "MUST NOT be set as a status code in a Close control frame by an endpoint."
    await _invalid_close_codes(servers, 1005)


@scenario
async def close_code_1006_fails(servers: Servers) -> None:
    await _invalid_close_codes(servers, 1006)


@scenario
async def close_code_1015_fails(servers: Servers) -> None:
    await _invalid_close_codes(servers, 1015)


@scenario
async def close_codes_1016_to_2999_fail(servers: Servers) -> None:
    await _invalid_close_codes(servers, 1016, 1100, 2000, 2999)


@scenario
async def close_codes_5000_and_above_fail(servers: Servers) -> None:
    await _invalid_close_codes(servers, 5000, 65535)


@scenario(skip={"firefox": FIREFOX_ONE_BYTE_CLOSE})
async def one_byte_close_payload_fails(servers: Servers) -> None:
    await _protocol_error(servers, frame(CLOSE, b"\x03"))


async def _valid_close_codes(servers: Servers, *codes: int) -> None:
    for code in codes:
        outcome = await run_case(servers, "frames", hex=close_frame(code, b"r\xc3\xa9").hex())
        outcome.closed_cleanly(code=code, reason="ré")


@scenario
async def valid_close_codes_close_cleanly(servers: Servers) -> None:
    await _valid_close_codes(servers, 1000, 1001, 1002, 1003, *range(1007, 1012), 3000, 4999)
    # A close frame without a body: the close event says 1005.
    outcome = await run_case(servers, "frames", hex=close_frame(None).hex())
    outcome.closed_cleanly(code=1005)


@scenario(skip=REFUSES_CLOSE_CODES_1012_TO_1014)
async def close_codes_1012_to_1014_close_cleanly(servers: Servers) -> None:
    # Registered with IANA after RFC 6455: Service Restart, Try Again Later, Bad Gateway.
    await _valid_close_codes(servers, 1012, 1013, 1014)


# Message size (CPython's max_size; 7.4.1: 1009).


@scenario(skip=skip_in(PYODIDE_RUNTIMES, NO_MAX_SIZE))
async def message_too_big_fails_with_1009(servers: Servers) -> None:
    cases = (
        frame(BINARY, bytes(2000)),
        frame(TEXT, b"a" * 400, fin=False)
        + frame(CONT, b"b" * 400, fin=False)
        + frame(CONT, b"c" * 400),
        # Only the header of a frame too big: it fails at once, without waiting for the data.
        frame(BINARY, length=1 << 40),
    )
    for data in cases:
        outcome = await run_case(servers, "frames", hex=data.hex(), options={"max_size": 1000})
        outcome.failed_after_open(sent=1009)
        outcome.client_ended()


# The closing handshake, when the server does not play its part.


@scenario
async def server_that_never_answers_the_close_frame_is_dropped(servers: Servers) -> None:
    states: list[int] = []

    def close(ws: WebSocket) -> None:
        ws.close(1000, "bye")
        states.append(ws.readyState)

    outcome = await run_case(
        servers, "frames", options={"close_timeout": CLOSE_TIMEOUT}, on_open=close
    )
    assert states == [CLOSING]
    outcome.expect(["open", "close"], [OPEN, CLOSED], (1006, "", False))
    outcome.client_sent_close(1000, "bye")
    if engine() in DROPS_TCP_AFTER_CLOSE_TIMEOUT:
        outcome.client_ended()


STOP_READING_BYTES = 32 * 2**20


@scenario
async def server_that_stops_reading_is_dropped_after_close_timeout(servers: Servers) -> None:
    # 32 MiB to a server that reads nothing, then close(): the close frame
    # waits behind the data for ever, so close_timeout must still end it.
    buffered: list[int] = []

    def send_and_close(ws: WebSocket) -> None:
        ws.send(bytes(STOP_READING_BYTES))
        buffered.append(ws.bufferedAmount)
        ws.close(1000)

    outcome = await run_case(
        servers,
        "stop-reading",
        options={"close_timeout": CLOSE_TIMEOUT},
        on_open=send_and_close,
        within=WITHIN + CLOSE_TIMEOUT,
    )
    assert buffered == [STOP_READING_BYTES]
    outcome.expect(["open", "close"], [OPEN, CLOSED], (1006, "", False))
    if engine() in DROPS_TCP_AFTER_CLOSE_TIMEOUT:
        outcome.client_ended()
    # The bytes stuck in the client were never transmitted to the network, so
    # they are still counted (they can never leave now): where the runtime
    # tells (not HIDES_THE_SEND_BACKLOG).
    if engine() not in HIDES_THE_SEND_BACKLOG:
        assert outcome.ws.bufferedAmount > STOP_READING_BYTES // 2, outcome.ws.bufferedAmount


@scenario(skip=skip_in(HIDES_THE_SEND_BACKLOG, BACKLOG_HIDDEN))
async def buffered_amount_counts_what_a_stalled_server_has_not_taken(servers: Servers) -> None:
    # The standard counts the bytes "not yet transmitted to the network": with
    # a server that reads nothing, most of 32 MiB stays in the client.
    seen: list[int] = []

    async def watch(ws: WebSocket) -> None:
        ws.send(bytes(STOP_READING_BYTES))
        await asyncio.sleep(0.5)
        seen.append(ws.bufferedAmount)
        ws.close(1000)

    tasks: list[asyncio.Task[None]] = []
    outcome = await run_case(
        servers,
        "stop-reading",
        options={"close_timeout": CLOSE_TIMEOUT},
        on_open=lambda ws: tasks.append(asyncio.ensure_future(watch(ws))),
        within=WITHIN + CLOSE_TIMEOUT + 0.5,
    )
    await asyncio.gather(*tasks)
    assert len(seen) == 1
    assert seen[0] > STOP_READING_BYTES // 2, seen
    assert outcome.log.types == ["open", "close"], outcome.log.types


# The server reads 24 MiB in 4 s. The client cannot hand the last of it to the
# network before about 3.3 s (the kernel holds at most about 4 MiB: 0.7 s of
# reading), and its close frame comes right behind: a close_timeout of 2 s
# must not count the time the server is busy reading what came before. (2 s,
# not less: on a loaded machine the server's thread can pause for a second.)
SLOW_BYTES = 24 * 2**20
SLOW_RATE = 6 * 2**20  # bytes a second
SLOW_CLOSE_TIMEOUT = 2.0


@scenario(
    skip=skip_in(
        HIDES_THE_SEND_BACKLOG,
        BACKLOG_HIDDEN + ": the close timeout starts at close() and cuts a slower reader off",
    )
)
async def slow_reader_receives_everything_sent_before_close(servers: Servers) -> None:
    # A server that keeps reading gets every byte sent before close(), then
    # the close frame, which it answers at once: a clean close, even though
    # draining takes longer than close_timeout.
    data = bytes(range(256)) * (SLOW_BYTES // 256)

    def send_and_close(ws: WebSocket) -> None:
        ws.send(data[: SLOW_BYTES // 2])
        ws.send(data[SLOW_BYTES // 2 :])
        ws.close(1000, "all sent")

    outcome = await run_case(
        servers,
        "slow-reader",
        rate=SLOW_RATE,
        options={"close_timeout": SLOW_CLOSE_TIMEOUT},
        on_open=send_and_close,
        within=WITHIN + SLOW_BYTES / SLOW_RATE,
    )
    outcome.expect(["open", "close"], [OPEN, CLOSED], (1000, "all sent", True))
    record = outcome.record
    assert record["data_bytes"] == SLOW_BYTES, record["data_bytes"]
    assert record["data_sha256"] == hashlib.sha256(data).hexdigest()
    outcome.client_sent_close(1000, "all sent")


# More messages than the fault peer keeps frames of (its MAX_FRAMES, 200).
MANY_MESSAGES = 300


@scenario
async def close_frame_follows_every_message_sent_before_it(servers: Servers) -> None:
    # close() keeps the messages already sent: all of them reach the server,
    # in order, and then one close frame (also past the frames a record keeps).
    messages = [f"message {i}".encode() for i in range(MANY_MESSAGES)]

    def send_and_close(ws: WebSocket) -> None:
        for message in messages:
            ws.send(message)
        ws.close(1000, "after 300")

    outcome = await run_case(
        servers, "slow-reader", rate=SLOW_RATE, on_open=send_and_close, within=WITHIN
    )
    outcome.expect(["open", "close"], [OPEN, CLOSED], (1000, "after 300", True))
    record = outcome.record
    assert record["data_bytes"] == sum(map(len, messages)), record["data_bytes"]
    assert record["data_sha256"] == hashlib.sha256(b"".join(messages)).hexdigest()
    assert record["frame_count"] >= MANY_MESSAGES + 1, record["frame_count"]
    assert record["frames"][-1]["opcode"] == CLOSE, record["frames"][-1]
    outcome.client_sent_close(1000, "after 300")


# TLS.


@scenario
async def tls_untrusted_certificate_fails(servers: Servers) -> None:
    # No runtime here trusts the twin's test CA (CPython: the default context).
    before = len((await peer_stats(servers))["tls_failures"])
    ws = WebSocket(servers.fault_url("frames", tls=True, id=new_id()))
    log = EventLog(ws)
    await _wait_closed(ws, log, "untrusted", WITHIN)
    assert log.types == ["error", "close"], log.types
    assert log.states == [CLOSED, CLOSED]
    event = await ws.wait_closed()
    assert (event.code, event.reason, event.wasClean) == (1006, "", False)
    # The server saw the TLS handshake fail (the client refused the certificate).
    failures = (await peer_stats(servers))["tls_failures"][before:]
    assert len(failures) >= 1, failures


@scenario
async def tls_spoken_to_a_plain_server_fails(servers: Servers) -> None:
    before = (await peer_stats(servers))["tls_on_plain_port"]
    port = servers.faults.rsplit(":", 1)[1]
    ws = WebSocket(f"wss://127.0.0.1:{port}/case/frames")
    log = EventLog(ws)
    await _wait_closed(ws, log, "TLS to a plain server", WITHIN)
    assert log.types == ["error", "close"], log.types
    assert log.states == [CLOSED, CLOSED]
    event = await ws.wait_closed()
    assert (event.code, event.reason, event.wasClean) == (1006, "", False)
    assert (await peer_stats(servers))["tls_on_plain_port"] > before


def _trusting(servers: Servers) -> dict[str, Any]:
    return {"ssl": ssl.create_default_context(cafile=servers.faults_ca_file)}


@scenario(skip=NO_TEST_CA)
async def tls_wrong_host_name_fails(servers: Servers) -> None:
    # The twin's certificate names only "localhost".
    port = servers.faults_tls.rsplit(":", 1)[1]
    ws = WebSocket(f"wss://127.0.0.1:{port}/case/frames", **_trusting(servers))
    log = EventLog(ws)
    try:
        await ws.wait_open()
    except ConnectionClosed as exc:
        cause = exc.__cause__
    else:
        raise AssertionError("opened")
    assert log.types == ["error", "close"], log.types
    assert isinstance(cause, ssl.SSLCertVerificationError), repr(cause)
    assert "mismatch" in str(cause), str(cause)


@scenario(skip=NO_TEST_CA)
async def tls_faults_over_a_trusted_connection(servers: Servers) -> None:
    options = _trusting(servers)
    # A clean close, to show the rest is about the faults.
    outcome = await run_case(
        servers,
        "frames",
        tls=True,
        options=options,
        hex=hexed(frame(TEXT, b"hi"), close_frame(1000)),
    )
    outcome.closed_cleanly("hi", code=1000)
    # TCP dropped without TLS close_notify, or reset.
    for how in ("fin", "rst"):
        outcome = await run_case(
            servers, "drop", tls=True, options=options, stage="after-open", how=how
        )
        outcome.failed_after_open("hello", sent=None)
    # A protocol error, and a server that never answers the close frame.
    outcome = await run_case(servers, "frames", tls=True, options=options, hex=frame(0x3).hex())
    outcome.failed_after_open(sent=1002)
    outcome = await run_case(
        servers,
        "frames",
        tls=True,
        options={**options, "close_timeout": CLOSE_TIMEOUT},
        on_open=lambda ws: ws.close(),
    )
    outcome.expect(["open", "close"], [OPEN, CLOSED], (1006, "", False))
    outcome.client_sent_close(None)


# What CPython can tell beyond the events.


@scenario(skip=skip_in(("node", "chromium", "firefox", "webkit"), NO_CAUSE))
async def tcp_dropped_during_the_handshake_has_a_cause(servers: Servers) -> None:
    for stage in ("before-response", "mid-response"):
        for how in ("fin", "rst"):
            ws = WebSocket(servers.fault_url("drop", stage=stage, how=how, id=new_id()))
            try:
                await ws.wait_open()
            except ConnectionClosed as exc:
                assert exc.__cause__ is not None, f"{stage} {how}: no cause"
            else:
                raise AssertionError(f"{stage} {how}: opened")


# Listeners that raise what is not an Exception. (Last: until the shim isolates
# it, the CancelledError escapes into Node's event loop and ends the process,
# so nothing after it would run there.)


@scenario
async def listener_raising_cancelled_error_is_isolated(servers: Servers) -> None:
    data = hexed(frame(TEXT, b"1"), frame(TEXT, b"2"), frame(TEXT, b"3"), close_frame(1000))
    ws = WebSocket(servers.fault_url("frames", hex=data, id=new_id()))
    seen: list[str] = []

    def raising(event: Event) -> None:
        raise asyncio.CancelledError("from a listener")

    def recording(event: Event) -> None:
        assert isinstance(event, MessageEvent)
        seen.append(event.data)

    ws.addEventListener("message", raising)
    ws.addEventListener("message", recording)
    log = EventLog(ws)
    await _wait_closed(ws, log, "CancelledError in a listener", WITHIN)
    assert seen == ["1", "2", "3"], seen
    assert log.types == ["open", "message", "message", "message", "close"], log.types
    event = await ws.wait_closed()
    assert (event.code, event.wasClean) == (1000, True)
