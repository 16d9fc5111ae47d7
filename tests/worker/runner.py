"""Runs the scenarios of ``tests/scenarios`` inside Pyodide, in a Web Worker.

``tests/worker/worker.mjs`` loads Pyodide and pyws_shim in a module Web
Worker, writes this file into Pyodide's file system and calls :func:`run`
with the configuration ``tests/test_in_worker.py`` sent: the scenario
sources, where to put them, the loopback servers' URLs, the scenarios to run
and the timeout of each. Each result goes back at once, as a JSON text,
through ``report``:

* ``{"type": "worker-check", "outcome": ..., "message": ..., "facts": {...}}``
  first: whether this really is a dedicated worker (no ``document``, ``self``
  a ``WorkerGlobalScope``), seen from Python;
* then ``{"type": "result", "name": ..., "outcome": "passed" | "failed" |
  "skipped", "message": ..., "output": ..., "seconds": ...}`` for each
  scenario, in order: ``message`` is the traceback of a failure or the
  reason for a skip, ``output`` what the scenario wrote to stdout and stderr
  (the ``"pyws_shim"`` logger's lines included).

The scenarios are installed by ``tests/scenarios_install.py`` (sent in the
configuration), with pytest's assertion rewriting, as in the other runtimes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The scenario registry's name for Chromium's native WebSocket: the skip key
# that applies here, in a worker as in a page.
RUNTIME = "chromium"

Report = Callable[[str], None]


def check_worker() -> dict[str, Any]:
    """Assert that this is a dedicated Web Worker in Chromium; the facts seen."""
    import js  # type: ignore[import-not-found]
    from scenarios import current_runtime

    from pyws_shim.backends import pyodide as pyodide_backend

    facts: dict[str, Any] = {"has_document": hasattr(js, "document")}
    result: dict[str, Any] = {"type": "worker-check", "facts": facts}
    try:
        facts["global_scope"] = str(js.self.constructor.name)
        facts["location"] = str(js.location.href)
        facts["user_agent"] = str(js.navigator.userAgent)
        facts["current_runtime"] = current_runtime()
        facts["base_url"] = pyodide_backend.base_url()
        assert not hasattr(js, "document"), "a worker has no document"
        assert not hasattr(js, "window"), "a worker has no window"
        assert hasattr(js, "WorkerGlobalScope"), "no WorkerGlobalScope: not a worker"
        assert js.WorkerGlobalScope.prototype.isPrototypeOf(js.self), (
            f"self is a {facts['global_scope']}, not a WorkerGlobalScope"
        )
        assert js.DedicatedWorkerGlobalScope.prototype.isPrototypeOf(js.self), (
            f"self is a {facts['global_scope']}, not a DedicatedWorkerGlobalScope"
        )
        assert js.self == js.globalThis, "self is not the global object"
        assert not pyodide_backend.is_in_node(), "Node.js?"
        assert "Chrome/" in facts["user_agent"], facts["user_agent"]
        assert facts["current_runtime"] == RUNTIME, facts["current_runtime"]
        # The API base URL of a worker is its own URL.
        assert facts["base_url"] == facts["location"], (facts["base_url"], facts["location"])
    except Exception as exc:
        result.update(outcome="failed", message="".join(traceback.format_exception(exc)))
    else:
        result.update(outcome="passed", message="")
    return result


async def run_scenario(name: str, servers: Any, seconds: float) -> dict[str, Any]:
    """Run the scenario ``name`` (from the registry) once; its result."""
    from scenarios import load_all

    result: dict[str, Any] = {"type": "result", "name": name, "output": "", "seconds": 0.0}
    case = load_all().get(name)
    if case is None:
        return result | {"outcome": "failed", "message": f"no scenario {name} in the worker"}
    if RUNTIME in case.skip:
        return result | {"outcome": "skipped", "message": case.skip[RUNTIME]}
    output = io.StringIO()
    start = time.monotonic()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            await asyncio.wait_for(case.function(servers), seconds)
    except BaseException as exc:  # a scenario's failure, whatever it is, is its result
        if isinstance(exc, TimeoutError):
            message = f"timed out after {seconds:g} s (asyncio.wait_for)\n"
        else:
            message = ""
        result |= {"outcome": "failed", "message": message + "".join(format_failure(exc))}
    else:
        result |= {"outcome": "passed", "message": ""}
    result |= {"output": output.getvalue(), "seconds": round(time.monotonic() - start, 3)}
    return result


def format_failure(exc: BaseException) -> list[str]:
    """The traceback of ``exc``, from the first frame that is neither this
    runner's nor asyncio's (the scenario's, as in the other runtimes)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and _is_harness(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return traceback.format_exception(type(exc), exc, tb)


def _is_harness(filename: str) -> bool:
    return filename == __file__ or "/asyncio/" in filename


async def run(config_json: str, report: Report) -> None:
    """Run the configured scenarios; ``report`` each result as a JSON text."""
    config = json.loads(config_json)
    # tests/scenarios_install.py, as the other Pyodide runs use it.
    installer = Path(config["root"]) / "scenarios_install.py"
    installer.parent.mkdir(parents=True, exist_ok=True)
    installer.write_text(config["installer"], encoding="utf-8")
    sys.path.insert(0, str(installer.parent))
    import scenarios_install

    scenarios_install.install(config["files"], config["root"])
    from scenarios import Servers, load_all

    report(json.dumps(check_worker()))
    load_all()  # an import error fails here, once, rather than in each scenario
    servers = Servers(**config["servers"])
    for name in config["names"]:
        report(json.dumps(await run_scenario(name, servers, float(config["timeout"]))))
