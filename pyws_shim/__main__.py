"""``python -m pyws_shim``: a WebSocket client in the terminal, and the demo.

    python -m pyws_shim [URL] [--protocol P] [-H NAME:VALUE] [--origin ORIGIN]
                        [--ca FILE] [--proxy URL] [-x TEXT] [-w SECONDS] [--version]
        Connect to URL (without one: to an embedded local echo server), send
        each line typed, print every event. Lines starting with "/" are
        commands: /binary HEX, /close [CODE [REASON]], /help. The end of the
        input (Ctrl-D) closes with 1000, once --wait seconds have passed
        (replies to the last lines still arrive). With -x, send those lines
        (or commands) instead of reading the input, wait, and close.
        The proxy is the environment's (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY,
        NO_PROXY), unless --proxy names one ("--proxy none": direct).

    python -m pyws_shim serve [--host HOST] [--port PORT] [--root DIR]
        Start the echo server and serve the demo page (from a checkout of
        the repository); print their URLs; stop on Ctrl-C.

Output lines: "> " a message sent, "< " a message received, "* " an event or
a note, "! " an error or an exception the shim raised.

Exit status of the client: 0 when the connection closed cleanly, 1 when it
failed or closed uncleanly (a refused connection, a TLS failure, a lost
connection), 2 for a bad URL or bad arguments, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .console import COMMANDS, Console, describe_exception
from .events import CloseEvent
from .exceptions import ConnectionClosed, DOMException
from .websocket import WebSocket

__all__ = ["main"]

PREFIXES = {
    "sent": "> ",
    "message": "< ",
    "open": "* ",
    "close": "* ",
    "info": "* ",
    "error": "! ",
    "exception": "! ",
}
REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_WAIT = 1.0


def _print(kind: str, text: str) -> None:
    prefix = PREFIXES.get(kind, "* ")
    print("\n".join(prefix + line for line in text.splitlines() or [""]), flush=True)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "the connection failed"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_lines(
    stream: TextIO, queue: asyncio.Queue[str | None], loop: asyncio.AbstractEventLoop
) -> None:
    """Read ``stream`` line by line on a thread of its own (a daemon: a
    blocked read never keeps the program alive); ``None`` marks the end."""

    def reader() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="stdin", daemon=True).start()


async def run_client(
    url: str | None,
    protocols: Sequence[str],
    stdin: TextIO,
    *,
    options: dict[str, Any] | None = None,
    execute: Sequence[str] = (),
    wait: float = DEFAULT_WAIT,
) -> int:
    server = None
    if url is None:
        from .demo_server import start_server

        server, url = await start_server()
        _print("info", f"started a local echo server at {url}")
    try:
        try:
            console = Console(url, _print, protocols, options)
        except (DOMException, TypeError, ValueError) as exc:
            # The shim's own words: "The URL 'x' is invalid.", "The subprotocol ..."
            print(f"pyws_shim: {describe_exception(exc)}", file=sys.stderr)
            return 2
        try:
            await console.ws.wait_open()
        except ConnectionClosed as exc:
            print(
                f"pyws_shim: cannot connect to {console.ws.url}: {_describe(exc.__cause__)}",
                file=sys.stderr,
            )
            return 1
        if execute:
            return await _execute(console, execute, wait)
        _print("info", "type a message and press Enter; /help lists the commands")
        return await _session(console, stdin, wait)
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()


async def _execute(console: Console, lines: Sequence[str], wait: float) -> int:
    """-x: send each line (or command), wait for replies, close with 1000."""
    closed = asyncio.ensure_future(console.closed())
    for line in lines:
        if closed.done():
            break
        console.handle_line(line)
    return await _finish(console, closed, wait)


async def _session(console: Console, stdin: TextIO, wait: float) -> int:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    _read_lines(stdin, lines, loop)
    closed = asyncio.ensure_future(console.closed())
    while not closed.done():
        next_line = asyncio.ensure_future(lines.get())
        await asyncio.wait({next_line, closed}, return_when=asyncio.FIRST_COMPLETED)
        if not next_line.done():
            next_line.cancel()
            break
        line = next_line.result()
        if line is None:  # the end of the input: wait for the replies, then close normally
            break
        console.handle_line(line)
    return await _finish(console, closed, wait)


async def _finish(console: Console, closed: asyncio.Future[CloseEvent], wait: float) -> int:
    """Wait ``wait`` seconds for replies (or for the server to close), then
    close with 1000; the exit status says whether the connection closed cleanly."""
    if not closed.done() and wait > 0:
        await asyncio.wait({closed}, timeout=wait)
    if console.ws.readyState == WebSocket.OPEN:
        console.handle_line("/close 1000")
    event = await closed
    return 0 if event.wasClean else 1


async def run_serve(host: str, port: int, root: Path) -> int:
    from .demo_server import DemoFiles, start_server

    files = DemoFiles(root)
    missing = files.missing()
    if missing:
        print(
            f"pyws_shim serve: the demo page needs {', '.join(missing)} under {root}; "
            "run ./web/demo from a checkout of the repository, which sets them up",
            file=sys.stderr,
        )
        return 1
    server, echo_url = await start_server(host, port, files)
    page_url = "http://" + echo_url.removeprefix("ws://").removesuffix("echo")
    # SIGTERM (a service manager, kill) stops it as cleanly as Ctrl-C does;
    # the handler is in place before the lines that say the server is up.
    serving = asyncio.ensure_future(server.serve_forever())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, serving.cancel)
    print(f"Demo page:   {page_url}", flush=True)
    print(f"Echo server: {echo_url}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        await serving
    except asyncio.CancelledError:
        if not serving.cancelled():
            raise  # this task itself was cancelled (Ctrl-C): asyncio.run reports it
    finally:
        server.close()
        await server.wait_closed()
    print("stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The library logs why a connection failed; here the client says it itself.
    logging.getLogger("pyws_shim").addHandler(logging.NullHandler())
    logging.getLogger("pyws_shim").propagate = False
    if args[:1] == ["serve"]:
        parser = argparse.ArgumentParser(
            prog="python -m pyws_shim serve",
            description="Start the local echo server and serve the demo page.",
        )
        parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
        parser.add_argument(
            "--port", type=int, default=8765, help="default: %(default)s (0: any free port)"
        )
        parser.add_argument(
            "--root",
            type=Path,
            default=REPOSITORY,
            help="the checkout with web/, node_modules/ and build/ (default: %(default)s)",
        )
        options = parser.parse_args(args[1:])
        try:
            return asyncio.run(run_serve(options.host, options.port, options.root))
        except KeyboardInterrupt:  # Ctrl-C
            print("stopped", flush=True)
            return 0
        except OSError as exc:
            print(f"pyws_shim serve: {_describe(exc)}", file=sys.stderr)
            return 1
    parser = argparse.ArgumentParser(
        prog="python -m pyws_shim",
        description="A WebSocket client in the terminal, on pyws_shim's DOM WebSocket.",
        epilog=COMMANDS + "\n\n'python -m pyws_shim serve --help': the demo page.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "url", nargs="?", help="ws:// or wss:// URL (default: an embedded local echo server)"
    )
    parser.add_argument(
        "--protocol",
        action="append",
        default=[],
        metavar="P",
        help="offer subprotocol P (repeat for more)",
    )
    parser.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        type=_header,
        metavar="NAME:VALUE",
        help="add a request header (repeat for more)",
    )
    parser.add_argument("--origin", help="send this Origin header")
    parser.add_argument(
        "--ca", type=Path, metavar="FILE", help="trust the CA certificates in FILE (PEM) for wss://"
    )
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="go through this proxy (http://, socks5://, socks5h://, socks4://, socks4a://); "
        "'none': connect directly (default: the environment's, as HTTPS_PROXY and NO_PROXY say)",
    )
    parser.add_argument(
        "-x",
        "--execute",
        action="append",
        default=[],
        metavar="TEXT",
        help="send TEXT (a message or a /command) once connected, instead of reading the "
        "input (repeat for more); then wait and close",
    )
    parser.add_argument(
        "-w",
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help="how long to wait for replies after the last line or -x before closing "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--version", action="version", version=f"pyws_shim {__version__} ({_runtime()})"
    )
    options = parser.parse_args(args)
    connect_options: dict[str, Any] = {}
    if options.header:
        connect_options["headers"] = options.header
    if options.origin is not None:
        connect_options["origin"] = options.origin
    if options.proxy is not None:
        connect_options["proxy"] = None if options.proxy.lower() == "none" else options.proxy
    if options.ca is not None:
        import ssl

        try:
            connect_options["ssl"] = ssl.create_default_context(cafile=options.ca)
        except (OSError, ssl.SSLError) as exc:
            print(f"pyws_shim: --ca {options.ca}: {_describe(exc)}", file=sys.stderr)
            return 2
    try:
        return asyncio.run(
            run_client(
                options.url,
                options.protocol,
                sys.stdin,
                options=connect_options,
                execute=options.execute,
                wait=options.wait,
            )
        )
    except KeyboardInterrupt:
        return 130


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:VALUE")
    return name.strip(), value.strip()


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _runtime() -> str:
    import platform

    try:
        from websockets.version import version as websockets_version
    except ImportError:  # under Pyodide
        return f"{platform.python_implementation()} {platform.python_version()}"
    return (
        f"websockets {websockets_version}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


if __name__ == "__main__":
    sys.exit(main())
