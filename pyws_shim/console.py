"""A WebSocket console: type lines, see every event.

This one file drives both demos: the terminal client (``python -m pyws_shim
URL``, in CPython) and the demo page (in the browser, under Pyodide). It
uses nothing but pyws_shim's DOM API, which is the point: the same Python
code runs in both places, with the same events, states and errors.

A line is sent as a text message, except for these commands::

    /binary HEX            send the bytes HEX as a binary message
    /close [CODE [REASON]] close, with a code and a reason if given
    /help                  list the commands

Every event, every message sent, and every exception a call raised (a
``DOMException`` for a bad close code, say) becomes one line of output,
given to ``output(kind, text)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .blob import Blob
from .events import CloseEvent, Event, MessageEvent
from .exceptions import DOMException
from .websocket import WebSocket

__all__ = ["COMMANDS", "Console", "describe_data", "describe_exception"]

COMMANDS = """\
commands:
  TEXT                    send TEXT as a text message
  /binary HEX             send bytes as a binary message, e.g. /binary 00ff10
  /close [CODE [REASON]]  close (CODE: 1000 or 3000-4999; REASON: up to 123 UTF-8 bytes)
  /help                   this list"""

STATE_NAMES = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")

Output = Callable[[str, str], object]
"""``output(kind, text)``: ``kind`` is an event type ("open", "message",
"error", "close"), "sent", "exception" or "info"."""


def describe_exception(exc: BaseException) -> str:
    """One line for an exception the shim raised: ``Name: message``, with a
    DOMException's own name ("SyntaxError", "InvalidAccessError" ...)."""
    if isinstance(exc, DOMException):
        return f"{exc.name}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def describe_data(data: str | bytes | Blob) -> str:
    """One line for a message's data: text as it is, binary as hex."""
    if isinstance(data, str):
        return data
    if isinstance(data, Blob):
        return f"<Blob of {data.size} bytes>"
    shown = data[:64].hex(" ")
    more = f" ... ({len(data)} bytes)" if len(data) > 64 else ""
    return f"<{len(data)} bytes: {shown}{more}>"


class Console:
    """One WebSocket to ``url``, driven by lines of text.

    Creating it opens the connection, so it raises what ``WebSocket(url)``
    raises: a ``DOMException`` named "SyntaxError" for a bad URL. ``options``
    are ``WebSocket``'s keyword-only options (headers, origin, ssl, proxy).
    """

    def __init__(
        self,
        url: str,
        output: Output,
        protocols: Sequence[str] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.output = output
        self.ws = WebSocket(url, protocols, **(options or {}))
        # Binary messages arrive as bytes, so they can be shown at once.
        self.ws.binaryType = "arraybuffer"
        self.ws.onopen = self._on_open
        self.ws.onmessage = self._on_message
        self.ws.onerror = self._on_error
        self.ws.onclose = self._on_close
        output("info", f"connecting to {self.ws.url}")

    # Events, as lines.

    def _on_open(self, event: Event) -> None:
        details = []
        if self.ws.protocol:
            details.append(f"protocol={self.ws.protocol!r}")
        if self.ws.extensions:
            details.append(f"extensions={self.ws.extensions!r}")
        self.output("open", " ".join(["open", *details]))

    def _on_message(self, event: MessageEvent) -> None:
        self.output("message", describe_data(event.data))

    def _on_error(self, event: Event) -> None:
        self.output("error", "error: the connection failed")

    def _on_close(self, event: CloseEvent) -> None:
        reason = f" reason={event.reason!r}" if event.reason else ""
        self.output("close", f"close code={event.code}{reason} wasClean={event.wasClean}")

    # Lines, as calls.

    def handle_line(self, line: str) -> None:
        """Act on one line typed by the user (see the module's docstring)."""
        try:
            if line.startswith("/"):
                self._command(line)
            else:
                self.ws.send(line)
                self.output("sent", line)
        except (DOMException, TypeError, ValueError) as exc:
            # The shim's own exceptions, shown as they would be raised.
            self.output("exception", describe_exception(exc))

    def _command(self, line: str) -> None:
        command, _, rest = line.partition(" ")
        if command == "/binary":
            data = bytes.fromhex(rest)
            self.ws.send(data)
            self.output("sent", describe_data(data))
        elif command == "/close":
            code_text, _, reason = rest.strip().partition(" ")
            code = int(code_text) if code_text else None
            if reason:
                self.ws.close(code, reason)
            else:
                self.ws.close(code)
            self.output("info", "closing" if self.ws.readyState == WebSocket.CLOSING else "closed")
        elif command == "/help":
            self.output("info", COMMANDS)
        else:
            self.output("info", f"unknown command {command!r}; /help lists them")

    def status(self) -> str:
        """The socket's state, for a status line: readyState and bufferedAmount."""
        return (
            f"readyState={self.ws.readyState} ({STATE_NAMES[self.ws.readyState]}) "
            f"bufferedAmount={self.ws.bufferedAmount}"
        )

    async def closed(self) -> CloseEvent:
        """The close event, once the connection is over."""
        return await self.ws.wait_closed()
