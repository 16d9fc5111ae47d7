"""pyws_shim: the DOM ``WebSocket`` interface for Python.

The same code runs in CPython (a pure-Python RFC 6455 client on asyncio)
and under Pyodide (the runtime's native WebSocket), with the browser's
semantics::

    from pyws_shim import WebSocket

    ws = WebSocket("ws://127.0.0.1:8765/")
    ws.onopen = lambda event: ws.send("hello")
    ws.onmessage = lambda event: print(event.data)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .blob import Blob
from .events import CloseEvent, Event, EventTarget, MessageEvent
from .exceptions import ConnectionClosed, DOMException
from .websocket import WebSocket

__all__ = [
    "Blob",
    "CloseEvent",
    "ConnectionClosed",
    "DOMException",
    "Event",
    "EventTarget",
    "MessageEvent",
    "WebSocket",
    "__version__",
]
