"""Fixtures shared by the whole suite.

A plain ``pytest`` runs the suite in CPython. ``tests/test_in_engines.py``
runs the same scenarios inside Pyodide, in one engine of
``tests/engines.py``'s table (Node.js 24 and 22, Deno, Bun, a Chromium,
Firefox or WebKit page or Web Worker), as ``tests/run`` does::

    pytest tests/test_in_engines.py --engine firefox

It and ``tests/test_demo_page.py`` (the demo page in Chromium, tests/run's
``web`` stage) are collected only when named on the command line: they
need browsers, npm's engines and ``build/pyodide-dist``. So are
``tests/test_autobahn.py`` (Autobahn|Testsuite's fuzzingserver, tests/run's
``autobahn`` and ``autobahn-full`` stages) and ``tests/test_load.py`` (the
load test, tests/run's ``load`` stage).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis checks how fast it generates inputs, and each example against a
# deadline: measured by coverage, on a shared 2-core machine, both fail for
# reasons that are not the code's (the suite checks what is generated, never
# how fast).
settings.register_profile("pyws_shim", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("pyws_shim")

# The scenarios package and the servers are imported as top-level modules,
# the way the Pyodide runs import them too.
sys.path.insert(0, str(Path(__file__).parent))
# Their plain asserts show their values when they fail, as in test modules
# (tests/scenarios_install.py does the same inside Pyodide).
pytest.register_assert_rewrite("scenarios")

from faultpeer import FaultPeer  # noqa: E402
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

DEMO_PAGE_TESTS = "test_demo_page.py"
ENGINE_TESTS = "test_in_engines.py"
PYSCRIPT_TESTS = "test_pyscript.py"
# Autobahn|Testsuite (tests/run's autobahn stages) and the load test: their own runs.
OWN_RUN_TESTS = ("test_autobahn.py", "test_load.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    from engines import ENGINES

    parser.addoption(
        "--engine",
        choices=list(ENGINES),
        default=None,
        help=f"the engine {ENGINE_TESTS} runs the scenarios in (tests/engines.py)",
    )


def is_named(collection_path: Path, config: pytest.Config) -> bool:
    """Whether ``collection_path`` was named on the command line (``FILE`` or ``FILE::test``)."""
    start = config.invocation_params.dir
    return any(
        (start / arg.split("::", 1)[0]).resolve() == collection_path.resolve()
        for arg in config.invocation_params.args
        if not arg.startswith("-")
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The demo page and the engine runs need browsers, npm's engines and a
    # Pyodide distribution: they run on their own.
    if collection_path.name in (DEMO_PAGE_TESTS, ENGINE_TESTS) and not is_named(
        collection_path, config
    ):
        return True
    if collection_path.name in OWN_RUN_TESTS and not is_named(collection_path, config):
        return True
    # PyScript and micropip in Chromium need build/pyodide-dist too (tests/run's pyscript stage).
    if collection_path.name == PYSCRIPT_TESTS and not is_named(collection_path, config):
        return True
    return None


# Lines a test module adds to the end of the terminal report (test_in_engines.py: each
# engine's run, its load time and timings).
SUMMARY_LINES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The loopback servers and the fault-injection peer, started once for the session."""
    loopback = LoopbackServers()
    urls = loopback.start()
    try:
        peer = FaultPeer()
        urls.update(peer.start())
        try:
            yield Servers(**urls)
        finally:
            peer.stop()
    finally:
        loopback.stop()
