"""The demo page (``web/``), driven in Debian's Chromium by Playwright.

The demo server (:mod:`pyws_shim.demo_server`: the echo WebSocket and the
page's files on one port) runs in this process, on a thread with its own
event loop. The page loads Pyodide from ``node_modules/pyodide`` and
pyws_shim from ``build/demo-wheels``, and runs ``pyws_shim/console.py``;
these tests type, click and read the event log and the live status, as a
user would. The page is loaded once; each test makes its own connection.

Run by ``tests/run --only web``, which first builds the wheel and sets
``PYWS_SHIM_DEMO_REQUIRED=1``: then a missing piece fails the run instead of
skipping it. Alone: ``pytest tests/test_demo_page.py`` (collected only when
named, see conftest.py). A screenshot of the page at the end goes to
``build/test-artifacts/demo-page.png``.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engines import CHROMIUM, CHROMIUM_FLAGS
from playwright.sync_api import Locator, Page, Route, expect, sync_playwright

from pyws_shim.demo_server import DemoFiles, start_server

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "build" / "test-artifacts" / "demo-page.png"
REQUIRED = os.environ.get("PYWS_SHIM_DEMO_REQUIRED") == "1"
# Pyodide's cold start in Chromium is about 2 s; each step of a test far less.
LOAD_TIMEOUT_MS = 20_000
STEP_TIMEOUT_MS = 5_000


def unavailable(reason: str) -> None:
    """Skip, or fail under tests/run, where everything must be there."""
    if REQUIRED:
        pytest.fail(f"{reason} (PYWS_SHIM_DEMO_REQUIRED=1: tests/run should have set it up)")
    pytest.skip(reason)


def check_demo_files(files: DemoFiles) -> None:
    missing = files.missing()
    if missing:
        unavailable(f"the demo page needs {', '.join(missing)}: run ./tests/run --only web")
    wheel = files.wheel()
    assert wheel is not None
    sources = [ROOT / "pyproject.toml", *(ROOT / "pyws_shim").glob("*.py")]
    newest = max(sources, key=lambda path: path.stat().st_mtime)
    if newest.stat().st_mtime > wheel.stat().st_mtime:
        unavailable(
            f"{wheel.relative_to(ROOT)} is older than {newest.relative_to(ROOT)}: "
            "run ./tests/run --only web, which rebuilds it"
        )
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (tests/run does)")


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    """The demo server, on a thread of its own; yields the page's URL."""
    files = DemoFiles(ROOT)
    check_demo_files(files)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="demo server", daemon=True)
    thread.start()
    try:
        started = asyncio.run_coroutine_threadsafe(start_server("127.0.0.1", 0, files), loop)
        server, echo_url = started.result(timeout=10)
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/echo", echo_url), echo_url
        yield echo_url.replace("ws://", "http://").removesuffix("echo")

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@dataclass
class LoadedPage:
    page: Page
    errors: list[str] = field(default_factory=list)  # uncaught, in the page
    requests: list[str] = field(default_factory=list)  # every URL the page asked for


@pytest.fixture(scope="module")
def loaded_page(page_url: str) -> Iterator[LoadedPage]:
    """The page in headless Chromium, loaded once: Pyodide and pyws_shim in.

    Takes the screenshot when the module is done (after a failure too)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            loaded = LoadedPage(browser.new_page(viewport={"width": 1280, "height": 900}))
            page = loaded.page
            page.on("pageerror", lambda error: loaded.errors.append(f"uncaught: {error}"))
            page.on("request", lambda request: loaded.requests.append(request.url))
            # The loading indicator shows until Pyodide and pyws_shim are in:
            # hold Pyodide's WebAssembly back until the test has seen it (on a
            # fast machine the page would otherwise be ready before it looks).
            held: list[Route] = []

            def hold(route: Route) -> None:
                held.append(route)

            page.route("**/pyodide.asm.wasm", hold)
            page.goto(page_url, wait_until="domcontentloaded")
            expect(page.locator("#loading")).to_be_visible()
            for _ in range(LOAD_TIMEOUT_MS // 50):
                if held:
                    break
                page.wait_for_timeout(50)
            assert held, "the page never asked for pyodide.asm.wasm"
            held[0].continue_()
            page.unroute("**/pyodide.asm.wasm")
            expect(page.locator("body")).to_have_attribute(
                "data-state", "ready", timeout=LOAD_TIMEOUT_MS
            )
            expect(page.locator("#loading")).to_be_hidden()
            yield loaded
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()


@pytest.fixture
def page(loaded_page: LoadedPage) -> Iterator[Page]:
    """The loaded page; after each test, no uncaught error and no page-error line."""
    page, errors = loaded_page.page, loaded_page.errors
    page_errors = page.locator('#log li[data-kind="page-error"] .text')
    seen_errors, seen_lines = len(errors), page_errors.count()
    yield page
    assert errors[seen_errors:] == []
    assert page_errors.all_inner_texts()[seen_lines:] == []


@pytest.fixture(scope="module")
def echo_url(page_url: str) -> str:
    return page_url.replace("http://", "ws://") + "echo"


# Reading the page.


def log_entries(page: Page, connection: int, kind: str | None = None) -> Locator:
    """The text of the log's lines for one connection (of one kind)."""
    selector = f'#log li[data-connection="{connection}"]'
    if kind is not None:
        selector += f'[data-kind="{kind}"]'
    return page.locator(f"{selector} .text")


def log_kinds(page: Page, connection: int) -> list[str]:
    """The kinds of one connection's lines, in the order they were logged."""
    lines = page.locator(f'#log li[data-connection="{connection}"]')
    return [str(lines.nth(i).get_attribute("data-kind")) for i in range(lines.count())]


def expect_ready_state(page: Page, shown: str) -> None:
    expect(page.locator("#ready-state")).to_have_text(shown, timeout=STEP_TIMEOUT_MS)


# Driving it.


def connect(page: Page, url: str) -> int:
    """Enter url, click Connect; the number the page gave the connection."""
    page.locator("#url").fill(url)
    page.locator("#connect").click()
    latest = page.locator("#log").get_attribute("data-latest-connection")
    assert latest is not None
    return int(latest)


def connect_to_echo(page: Page, url: str) -> int:
    number = connect(page, url)
    expect(log_entries(page, number, "open")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    expect_ready_state(page, "1 OPEN")
    return number


def close_with(page: Page, code: str, reason: str = "") -> None:
    page.locator("#close-code").fill(code)
    page.locator("#close-reason").fill(reason)
    page.locator("#close").click()


def refused_port() -> int:
    """A loopback port nothing listens on (a high one: Chromium blocks some low ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The tests.


def test_everything_comes_from_the_local_server(
    page: Page, loaded_page: LoadedPage, page_url: str
) -> None:
    # Pyodide from node_modules, pyws_shim from its wheel: no CDN, nothing else.
    requested = {url.removeprefix(page_url) for url in loaded_page.requests}
    assert {
        "",  # the page itself
        "web/app.js",
        "web/style.css",
        "config.json",
        "source/console.py",
        "pyodide/pyodide.mjs",
        "pyodide/pyodide.asm.wasm",
        "pyodide/python_stdlib.zip",
    } <= requested
    assert any(re.fullmatch(r"wheels/pyws_shim-.+-py3-none-any\.whl", url) for url in requested)
    assert [url for url in loaded_page.requests if not url.startswith(page_url)] == []


def test_page_loads_and_connects_to_the_echo_server(page: Page, echo_url: str) -> None:
    # On load, the page connects at once to the echo server, its default URL.
    expect(page.locator("#url")).to_have_value(echo_url)
    expect(log_entries(page, 1, "info").first).to_have_text(f"connecting to {echo_url}")
    expect(log_entries(page, 1, "open")).to_have_text(
        re.compile(r"^open extensions='permessage-deflate"), timeout=STEP_TIMEOUT_MS
    )
    expect_ready_state(page, "1 OPEN")
    expect(page.locator("#buffered-amount")).to_have_text("0")
    expect(page.locator("#runtime")).to_contain_text("Pyodide 314.")
    expect(page.locator("#message")).to_be_focused()


def test_typed_text_is_sent_and_echoed(page: Page, echo_url: str) -> None:
    number = connect_to_echo(page, echo_url)
    message = page.locator("#message")
    message.press_sequentially("hello")
    message.press("Enter")
    expect(log_entries(page, number, "sent")).to_have_text(["hello"])
    expect(log_entries(page, number, "message")).to_have_text(["hello"], timeout=STEP_TIMEOUT_MS)
    expect(message).to_have_value("")  # ready for the next one
    # The Send button does the same.
    message.fill("héllo again ✓")
    page.locator("#send").click()
    expect(log_entries(page, number, "message")).to_have_text(["hello", "héllo again ✓"])
    assert log_kinds(page, number) == ["info", "open", "sent", "message", "sent", "message"]


def test_binary_is_sent_and_echoed_as_hex(page: Page, echo_url: str) -> None:
    number = connect_to_echo(page, echo_url)
    page.locator("#hex").fill("00ff10")
    page.locator("#send-binary").click()
    expect(log_entries(page, number, "sent")).to_have_text(["<3 bytes: 00 ff 10>"])
    expect(log_entries(page, number, "message")).to_have_text(
        ["<3 bytes: 00 ff 10>"], timeout=STEP_TIMEOUT_MS
    )
    # Not hex: the ValueError of bytes.fromhex, and nothing sent.
    page.locator("#hex").fill("0g")
    page.locator("#send-binary").click()
    expect(log_entries(page, number, "exception")).to_have_text(
        [re.compile(r"^ValueError: non-hexadecimal number")]
    )
    expect(log_entries(page, number, "sent")).to_have_count(1)


def test_commands_typed_in_the_message_field(page: Page, echo_url: str) -> None:
    # The message field takes console.py's commands, as the terminal client does.
    number = connect_to_echo(page, echo_url)
    message = page.locator("#message")
    message.fill("/binary 00ff")
    message.press("Enter")
    expect(log_entries(page, number, "message")).to_have_text(
        ["<2 bytes: 00 ff>"], timeout=STEP_TIMEOUT_MS
    )
    message.fill("/help")
    message.press("Enter")
    expect(log_entries(page, number, "info").last).to_contain_text("/close [CODE [REASON]]")
    message.fill("/close 4001 typed")
    message.press("Enter")
    expect(log_entries(page, number, "close")).to_have_text(
        ["close code=4001 reason='typed' wasClean=True"], timeout=STEP_TIMEOUT_MS
    )
    expect_ready_state(page, "3 CLOSED")


def test_buffered_amount_is_shown_live(page: Page, echo_url: str) -> None:
    number = connect_to_echo(page, echo_url)
    # Record every value the status shows, then send 256 KiB: bufferedAmount
    # grows in send() and falls back to 0 once the bytes are on the network.
    page.evaluate(
        """() => {
            const shown = document.getElementById("buffered-amount");
            window.bufferedSeen = [];
            new MutationObserver(() => window.bufferedSeen.push(Number(shown.textContent)))
                .observe(shown, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.locator("#hex").fill("ab" * 2**18)
    page.locator("#send-binary").click()
    expect(log_entries(page, number, "message")).to_have_text(
        [re.compile(r"^<262144 bytes: ab ab .* \(262144 bytes\)>$")], timeout=STEP_TIMEOUT_MS
    )
    expect(page.locator("#buffered-amount")).to_have_text("0")
    page.locator("#hex").fill("")
    seen = page.evaluate("window.bufferedSeen")
    assert seen[0] == 2**18  # shown right after send(), before any byte left
    assert seen[-1] == 0
    assert all(0 <= value <= 2**18 for value in seen)


def test_bad_close_code_shows_the_shims_domexception(page: Page, echo_url: str) -> None:
    number = connect_to_echo(page, echo_url)
    close_with(page, "999", "too low")
    expect(log_entries(page, number, "exception")).to_have_text(
        [re.compile(r"^InvalidAccessError: .*999")]
    )
    page.wait_for_timeout(200)  # two polls of the status: still open
    expect_ready_state(page, "1 OPEN")
    assert log_entries(page, number, "close").count() == 0
    # A reason over 123 UTF-8 bytes: SyntaxError; the socket is still usable.
    close_with(page, "4000", "é" * 62)
    expect(log_entries(page, number, "exception").nth(1)).to_have_text(
        re.compile(r"^SyntaxError: ")
    )
    page.locator("#message").fill("still open")
    page.locator("#message").press("Enter")
    expect(log_entries(page, number, "message")).to_have_text(
        ["still open"], timeout=STEP_TIMEOUT_MS
    )
    expect_ready_state(page, "1 OPEN")


def test_close_with_code_and_reason(page: Page, echo_url: str) -> None:
    number = connect_to_echo(page, echo_url)
    close_with(page, "4000", "bye")
    expect(log_entries(page, number, "close")).to_have_text(
        ["close code=4000 reason='bye' wasClean=True"], timeout=STEP_TIMEOUT_MS
    )
    expect_ready_state(page, "3 CLOSED")
    assert log_kinds(page, number) == ["info", "open", "info", "close"]
    expect(log_entries(page, number, "info").nth(1)).to_have_text("closing")
    # Sending once closed is no error (the DOM counts the bytes, sends nothing).
    page.locator("#message").fill("too late")
    page.locator("#message").press("Enter")
    expect(page.locator("#buffered-amount")).to_have_text("8")
    expect_ready_state(page, "3 CLOSED")


def test_bad_url_shows_the_shims_syntaxerror(page: Page, echo_url: str) -> None:
    number = connect_to_echo(page, echo_url)
    bad = connect(page, "ftp://x")
    assert bad == number + 1
    expect(log_entries(page, bad)).to_have_text(
        [re.compile(r"^SyntaxError: .*'ftp'")]  # the DOMException's name and message
    )
    assert log_kinds(page, bad) == ["exception"]
    # The connection that was there stays, and still works.
    expect_ready_state(page, "1 OPEN")
    page.locator("#message").fill("after a bad URL")
    page.locator("#message").press("Enter")
    expect(log_entries(page, number, "message")).to_have_text(
        ["after a bad URL"], timeout=STEP_TIMEOUT_MS
    )


def test_refused_connection_fires_error_then_close(page: Page) -> None:
    port = refused_port()
    number = connect(page, f"ws://127.0.0.1:{port}/")
    expect(log_entries(page, number, "close")).to_have_text(
        ["close code=1006 wasClean=False"], timeout=STEP_TIMEOUT_MS
    )
    assert log_kinds(page, number) == ["info", "error", "close"]
    expect(log_entries(page, number, "error")).to_have_text(["error: the connection failed"])
    expect_ready_state(page, "3 CLOSED")


def test_connect_again_closes_the_previous_connection(page: Page, echo_url: str) -> None:
    first = connect_to_echo(page, echo_url)
    second = connect_to_echo(page, echo_url)
    assert second == first + 1
    # The replaced socket is closed (and so lets go of its proxies); its last
    # events keep its number.
    expect(log_entries(page, first, "close")).to_have_text(
        ["close code=1000 reason='replaced by a new connection' wasClean=True"],
        timeout=STEP_TIMEOUT_MS,
    )
    for _ in range(3):
        connect_to_echo(page, echo_url)
    expect(log_entries(page, second + 2, "close")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    page.locator("#message").fill("last")
    page.locator("#message").press("Enter")
    expect(log_entries(page, second + 3, "message")).to_have_text(["last"], timeout=STEP_TIMEOUT_MS)
    assert log_entries(page, second + 2, "message").count() == 0


def test_the_page_shows_console_py(page: Page) -> None:
    source = (ROOT / "pyws_shim" / "console.py").read_text(encoding="utf-8")
    assert page.locator("#source-code").text_content() == source
    caption = page.locator("#source-card figcaption")
    expect(caption).to_contain_text("pyws_shim/console.py")
    expect(caption).to_contain_text("python -m pyws_shim URL")


def test_a_whole_session(page: Page, echo_url: str) -> None:
    # The README's tour, in one go on a cleared log: what the screenshot shows.
    page.locator("#clear-log").click()
    expect(page.locator("#log li")).to_have_count(0)
    number = connect_to_echo(page, echo_url)
    page.locator("#message").press_sequentially("hello")
    page.locator("#message").press("Enter")
    expect(log_entries(page, number, "message")).to_have_text(["hello"], timeout=STEP_TIMEOUT_MS)
    page.locator("#hex").fill("00ff10")
    page.locator("#hex").press("Enter")
    expect(log_entries(page, number, "message")).to_have_text(
        ["hello", "<3 bytes: 00 ff 10>"], timeout=STEP_TIMEOUT_MS
    )
    close_with(page, "999")
    expect(log_entries(page, number, "exception")).to_have_text(
        [re.compile(r"^InvalidAccessError: ")]
    )
    expect_ready_state(page, "1 OPEN")
    close_with(page, "4000", "bye")
    expect(log_entries(page, number, "close")).to_have_text(
        ["close code=4000 reason='bye' wasClean=True"], timeout=STEP_TIMEOUT_MS
    )
    expect_ready_state(page, "3 CLOSED")
    bad = connect(page, "ftp://x")
    expect(log_entries(page, bad)).to_have_text([re.compile(r"^SyntaxError: ")])
    refused = connect(page, f"ws://127.0.0.1:{refused_port()}/")
    expect(log_entries(page, refused, "close")).to_have_text(
        ["close code=1006 wasClean=False"], timeout=STEP_TIMEOUT_MS
    )
    assert log_kinds(page, number) == [
        "info", "open", "sent", "message", "sent", "message", "exception", "info", "close",
    ]  # fmt: skip
    assert log_kinds(page, refused) == ["info", "error", "close"]
    page.locator("#url").fill(echo_url)  # as a user would leave it
