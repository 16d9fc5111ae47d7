"""The one platform switch: which backend drives a WebSocket here."""

from __future__ import annotations

import importlib
import sys
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


def load_backend(name: str | None) -> Backend:
    """The backend module called ``name`` (``None``: the one for this platform)."""
    if name is None:
        name = default_backend()
    try:
        module_name = BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"WebSocket(): backend must be one of {sorted(BACKENDS)} or None, not {name!r}"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise NotImplementedError(
                f"The {name!r} backend of pyws_shim is not available in this version"
            ) from None
        raise
    return module
