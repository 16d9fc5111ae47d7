"""The opening handshake's response, as a browser reads it.

The websockets core checks the server's response (RFC 6455 4.1: status 101,
Upgrade, Connection, Sec-WebSocket-Accept, the extensions and subprotocol),
but refuses responses that browsers accept: a header line over 8 KiB (a
large ``Set-Cookie``) or more than 128 header lines. A browser reads up to
256 KiB of response headers (Chromium's limit) and a WebSocket client uses
only a few of them, so the core is given the status line and the headers the
handshake reads, and the rest is set aside unread, as a browser without a
cookie jar for this connection would.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_RESPONSE_HEAD", "ResponseHeadTooLarge", "handshake_head", "response_head_length"]

MAX_RESPONSE_HEAD: Final = 256 * 1024

# The headers the opening handshake reads (RFC 6455 4.1, 9.1, 11.3.4), and
# those that delimit the body of a refusal (RFC 9112 6.3), which the core
# reads to report it.
_HANDSHAKE_HEADERS: Final = frozenset(
    {
        b"upgrade",
        b"connection",
        b"sec-websocket-accept",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"content-length",
        b"transfer-encoding",
    }
)


class ResponseHeadTooLarge(Exception):
    """The server's response headers exceed what a browser accepts."""


def response_head_length(data: bytes | bytearray) -> int | None:
    """The length of the response head at the start of ``data`` (its status
    line and headers, up to and including the empty line), or ``None`` when
    it is not complete yet.

    RFC 9112 2.1: a message is "start-line CRLF *( field-line CRLF ) CRLF".
    A head that ends with bare line feeds is returned too, for the core to
    refuse.
    """
    ends = [i + n for i, n in ((data.find(b"\r\n\r\n"), 4), (data.find(b"\n\n"), 2)) if i >= 0]
    if ends:
        end = min(ends)
        if end <= MAX_RESPONSE_HEAD:
            return end
    elif len(data) <= MAX_RESPONSE_HEAD:
        return None
    raise ResponseHeadTooLarge(
        f"the server's response headers exceed {MAX_RESPONSE_HEAD // 1024} KiB"
    )


def handshake_head(head: bytes) -> bytes:
    """The status line and the headers of ``head`` that the handshake reads
    (with their continuation lines), in their order; a head that is not made
    of CRLF-terminated lines is returned unchanged, for the core to judge."""
    if not head.endswith(b"\r\n\r\n") or b"\n" in head.replace(b"\r\n", b""):
        return head
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]]
    keep = False
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # obs-fold: a continuation of the last field
            if keep:
                kept.append(line)
            continue
        keep = line.partition(b":")[0].strip().lower() in _HANDSHAKE_HEADERS
        if keep:
            kept.append(line)
    return b"\r\n".join(kept) + b"\r\n\r\n"
