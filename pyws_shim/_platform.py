"""The one platform switch: which backend drives a WebSocket here."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backend import Backend

__all__ = ["BACKENDS", "default_backend", "is_emscripten", "load_backend"]

# Backend name -> module. Each module provides what pyws_shim.backend.Backend describes.
BACKENDS = {
    "asyncio": "pyws_shim.asyncio_backend",
    "pyodide": "pyws_shim.pyodide_backend",
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


def load_backend(name: object) -> Backend:
    """The backend module called ``name`` (``None``: the one for this platform)."""
    if name is None:
        name = default_backend()
    if not isinstance(name, str):
        raise TypeError(f"WebSocket(): backend must be a str or None, not {type(name).__name__}")
    if name not in BACKENDS:
        raise ValueError(
            f"WebSocket(): backend must be one of {sorted(BACKENDS)} or None, not {name!r}"
        )
    module_name = BACKENDS[name]
    runs_here, needs = _NEEDS[name]
    if not runs_here():
        raise ValueError(
            f"WebSocket(): backend={name!r} needs {needs}; leave backend=None for the "
            f"one that runs here, {default_backend()!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise NotImplementedError(
                f"The {name!r} backend of pyws_shim is not available in this version"
            ) from None
        raise
    return module
