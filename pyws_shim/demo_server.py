"""The embedded local echo server, and the demo page's web server (CPython).

One port serves both: a WebSocket upgrade request (any path) gets an echo
connection; a plain HTTP GET gets a file of the demo page:

==========================  ================================================
``/``                       ``web/index.html``
``/web/FILE``               ``web/FILE``
``/pyodide/FILE``           ``node_modules/pyodide/FILE`` (the npm package)
``/wheels/FILE``            ``build/demo-wheels/FILE`` (pyws_shim's wheel)
``/source/console.py``      the source of :mod:`pyws_shim.console`
``/config.json``            the wheel's URL and the echo server's URL
==========================  ================================================

The page's files come from a checkout of the repository (``root``); the echo
server alone needs nothing but the package.
"""

from __future__ import annotations

import contextlib
import http
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import console

__all__ = ["DemoFiles", "echo", "start_server"]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".py": "text/plain; charset=utf-8",
    ".png": "image/png",
}


async def echo(connection: ServerConnection) -> None:
    """Send every message back as it came: text as text, binary as binary."""
    with contextlib.suppress(ConnectionClosed):  # however the client closes
        async for message in connection:
            await connection.send(message)


@dataclass(frozen=True)
class DemoFiles:
    """Where the demo page's files are, in a checkout of the repository."""

    root: Path

    @property
    def wheels(self) -> Path:
        return self.root / "build" / "demo-wheels"

    def missing(self) -> list[str]:
        """What the page needs and is not there (empty when all is ready)."""
        needed = {
            "web/index.html": self.root / "web" / "index.html",
            "node_modules/pyodide": self.root / "node_modules" / "pyodide" / "pyodide.mjs",
        }
        gaps = [name for name, path in needed.items() if not path.exists()]
        if self.wheel() is None:
            gaps.append("build/demo-wheels/pyws_shim-*.whl")
        return gaps

    def wheel(self) -> Path | None:
        wheels = sorted(self.wheels.glob("pyws_shim-*-py3-none-any.whl"))
        return wheels[-1] if wheels else None

    def resolve(self, path: str) -> Path | None:
        """The file for a request path, or ``None``."""
        prefixes = {
            "/web/": self.root / "web",
            "/pyodide/": self.root / "node_modules" / "pyodide",
            "/wheels/": self.wheels,
        }
        if path == "/":
            return self.root / "web" / "index.html"
        if path == "/source/console.py":
            return Path(console.__file__)
        for prefix, directory in prefixes.items():
            if path.startswith(prefix):
                candidate = (directory / path[len(prefix) :]).resolve()
                if candidate.is_relative_to(directory.resolve()) and candidate.is_file():
                    return candidate
        return None


def _response(status: http.HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _page_request_handler(files: DemoFiles, echo_path: str):  # type: ignore[no-untyped-def]
    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # the echo server
        path = request.path.split("?", 1)[0]
        if path == "/config.json":
            wheel = files.wheel()
            host = request.headers.get("Host", "")
            config = {
                "wheel": None if wheel is None else f"/wheels/{wheel.name}",
                "echo": f"ws://{host}{echo_path}",
            }
            return _response(http.HTTPStatus.OK, json.dumps(config).encode(), "application/json")
        target = files.resolve(path)
        if target is None:
            return _response(http.HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
        content_type = CONTENT_TYPES.get(
            target.suffix, mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        )
        return _response(http.HTTPStatus.OK, target.read_bytes(), content_type)

    return process_request


async def start_server(
    host: str = "127.0.0.1", port: int = 0, files: DemoFiles | None = None
) -> tuple[Server, str]:
    """Start the echo server (and the page's files, with ``files``); return
    the server and the echo URL (``ws://HOST:PORT/echo``)."""
    server = await serve(
        echo,
        host,
        port,
        process_request=None if files is None else _page_request_handler(files, "/echo"),
        max_size=None,
    )
    bound = server.sockets[0].getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return server, f"ws://{shown}:{bound[1]}/echo"
