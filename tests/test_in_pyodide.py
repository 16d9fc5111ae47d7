"""Every scenario of ``tests/scenarios`` run inside Pyodide: in Node.js and in Chromium.

The same scenario functions as ``tests/test_scenarios.py`` (CPython), against
the same loopback servers (the session's ``servers`` fixture), with
pyws_shim loaded in Pyodide from the project's wheel in the test
distribution (``tests/pyodide_dist.py``). pytest-pyodide's ``runtime``
fixture gives the runtime (``--rt node`` or ``--rt chrome``); a scenario
whose ``skip`` names it (``"node"``, ``"chromium"``) is skipped there with
its own reason. See ``tests/conftest.py`` for the command line.

One Pyodide per runtime serves the whole module (pytest-pyodide's
module-scoped ``selenium`` fixture): the scenario sources are written into
its file system once (at the same path as here, with pytest's assertion
rewriting), then each test runs one scenario in it. An exception
raised inside Pyodide (a failed ``assert`` included) is raised again here,
with its traceback, and fails the test.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

import pytest
from pytest_pyodide import run_in_pyodide
from scenarios import Scenario, Servers, load_all

SCENARIO_TIMEOUT = 60.0  # inside Pyodide, as in tests/test_scenarios.py
DRIVER_TIMEOUT = SCENARIO_TIMEOUT + 30  # the host gives up on the runtime after this
SCENARIOS_DIR = Path(__file__).parent / "scenarios"
# pytest-pyodide's runtime names -> the scenario registry's.
RUNTIME_NAMES = {"node": "node", "chrome": "chromium"}

ALL = load_all()

P = ParamSpec("P")
R = TypeVar("R")


class _InPyodide(Protocol):
    @overload
    def __call__(self, function: Callable[P, Coroutine[Any, Any, R]], /) -> Callable[P, R]: ...
    @overload
    def __call__(self, function: Callable[P, R], /) -> Callable[P, R]: ...


def in_pyodide(*packages: str) -> _InPyodide:
    """``run_in_pyodide`` (untyped), typed: the function's body runs in Pyodide,
    after ``packages`` are loaded there; an async body is awaited there.

    Its first argument is the runtime (a pytest-pyodide "selenium" fixture);
    the others are pickled across, and so is the result or the exception.
    The body sees nothing of this module: it imports what it uses.
    """
    return cast(_InPyodide, run_in_pyodide(packages=list(packages)))


@in_pyodide()
def _install_scenarios(selenium: Any, installer: str, files: dict[str, str], root: str) -> None:
    """Install the scenarios package with ``tests/scenarios_install.py``
    (``installer`` is its source), as the web worker run does."""
    import sys
    from pathlib import Path

    path = Path(root) / "scenarios_install.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(installer, encoding="utf-8")
    sys.path.insert(0, str(path.parent))
    import scenarios_install

    scenarios_install.install(files, root)


@in_pyodide("pyws_shim")
async def _run_scenario(
    selenium: Any, name: str, servers: dict[str, str], runtime: str, seconds: float
) -> None:
    import asyncio

    from scenarios import Servers, current_runtime, load_all

    assert current_runtime() == runtime, f"running in {current_runtime()}, not {runtime}"
    case = load_all()[name]
    await asyncio.wait_for(case.function(Servers(**servers)), seconds)


@pytest.fixture(scope="module")
def pyodide_runtime(selenium_module_scope: Any) -> Any:
    """The module's Pyodide, with the scenarios package importable.

    The sources go to the same absolute path as on the host, so the
    tracebacks of failures inside Pyodide show the scenarios' source lines.
    """
    # The Node driver waits for an answer this long (pexpect's timeout, 60 s
    # by default) whatever the script timeout says.
    if hasattr(selenium_module_scope, "p"):
        selenium_module_scope.p.timeout = DRIVER_TIMEOUT
    files = {path.name: path.read_text(encoding="utf-8") for path in SCENARIOS_DIR.glob("*.py")}
    installer = (SCENARIOS_DIR.parent / "scenarios_install.py").read_text(encoding="utf-8")
    _install_scenarios(selenium_module_scope, installer, files, str(SCENARIOS_DIR.parent))
    return selenium_module_scope


@pytest.mark.driver_timeout(DRIVER_TIMEOUT)
@pytest.mark.parametrize("case", list(ALL.values()), ids=list(ALL))
def test_scenario(
    selenium: Any, pyodide_runtime: Any, runtime: str, case: Scenario, servers: Servers
) -> None:
    name = RUNTIME_NAMES[runtime]
    if name in case.skip:
        pytest.skip(case.skip[name])
    _run_scenario(selenium, case.name, asdict(servers), name, SCENARIO_TIMEOUT)
