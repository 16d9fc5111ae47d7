"""Every scenario of ``tests/scenarios`` run inside Pyodide, in one engine.

``--engine NAME`` names the engine, one of ``tests/engines.py``'s table:
``node24``, ``node22``, ``deno``, ``bun`` (scripts), ``chrome``,
``firefox``, ``webkit`` (a browser page) and ``chrome-worker``,
``firefox-worker``, ``webkit-worker`` (a module Web Worker)::

    pytest tests/test_in_engines.py --engine firefox-worker

The selected scenarios (all, or those ``-k`` picks) run once in the engine,
in the module-scoped ``engine_run`` fixture (one Pyodide for the whole run);
then one test per scenario reports that scenario's result there: passed,
failed with the traceback from inside Pyodide, or skipped with the
scenario's reason for that engine's runtime (its ``skip`` for ``"node"``,
``"chromium"``, ``"firefox"``, ``"webkit"``, ``"deno"`` or ``"bun"``; a
browser's worker shares its page's key). ``test_host`` checks that the
host really is what the engine table says.

Under ``tests/run`` (``PYWS_SHIM_ENGINES_REQUIRED=1``) a missing piece (a
browser, the distribution) fails the run; alone, it skips.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import SUMMARY_LINES
from engines import ENGINES, Engine, Run, Unavailable, run, tools_version
from scenarios import Servers, load_all
from scenarios._support import MS

REQUIRED = os.environ.get("PYWS_SHIM_ENGINES_REQUIRED") == "1"

ALL = load_all()


@pytest.fixture(scope="module")
def engine(request: pytest.FixtureRequest) -> Engine:
    name = request.config.getoption("engine")
    if name is None:
        raise pytest.UsageError(
            f"{Path(__file__).name} needs --engine, one of {', '.join(ENGINES)}"
        )
    return ENGINES[name]


def selected(request: pytest.FixtureRequest) -> list[str]:
    """The scenarios whose tests this session runs (all, unless -k or a node id
    selects some), in the registry's order."""
    chosen = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.path.name == Path(__file__).name and hasattr(item, "callspec")
    }
    return [name for name in ALL if name in chosen]


@pytest.fixture(scope="module")
def engine_run(request: pytest.FixtureRequest, engine: Engine, servers: Servers) -> Iterator[Run]:
    """The selected scenarios, run once in the engine; their results."""
    try:
        result = run(engine, asdict(servers), selected(request))
    except Unavailable as exc:
        if REQUIRED:
            pytest.fail(f"{exc} (PYWS_SHIM_ENGINES_REQUIRED=1: tests/run sets it up)")
        pytest.skip(str(exc))
    yield result
    request.config.stash.setdefault(SUMMARY_LINES, []).append(
        f"{result.summary()} ({tools_version(engine)})"
    )


def test_host(engine_run: Run, engine: Engine) -> None:
    """The host is what the engine table says: its runtime, and a page, a
    dedicated Web Worker or a script; Pyodide came from the local server; the
    scenarios' timing unit there is the one here."""
    facts = engine_run.facts
    if facts is None:
        pytest.fail(engine_run.broke_off(), pytrace=False)
    assert facts["runtime"] == engine.runtime, facts
    assert facts["ms"] == MS, "the timing factor did not reach the host"
    if engine.host == "page":
        assert facts["has_document"] is True, facts
        assert facts["global_scope"] == "Window", facts
        assert str(facts["base_url"]).split("?")[0].endswith("/host/index.html"), facts
    elif engine.host == "worker":
        assert facts["has_document"] is False, facts
        assert facts["has_window"] is False, facts
        assert facts["is_worker"] is True, facts
        assert facts["global_scope"] == "DedicatedWorkerGlobalScope", facts
        assert str(facts["location"]).endswith("/host/host.mjs"), facts
        # The API base URL of a worker is its own URL.
        assert facts["base_url"] == facts["location"], facts
    else:
        assert facts["has_document"] is False, facts
        assert facts["is_in_node"] is True, facts  # Deno and Bun say "node" too
        assert facts["base_url"] is None, facts
        assert engine.runtime in facts["versions"], facts
    if engine.host != "script":
        # Pyodide and the wheels came from the local server (no CDN).
        assert "/pyodide/pyodide.asm.wasm" in engine_run.requests, engine_run.requests
        assert "/host/host.mjs" in engine_run.requests, engine_run.requests
    assert "/host/runner.py" in engine_run.requests, engine_run.requests


def test_coverage_came_back(engine_run: Run) -> None:
    """When this process is measured (tests/run measures every stage), the engine
    was measured too, and its data came back: with branches, and with the lines of
    the Pyodide backend, which runs nowhere else."""
    if not engine_run.measured:
        pytest.skip("this pytest process is not measured by coverage (tests/run measures it)")
    if engine_run.coverage_file is None:
        pytest.fail("no coverage data came back: " + engine_run.broke_off(), pytrace=False)
    from coverage import CoverageData

    data = CoverageData(str(engine_run.coverage_file))
    data.read()
    assert data.has_arcs()
    (backend,) = (
        path
        for path in data.measured_files()
        if path.endswith("/site-packages/pyws_shim/backends/pyodide.py")
    )
    # Not only its module-level lines (imported): its connection at work.
    ran = set(data.lines(backend) or ())
    first_lines = first_body_lines(BACKEND_SOURCE)
    at_work = ["connect", "send", "_native_open", "_native_message", "_native_close"]
    assert {name: first_lines[name] in ran for name in at_work} == dict.fromkeys(at_work, True)


# The Pyodide backend's source, as the distribution's wheel holds it (built from it).
BACKEND_SOURCE = Path(__file__).resolve().parent.parent / "pyws_shim/backends/pyodide.py"


def first_body_lines(path: Path) -> dict[str, int]:
    """The line of the first statement after the docstring of each function in
    ``path``, by name."""
    lines = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            lines[node.name] = body[0].lineno
    return lines


@pytest.mark.parametrize("name", list(ALL), ids=list(ALL))
def test_scenario(engine_run: Run, engine: Engine, name: str) -> None:
    result = engine_run.results.get(name)
    if result is None:
        pytest.fail(engine_run.broke_off(name), pytrace=False)
    expected_skip = ALL[name].skip.get(engine.runtime)
    if result["outcome"] == "skipped":
        assert result["message"] == expected_skip, "the host skipped it for another reason"
        pytest.skip(result["message"])
    assert expected_skip is None, f"the host ran it, but it says: skip {expected_skip!r}"
    if result["outcome"] != "passed":
        output = result["output"]
        captured = f"\n---- its output in {engine.name} ----\n{output}" if output else ""
        pytest.fail(
            f"in {engine.name} (after {result['seconds']} s):\n{result['message']}{captured}",
            pytrace=False,
        )
