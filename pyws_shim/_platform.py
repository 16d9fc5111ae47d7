"""The one platform switch: which backend drives a WebSocket here."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backends import Backend

__all__ = ["BACKENDS", "default_backend", "is_emscripten", "load_backend"]

# Backend name -> module. Each module provides what pyws_shim.backends.Backend describes.
BACKENDS = {
    "asyncio": "pyws_shim.backends.asyncio",
    "pyodide": "pyws_shim.backends.pyodide",
}


def is_emscripten() -> bool:
    """True under Pyodide (in a browser page, a web worker or Node.js)."""
    return sys.platform == "emscripten"


def default_backend() -> str:
    return "pyodide" if is_emscripten() else "asyncio"


def _not_emscripten() -> bool:
    return not is_emscripten()


# Backend name -> (whether it can run here, what it needs).
_NEEDS: dict[str, tuple[Callable[[], bool], str]] = {
    "asyncio": (_not_emscripten, "CPython (it opens TCP connections with asyncio)"),
    "pyodide": (is_emscripten, "Pyodide (it wraps the JavaScript runtime's native WebSocket)"),
}


def load_backend(backend: object) -> Backend:
    """The backend ``backend`` names (``None``: the one for this platform), or
    ``backend`` itself when it is an object that provides
    :class:`pyws_shim.backends.Backend`."""
    from .backends import Backend

    if backend is None:
        backend = default_backend()
    if not isinstance(backend, str):
        if isinstance(backend, Backend):
            return backend
        raise TypeError(
            f"WebSocket(): backend must be one of {sorted(BACKENDS)}, None, or an object "
            f"providing pyws_shim.backends.Backend, not {type(backend).__name__}"
        )
    if backend not in BACKENDS:
        raise ValueError(
            f"WebSocket(): backend must be one of {sorted(BACKENDS)} or None, not {backend!r}"
        )
    runs_here, needs = _NEEDS[backend]
    if not runs_here():
        raise ValueError(
            f"WebSocket(): backend={backend!r} needs {needs}; leave backend=None for the "
            f"one that runs here, {default_backend()!r}"
        )
    module = importlib.import_module(BACKENDS[backend])
    assert isinstance(module, Backend)
    return module
