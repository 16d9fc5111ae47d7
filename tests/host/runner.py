"""Runs the scenarios of ``tests/scenarios`` inside Pyodide, in any engine.

``tests/host/host.mjs`` loads Pyodide and pyws_shim (in a browser page, a
Web Worker, or a Node.js, Deno or Bun script), writes this file into
Pyodide's file system and calls :func:`run` with the configuration from
``tests/engines.py``: the scenario sources, where to put them, the loopback
servers' URLs, the scenarios to run, the timeout of each and the timing
factor of their waits. Each result goes back at once, as a JSON text,
through ``report``:

* ``{"type": "host", "facts": {...}}`` first: what this host is, seen from
  Python (its global scope, document, location, user agent, the registry's
  runtime name); ``tests/engines.py`` checks them against its engine table;
* then ``{"type": "result", "name": ..., "outcome": "passed" | "failed" |
  "skipped", "message": ..., "output": ..., "seconds": ...}`` for each
  scenario, in order: ``message`` is the traceback of a failure or the
  reason for a skip (the scenario's own ``skip`` for this runtime),
  ``output`` what the scenario wrote to stdout and stderr (the
  ``"pyws_shim"`` logger's lines included).

The scenarios are installed by ``tests/scenarios_install.py`` (sent in the
configuration), with pytest's assertion rewriting, as in every runtime.

When the run is measured (``coverage`` in the configuration: the text of the
repository's pyproject.toml, whose ``[tool.coverage]`` tables apply here as
on the host), coverage starts before anything imports pyws_shim, and its data
file goes back last, after every result, in base64:
``{"type": "coverage", "data": ...}``. Its paths are those of Pyodide's
site-packages; the report maps them to the repository's (``[tool.coverage.paths]``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

Report = Callable[[str], None]


def host_facts() -> dict[str, Any]:
    """What this host is: the facts ``tests/engines.py`` checks."""
    import js  # type: ignore[import-not-found]
    from scenarios import current_runtime
    from scenarios._support import MS

    from pyws_shim.backends import pyodide as pyodide_backend

    def probe(expression: Callable[[], Any]) -> Any:
        try:
            return expression()
        except Exception as exc:  # a probe that fails says why, as its fact
            return f"{type(exc).__name__}: {exc}"

    return {
        "runtime": current_runtime(),
        "ms": MS,  # the scenarios' timing unit here: the host's, scaled alike
        "global_scope": probe(lambda: str(js.globalThis.constructor.name)),
        "has_document": hasattr(js, "document"),
        "has_window": hasattr(js, "window"),
        "is_worker": probe(
            lambda: (
                hasattr(js, "DedicatedWorkerGlobalScope")
                and bool(js.DedicatedWorkerGlobalScope.prototype.isPrototypeOf(js.globalThis))
            )
        ),
        "location": probe(lambda: str(js.location.href) if hasattr(js, "location") else None),
        "user_agent": probe(lambda: str(js.navigator.userAgent)),
        "is_in_node": pyodide_backend.is_in_node(),
        "base_url": pyodide_backend.base_url(),
        "versions": probe(
            lambda: (
                {
                    str(k): str(v)
                    for k, v in js.Object.entries(js.process.versions).to_py()
                    if k in ("node", "deno", "bun", "v8", "uv")
                }
                if hasattr(js, "process")
                else {}
            )
        ),
    }


async def run_scenario(name: str, servers: Any, seconds: float) -> dict[str, Any]:
    """Run the scenario ``name`` (from the registry) once; its result."""
    from scenarios import current_runtime, load_all

    result: dict[str, Any] = {"type": "result", "name": name, "output": "", "seconds": 0.0}
    case = load_all().get(name)
    if case is None:
        return result | {"outcome": "failed", "message": f"no scenario {name} in the registry here"}
    runtime = current_runtime()
    if runtime in case.skip:
        return result | {"outcome": "skipped", "message": case.skip[runtime]}
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


def start_coverage(pyproject: str, root: str) -> Any:
    """Start measuring pyws_shim with the configuration in ``pyproject`` (the
    repository's pyproject.toml, written beside ``root`` as on the host)."""
    import coverage

    config_file = Path(root).parent / "pyproject.toml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(pyproject, encoding="utf-8")
    data_file = Path("/tmp/pyws_shim-coverage/.coverage")
    data_file.parent.mkdir(parents=True, exist_ok=True)
    measurement = coverage.Coverage(config_file=str(config_file), data_file=str(data_file))
    measurement.start()
    return measurement


def stop_coverage(measurement: Any) -> str:
    """Stop ``measurement`` and save it; its data file, in base64."""
    measurement.stop()
    measurement.save()
    data_file = Path(measurement.get_data().data_filename())
    return base64.b64encode(data_file.read_bytes()).decode("ascii")


async def run(config_json: str, report: Report) -> None:
    """Run the configured scenarios; ``report`` each result as a JSON text."""
    config = json.loads(config_json)
    # The scenarios' timing unit, scaled as on the host (tests/scenarios/_support.py: MS).
    os.environ["PYWS_SHIM_TIMING_FACTOR"] = config["timing_factor"]
    # Before the first import of pyws_shim, so that its module-level lines count.
    measurement = start_coverage(config["coverage"], config["root"]) if config["coverage"] else None
    # tests/scenarios_install.py, as the other Pyodide runs use it.
    installer = Path(config["root"]) / "scenarios_install.py"
    installer.parent.mkdir(parents=True, exist_ok=True)
    installer.write_text(config["installer"], encoding="utf-8")
    sys.path.insert(0, str(installer.parent))
    import scenarios_install

    scenarios_install.install(config["files"], config["root"])
    from scenarios import Servers, load_all

    report(json.dumps({"type": "host", "facts": host_facts()}))
    load_all()  # an import error fails here, once, rather than in each scenario
    servers = Servers(**config["servers"])
    for name in config["names"]:
        report(json.dumps(await run_scenario(name, servers, float(config["timeout"]))))
    if measurement is not None:
        report(json.dumps({"type": "coverage", "data": stop_coverage(measurement)}))
