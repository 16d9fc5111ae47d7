"""``python -m pyws_shim``: the terminal client and the demo server, run as a
user runs them: a separate process, typed to through a pseudo-terminal."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from scenarios import Servers

from pyws_shim import WebSocket

TIMEOUT = 15
COMMAND = [sys.executable, "-m", "pyws_shim"]


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        COMMAND[0], [*COMMAND[1:], *args], encoding="utf-8", timeout=TIMEOUT, echo=False
    )


def finish(child: pexpect.spawn) -> int:
    """Wait for ``child`` to exit; its exit status."""
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return int(child.exitstatus)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_client_round_trips_text_and_binary(servers: Servers) -> None:
    child = spawn(servers.url("/echo"))
    child.expect_exact("* open")
    child.sendline("hello ✓")
    child.expect_exact("> hello ✓")
    child.expect_exact("< hello ✓")
    child.sendline("/binary 00ff10")
    child.expect_exact("< <3 bytes: 00 ff 10>")
    # A bad close code: the shim's DOMException, and the connection stays open.
    child.sendline("/close 999")
    child.expect_exact("! InvalidAccessError: The close code must be either 1000")
    child.sendline("still open")
    child.expect_exact("< still open")
    child.sendline("/close 4000 bye now")
    child.expect_exact("* close code=4000 reason='bye now' wasClean=True")
    assert finish(child) == 0


def test_client_without_url_uses_an_embedded_echo_server() -> None:
    child = spawn()
    child.expect(r"\* started a local echo server at ws://127\.0\.0\.1:\d+/echo")
    child.expect_exact("* open")
    child.sendline("ping")
    child.expect_exact("< ping")
    child.sendeof()  # Ctrl-D: close with 1000
    child.expect_exact("* close code=1000 wasClean=True")
    assert finish(child) == 0


def test_client_offers_protocols(servers: Servers) -> None:
    child = spawn(servers.url("/echo"), "--protocol", "chat.v2", "--protocol", "chat.v1")
    child.expect_exact("* open protocol='chat.v2'")
    child.sendeof()
    assert finish(child) == 0


def test_client_exits_1_when_the_connection_is_lost(servers: Servers) -> None:
    child = spawn(servers.url("/drop", after=1))
    child.expect_exact("< 0")
    child.expect_exact("! error: the connection failed")
    child.expect_exact("* close code=1006 wasClean=False")
    assert finish(child) == 1


def test_client_exits_0_when_the_server_closes_cleanly(servers: Servers) -> None:
    child = spawn(servers.url("/close", code=4001, reason="server done"))
    child.expect_exact("* close code=4001 reason='server done' wasClean=True")
    assert finish(child) == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/", "SyntaxError: The URL's scheme must be"),
        ("ws://example.com/#top", "SyntaxError: The URL contains a fragment"),
        ("ws://foo bar.com/", "SyntaxError: The URL 'ws://foo bar.com/' is invalid."),
    ],
)
def test_bad_url_is_one_line_and_status_2(url: str, words: str) -> None:
    result = run(url)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pyws_shim: {words}"), lines[0]


def test_refused_connection_is_one_line_and_status_1(servers: Servers) -> None:
    result = run(servers.refused)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pyws_shim: cannot connect to {servers.refused}: ")
    assert "ConnectionRefusedError" in lines[0]


def test_tls_failure_is_one_line_and_status_1(servers: Servers) -> None:
    # The test CA is not in the system trust store.
    result = run(servers.secure_url("/echo"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot connect to wss://localhost:" in lines[0]
    assert "SSLCertVerificationError" in lines[0]
    assert "certificate verify failed" in lines[0]


# The demo server.


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """A stand-in for a checkout, with the files the demo page needs."""
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("<!doctype html><title>demo</title>")
    (tmp_path / "web" / "app.js").write_text("export {};")
    (tmp_path / "node_modules" / "pyodide").mkdir(parents=True)
    (tmp_path / "node_modules" / "pyodide" / "pyodide.mjs").write_text("export {};")
    (tmp_path / "build" / "demo-wheels").mkdir(parents=True)
    (tmp_path / "build" / "demo-wheels" / "pyws_shim-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    (tmp_path / "secret.txt").write_text("not served")
    return tmp_path


@pytest.fixture
def demo(demo_root: Path) -> Iterator[tuple[pexpect.spawn, str]]:
    child = spawn("serve", "--port", "0", "--root", str(demo_root))
    child.expect(r"Demo page:   (http://127\.0\.0\.1:\d+/)")
    page = child.match.group(1)
    child.expect_exact("Press Ctrl-C to stop.")
    try:
        yield child, page
    finally:
        if child.isalive():
            child.terminate(force=True)


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_serve_serves_the_page_and_the_echo_server(
    demo: tuple[pexpect.spawn, str], demo_root: Path
) -> None:
    _, page = demo
    assert get(page) == (200, "text/html; charset=utf-8", b"<!doctype html><title>demo</title>")
    assert get(page + "pyodide/pyodide.mjs")[1] == "text/javascript; charset=utf-8"
    status, _, body = get(page + "source/console.py")
    assert status == 200
    assert body == Path(__file__).parent.parent.joinpath("pyws_shim", "console.py").read_bytes()
    status, _, body = get(page + "config.json")
    config = json.loads(body)
    assert config["wheel"] == "/wheels/pyws_shim-0.1.0-py3-none-any.whl"
    assert config["echo"] == page.replace("http://", "ws://") + "echo"
    assert get(page + "wheels/pyws_shim-0.1.0-py3-none-any.whl")[0] == 200
    for outside in ("web/../secret.txt", "web/%2e%2e/secret.txt", "nothing-here"):
        assert get(page + outside)[0] == 404, outside

    async def echo_once() -> object:
        async with WebSocket(config["echo"]) as ws:
            ws.send("through the demo server")
            return await anext(ws)

    assert asyncio.run(echo_once()) == "through the demo server"


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_ctrl_c_and_sigterm(
    demo: tuple[pexpect.spawn, str], signal_number: int
) -> None:
    child, _ = demo
    child.kill(signal_number)
    child.expect_exact("stopped")
    assert finish(child) == 0


def test_serve_without_the_page_files_says_how_to_get_them(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "web/index.html" in result.stderr
    assert "./web/demo" in result.stderr
    assert re.fullmatch(r"pyws_shim serve: .*\n", result.stderr)
