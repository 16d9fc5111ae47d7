"""The CPython backend: pyws_shim's own RFC 6455 client on asyncio (and uvloop).

Its parts, each with its own tests:

- :mod:`.driver`: the connection on an asyncio transport (opening, timeouts,
  closing), with the websockets sans-I/O core for the handshake and control
  frames;
- :mod:`.receiver`: data frames in, messages out;
- :mod:`.assembly`: fragmented messages;
- :mod:`.writer`: combined writes and ``bufferedAmount``;
- :mod:`.framing`: frame headers and masking keys;
- :mod:`.handshake`: the opening handshake's response, read as a browser reads it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ...validation import parse_url_with_ada
from .driver import AsyncioConnection

if TYPE_CHECKING:
    from ...options import ConnectOptions
    from .. import ConnectionHandler

__all__ = ["AsyncioConnection", "base_url", "connect", "parse_url"]

parse_url = parse_url_with_ada


def base_url() -> None:
    """No document here: a relative URL is a ``SyntaxError``."""
    return None


def connect(
    handler: ConnectionHandler,
    url: str,
    protocols: list[str],
    options: ConnectOptions,
) -> AsyncioConnection:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "pyws_shim.WebSocket() needs a running asyncio event loop: create it inside "
            "a coroutine, for example one started with asyncio.run()."
        ) from None
    connection = AsyncioConnection(handler, loop, url, protocols, options)
    connection.start()
    return connection
