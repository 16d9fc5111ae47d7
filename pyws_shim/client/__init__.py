"""The ``websockets.asyncio.client`` API on pyws_shim's ``WebSocket``.

Code written for websockets' asyncio client runs unchanged with this
module in its place, in CPython and under Pyodide (a browser page, a web
worker, Node.js, Deno, Bun)::

    from pyws_shim.client import connect

    async with connect("ws://127.0.0.1:8765/") as websocket:
        await websocket.send("hello")
        print(await websocket.recv())

A library that uses websockets switches only where websockets cannot run::

    import sys

    if sys.platform == "emscripten":
        from pyws_shim import client as ws_client
    else:
        from websockets.asyncio import client as ws_client

Everything is built on :class:`pyws_shim.WebSocket` and its events, and on
the backend seam for what the DOM lacks (ping, pausing reads, flow
control). Where a runtime cannot do what websockets does (request headers
in a browser, the HTTP response, pings under Pyodide), the README's table
says what happens instead.
"""

from __future__ import annotations

from .connection import ClientConnection, Data, State
from .exceptions import (
    Close,
    ConcurrencyError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    ConnectionFailed,
    InvalidHandshake,
    InvalidMessage,
    InvalidProxy,
    InvalidStatus,
    InvalidURI,
    PayloadTooBig,
    ProtocolError,
    WebSocketException,
)
from .http import Headers, MultipleValuesError, Response
from .opening import backoff, connect, process_exception

__all__ = [
    "ClientConnection",
    "Close",
    "ConcurrencyError",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "ConnectionFailed",
    "Data",
    "Headers",
    "InvalidHandshake",
    "InvalidMessage",
    "InvalidProxy",
    "InvalidStatus",
    "InvalidURI",
    "MultipleValuesError",
    "PayloadTooBig",
    "ProtocolError",
    "Response",
    "State",
    "WebSocketException",
    "backoff",
    "connect",
    "process_exception",
]
