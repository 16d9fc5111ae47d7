"""``python -m pyws_shim``: the terminal client and the demo server, run as a
user runs them: a separate process, typed to through a pseudo-terminal."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pexpect
import pytest
from proxies import ProxyProcess
from scenarios import Servers

import pyws_shim
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


# The options, each through the pseudo-terminal (as typed) and through a pipe (as scripted).

MODES = ["pty", "pipe"]


def run_cli(
    mode: str, *args: str, lines: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """Run the client with ``args``, give it ``lines`` then the end of the
    input; its exit status and everything it printed (stdout and stderr)."""
    environment = None if env is None else {**os.environ, **env}
    if mode == "pipe":
        result = subprocess.run(
            [*COMMAND, *args],
            input="".join(line + "\n" for line in lines),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=environment,
            check=False,
        )
        return result.returncode, result.stdout + result.stderr
    child = pexpect.spawn(
        COMMAND[0],
        [*COMMAND[1:], *args],
        encoding="utf-8",
        timeout=TIMEOUT,
        echo=False,
        env=environment,
    )
    for line in lines:
        child.sendline(line)
    child.sendeof()
    child.expect(pexpect.EOF)
    output = str(child.before)
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return int(child.exitstatus), output.replace("\r\n", "\n")


@pytest.mark.parametrize("mode", MODES)
def test_version(mode: str) -> None:
    status, output = run_cli(mode, "--version")
    assert status == 0
    assert re.fullmatch(
        rf"pyws_shim {re.escape(pyws_shim.__version__)} \(websockets [\d.]+, CPython [\d.]+\)\n",
        output,
    ), output


@pytest.mark.parametrize("mode", MODES)
def test_piped_lines_get_every_reply_before_the_close(mode: str, servers: Servers) -> None:
    # Without --wait the client used to close at the end of the input and
    # (rightly) drop what arrived after close(): 0 to 3 of 3 replies.
    for _ in range(3):
        status, output = run_cli(mode, servers.url("/echo"), lines=["one", "two", "three"])
        assert status == 0, output
        replies = [line for line in output.splitlines() if line.startswith("< ")]
        assert replies == ["< one", "< two", "< three"], output
        assert "* close code=1000 wasClean=True" in output


@pytest.mark.parametrize("mode", MODES)
def test_execute_sends_then_waits_then_closes(mode: str, servers: Servers) -> None:
    status, output = run_cli(
        mode,
        servers.url("/echo"),
        "-x",
        "hello",
        "--execute",
        "/binary 00ff",
        "-w",
        "0.5",
        lines=["not read: -x replaces the input"],
    )
    assert status == 0, output
    assert "< hello\n< <2 bytes: 00 ff>\n" in output, output
    assert "not read" not in output
    assert output.rstrip().endswith("* close code=1000 wasClean=True"), output


@pytest.mark.parametrize("mode", MODES)
def test_execute_a_close_command(mode: str, servers: Servers) -> None:
    status, output = run_cli(mode, servers.url("/echo"), "-x", "bye", "-x", "/close 4000 done")
    assert status == 0, output
    assert "* close code=4000 reason='done' wasClean=True" in output, output


@pytest.mark.parametrize("mode", MODES)
def test_wait_ends_early_when_the_server_closes(mode: str, servers: Servers) -> None:
    url = servers.url("/close", code=4001, reason="server done")
    status, output = run_cli(mode, url, "-w", "60", "-x", "x")
    assert status == 0, output
    assert "* close code=4001 reason='server done' wasClean=True" in output, output


@pytest.mark.parametrize("mode", MODES)
def test_headers_and_origin(mode: str, servers: Servers) -> None:
    status, output = run_cli(
        mode,
        servers.url("/headers"),
        "-H",
        "X-One: 1",
        "--header",
        "X-Two:two words",
        "-H",
        "User-Agent: my-agent/2",
        "--origin",
        "https://app.example",
    )
    assert status == 0, output
    (reply,) = [line[2:] for line in output.splitlines() if line.startswith("< ")]
    headers = {name.lower(): value for name, value in json.loads(reply).items()}
    assert headers["x-one"] == "1"
    assert headers["x-two"] == "two words"
    assert headers["user-agent"] == "my-agent/2"
    assert headers["origin"] == "https://app.example"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-H", "no-colon"], "argument -H/--header: 'no-colon' is not NAME:VALUE"),
        (["-H", "Bad Name: x"], "pyws_shim: ValueError: WebSocket(): headers: invalid header name"),
        (["-H", "Host: x"], "belongs to the opening handshake"),
        (["--origin", "a\rb"], "pyws_shim: ValueError: WebSocket(): origin"),
        (["-w", "-1"], "argument -w/--wait: '-1' is not a number of seconds >= 0"),
        (["-w", "soon"], "argument -w/--wait: 'soon' is not a number of seconds"),
        (["--proxy", "ftp://127.0.0.1:21"], "invalid proxy URL 'ftp://127.0.0.1:21'"),
        (["--ca", "/nonexistent/ca.pem"], "pyws_shim: --ca /nonexistent/ca.pem: "),
    ],
)
def test_bad_option_is_status_2(mode: str, args: list[str], words: str, servers: Servers) -> None:
    status, output = run_cli(mode, servers.url("/echo"), *args)
    assert status == 2, output
    assert words in output, output


@pytest.mark.parametrize("mode", MODES)
def test_ca_trusts_a_private_ca(mode: str, servers: Servers) -> None:
    status, output = run_cli(
        mode, servers.secure_url("/echo"), "--ca", servers.ca_file, "-x", "secure"
    )
    assert status == 0, output
    assert "< secure" in output, output


@pytest.mark.parametrize("mode", MODES)
def test_proxy_option(mode: str, servers: Servers, open_proxy: ProxyProcess) -> None:
    port = int(servers.ws.rsplit(":", 1)[1])
    before = len(open_proxy.tunnels_to(port))
    status, output = run_cli(mode, servers.url("/echo"), "--proxy", open_proxy.url(), "-x", "hi")
    assert status == 0, output
    assert "< hi" in output, output
    assert open_proxy.tunnels(port, before + 1) == before + 1, open_proxy.lines


@pytest.mark.parametrize("mode", MODES)
def test_proxy_none_connects_directly(mode: str, servers: Servers) -> None:
    env = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    status, output = run_cli(mode, servers.url("/echo"), "--proxy", "none", "-x", "hi", env=env)
    assert status == 0, output
    assert "< hi" in output, output


@pytest.mark.parametrize("mode", MODES)
def test_https_proxy_variable_and_no_proxy(
    mode: str, servers: Servers, open_proxy: ProxyProcess
) -> None:
    port = int(servers.wss.rsplit(":", 1)[1])
    url = servers.secure_url("/echo")
    env = {"HTTPS_PROXY": open_proxy.url()}
    before = len(open_proxy.tunnels_to(port))
    status, output = run_cli(mode, url, "--ca", servers.ca_file, "-x", "via", env=env)
    assert status == 0, output
    assert "< via" in output, output
    assert open_proxy.tunnels(port, before + 1) == before + 1, open_proxy.lines
    # NO_PROXY: with a proxy on a closed port, the echo comes only if it is bypassed.
    env = {"HTTPS_PROXY": servers.refused.rstrip("/").replace("ws", "http")}
    status, output = run_cli(mode, url, "--ca", servers.ca_file, "-x", "no", env=env)
    assert status == 1, output
    assert "ConnectionRefusedError" in output, output
    env["NO_PROXY"] = "localhost"
    status, output = run_cli(mode, url, "--ca", servers.ca_file, "-x", "direct", env=env)
    assert status == 0, output
    assert "< direct" in output, output


@pytest.mark.parametrize("mode", MODES)
def test_refusing_proxy_is_one_line_and_status_1(
    mode: str, servers: Servers, auth_proxy: ProxyProcess
) -> None:
    status, output = run_cli(mode, servers.url("/echo"), "--proxy", auth_proxy.url())
    assert status == 1, output
    assert (
        f"pyws_shim: cannot connect to {servers.url('/echo')}: "
        "InvalidProxyStatus: proxy rejected connection: HTTP 407"
    ) in output, output
