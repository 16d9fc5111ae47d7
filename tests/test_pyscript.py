"""pyws_shim in PyScript, and installed with micropip, offline, in Chromium.

PyScript (npm ``@pyscript/core``, pinned in package.json) runs on the npm
Pyodide of ``build/pyodide-dist`` (``tests/pyodide_dist.py``: Pyodide's files,
micropip's wheel from PyPI, pyws_shim's wheel, all in its
``pyodide-lock.json``). A local HTTP server serves a site made of
``node_modules/@pyscript/core/dist`` at ``/core/``, that distribution at
``/pyodide/`` and the pages of ``tests/pyscript/`` at ``/page/``, with their
PyScript configurations written here (``interpreter``: the local
``pyodide.mjs``; ``packages``: the wheel's URL). Debian's Chromium (headless,
Playwright, launched as in conftest.py) opens:

- ``index.html``: PyScript installs pyws_shim from its wheel (the
  ``packages`` of its configuration) and the page's Python does a text and
  a binary round trip with the loopback echo server, then closes;
- ``micropip.html``: the page's Python fetches the wheel, writes it into
  Pyodide's file system and installs it with
  ``micropip.install("emfs:/tmp/...")``, as a JupyterLite user would, then
  does a round trip;
- ``client.html``: the README's ``pyws_shim.client`` program (written for
  websockets, its import changed), unchanged but for the echo server's
  address, runs as the page's script and prints what it prints in CPython.

Every request that leaves 127.0.0.1 is refused and recorded, so the test
also proves the page needs no CDN. Run by ``tests/run --only pyscript``
(``PYWS_SHIM_PYSCRIPT_REQUIRED=1``: a missing piece fails instead of
skipping); alone: ``pytest tests/test_pyscript.py`` (collected only when named).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from engines import CHROMIUM, CHROMIUM_FLAGS
from scenarios import Servers

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "build" / "pyodide-dist"
CORE = ROOT / "node_modules" / "@pyscript" / "core" / "dist"
PAGES = Path(__file__).resolve().parent / "pyscript"
REQUIRED = os.environ.get("PYWS_SHIM_PYSCRIPT_REQUIRED") == "1"
SET_UP = "run ./tests/run --only pyscript"
PAGE_TIMEOUT_MS = 90_000  # PyScript, Pyodide and the wheels load in about 5 s
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".map": "application/json",
}


def unavailable(reason: str) -> None:
    """Skip, or fail under tests/run, where everything must be there."""
    if REQUIRED:
        pytest.fail(f"{reason} (PYWS_SHIM_PYSCRIPT_REQUIRED=1: tests/run should have set it up)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def wheel() -> str:
    """The file name of pyws_shim's wheel in the distribution (and the lock)."""
    lock = DIST / "pyodide-lock.json"
    if not lock.is_file():
        unavailable(f"{lock.relative_to(ROOT)} is missing: {SET_UP}")
    packages = json.loads(lock.read_text(encoding="utf-8"))["packages"]
    if "pyws-shim" not in packages or "micropip" not in packages:
        unavailable(f"{lock.relative_to(ROOT)} lacks pyws_shim or micropip: {SET_UP}")
    for name in ("pyws-shim", "micropip"):
        if not (DIST / packages[name]["file_name"]).is_file():
            unavailable(f"{packages[name]['file_name']} is not in {DIST}: {SET_UP}")
    if not (CORE / "core.js").is_file():
        unavailable(f"{CORE.relative_to(ROOT)} is missing: npm ci ({SET_UP})")
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (tests/run does)")
    return str(packages["pyws-shim"]["file_name"])


@pytest.fixture(scope="module")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the site's files are."""
    return tmp_path_factory.mktemp("pyscript-site")


@pytest.fixture(scope="module")
def site(wheel: str, site_root: Path) -> Iterator[str]:
    """The site on a loopback HTTP server; yields its base URL."""
    root = site_root
    (root / "core").symlink_to(CORE, target_is_directory=True)
    (root / "pyodide").symlink_to(DIST, target_is_directory=True)
    page = root / "page"
    page.mkdir()
    for html in PAGES.glob("*.html"):
        (page / html.name).write_bytes(html.read_bytes())
    interpreter = "/pyodide/pyodide.mjs"
    (page / "pyscript.json").write_text(
        json.dumps({"interpreter": interpreter, "packages": [f"/pyodide/{wheel}"]})
    )
    (page / "micropip.json").write_text(
        json.dumps({"interpreter": interpreter, "packages": ["micropip"]})
    )
    handler = type(
        "SiteHandler",
        (SimpleHTTPRequestHandler,),
        {
            "extensions_map": MIME_TYPES,
            "log_message": lambda self, *args: None,
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="pyscript site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (tests/run installs the dev group)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def open_page(
    browser: Any, url: str, last_message: str | None = None
) -> tuple[str, list[str], list[str]]:
    """Load ``url``; the text of ``#result`` once the page's Python wrote it
    (and, given ``last_message``, once the console has shown it), the
    console's messages, and the requests that tried to leave loopback."""
    context = browser.new_context()
    page = context.new_page()
    messages: list[str] = []
    outside: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))

    def route(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    try:
        page.goto(url)
        try:
            page.wait_for_function(
                "document.getElementById('result').textContent !== 'loading'",
                timeout=PAGE_TIMEOUT_MS,
            )
        except Exception as exc:
            raise AssertionError(
                f"the page's Python did not finish: {exc}\n" + "\n".join(messages[-30:])
            ) from None
        result = page.inner_text("#result")
        # A script that awaits (asyncio.run, through JavaScript Promise
        # Integration) can still be running when the next script has run.
        waited = 0
        while last_message is not None and f"log: {last_message}" not in messages:
            if waited >= PAGE_TIMEOUT_MS:
                raise AssertionError(
                    f"the console never showed {last_message!r}:\n" + "\n".join(messages[-30:])
                )
            page.wait_for_timeout(100)
            waited += 100
    finally:
        context.close()
    return result, messages, outside


def test_pyscript_page_installs_the_wheel_and_round_trips(
    browser: Any, site: str, servers: Servers
) -> None:
    url = f"{site}/page/index.html?" + urlencode({"echo": servers.url("/echo")})
    result, messages, outside = open_page(browser, url)
    assert result == ("text='hello from PyScript' binary=b'\\x00\\xff' code=1000 wasClean=True"), (
        "\n".join([result, *messages])
    )
    assert outside == [], f"the page reached beyond loopback: {outside}"


def test_micropip_installs_the_wheel_from_emfs_and_round_trips(
    browser: Any, site: str, servers: Servers, wheel: str
) -> None:
    import pyws_shim

    url = f"{site}/page/micropip.html?" + urlencode({"echo": servers.url("/echo"), "wheel": wheel})
    result, messages, outside = open_page(browser, url)
    assert result == (
        f"text='hello from micropip' code=1000 wasClean=True "
        f"installed={pyws_shim.__version__} source=emfs:/tmp/{wheel}"
    ), "\n".join([result, *messages])
    assert outside == [], f"the page reached beyond loopback: {outside}"


def test_the_readme_websockets_program_runs_unchanged_in_a_page(
    browser: Any, site: str, site_root: Path, servers: Servers
) -> None:
    from test_readme import client_program

    program, url = client_program()
    page = site_root / "page"
    (page / "client_example.py").write_text(program.replace(url, servers.url("/echo")))
    result, messages, outside = open_page(
        browser, f"{site}/page/client.html", last_message="closed with code 1000"
    )
    printed = [m.removeprefix("log: ") for m in messages if m.startswith("log: ")]
    assert result == "done", "\n".join([result, *messages])
    assert printed[-5:] == ["hello", "one", "two", "three", "closed with code 1000"], messages
    assert outside == [], f"the page reached beyond loopback: {outside}"
