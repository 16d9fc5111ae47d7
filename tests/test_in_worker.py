"""Every scenario of ``tests/scenarios`` run inside Pyodide in a Chromium Web Worker.

pytest-pyodide runs the scenarios in a Chromium page (``test_in_pyodide.py``);
this runs the same scenario functions in a dedicated (module) Web Worker,
where there is no ``document`` and the API base URL is the worker's own
location, against the same loopback servers (the session's ``servers``
fixture).

A local HTTP server on 127.0.0.1 serves ``build/pyodide-dist`` (the offline
Pyodide distribution with pyws_shim's and pytest's wheels, see
``tests/pyodide_dist.py``) at ``/pyodide/`` and ``tests/worker/`` at
``/worker/``. Debian's Chromium (headless, driven by Playwright, launched as
in conftest.py) opens ``/worker/index.html``, which starts the module worker
``worker.mjs``: it loads Pyodide, pyws_shim and pytest, receives the
scenario sources and the servers' URLs by postMessage and runs
``runner.py``, which runs the scenarios one after the other (each inside
``asyncio.wait_for``, 60 s) and posts back each one's result as it ends.

The whole run happens once, in the module-scoped ``worker_run`` fixture (one
Pyodide for every scenario, as in the other runtimes); then one test per
scenario reports that scenario's result: passed, failed with the traceback
from the worker, or skipped with the scenario's reason (its ``skip`` for
``"chromium"``, the registry's name for Chromium's native WebSocket, in a
worker as in a page). ``test_runs_in_a_worker`` is the worker's own check
that it is one. With ``-k``, only the selected scenarios run in the worker.

Run by ``tests/run --only worker``, which first sets up Chromium and the
distribution and sets ``PYWS_SHIM_WORKER_REQUIRED=1``: then a missing piece
fails the run instead of skipping it. Alone: ``pytest tests/test_in_worker.py``
(collected only when named, see conftest.py).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, CHROMIUM_FLAGS, SUMMARY_LINES
from scenarios import Servers, load_all

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "build" / "pyodide-dist"
WORKER_DIR = Path(__file__).resolve().parent / "worker"
SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
REQUIRED = os.environ.get("PYWS_SHIM_WORKER_REQUIRED") == "1"
SET_UP = "run ./tests/run --only worker"
RUNTIME = "chromium"  # the scenarios' skip key, in a worker as in a page
SCENARIO_TIMEOUT = 60.0  # inside the worker, as in the other runtimes
LOAD_TIMEOUT = 60.0  # Pyodide, pyws_shim and pytest into the worker (about 3 s)
# The worker reports each scenario as it ends: this long without a word, it has hung.
QUIET_TIMEOUT = SCENARIO_TIMEOUT + 30
# The URL paths the HTTP server serves, and from where.
ROUTES = {"/pyodide/": DIST, "/worker/": WORKER_DIR}
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".py": "text/x-python; charset=utf-8",
    ".map": "application/json",
}

ALL = load_all()


def unavailable(reason: str) -> None:
    """Skip, or fail under tests/run, where everything must be there."""
    if REQUIRED:
        pytest.fail(f"{reason} (PYWS_SHIM_WORKER_REQUIRED=1: tests/run should have set it up)")
    pytest.skip(reason)


def check_set_up() -> None:
    """Chromium, Playwright and a distribution with a fresh pyws_shim wheel."""
    lock = DIST / "pyodide-lock.json"
    if not lock.is_file() or '"pyws-shim"' not in lock.read_text(encoding="utf-8"):
        unavailable(f"{lock.relative_to(ROOT)} does not list pyws_shim: {SET_UP}")
    wheels = sorted(DIST.glob("pyws_shim-*-py3-none-any.whl"))
    if not wheels:
        unavailable(f"no pyws_shim wheel in {DIST.relative_to(ROOT)}: {SET_UP}")
    sources = [ROOT / "pyproject.toml", *(ROOT / "pyws_shim").glob("*.py")]
    newest = max(sources, key=lambda path: path.stat().st_mtime)
    if newest.stat().st_mtime > wheels[-1].stat().st_mtime:
        unavailable(
            f"{wheels[-1].relative_to(ROOT)} is older than {newest.relative_to(ROOT)}: "
            f"{SET_UP}, which rebuilds it"
        )
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (tests/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed: pip install --group dev (tests/run does)")


# The HTTP server.


class _FilesHandler(BaseHTTPRequestHandler):
    """GET and HEAD of the files under ``ROUTES``, with explicit MIME types; 404 otherwise."""

    requests: list[str]  # set by serve_files(): every path asked for
    not_found: list[str]  # and those it did not have

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def _serve(self, with_body: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        self.requests.append(path)
        file = self._file(path)
        if file is None:
            self.not_found.append(path)
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = file.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", MIME_TYPES.get(file.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    @staticmethod
    def _file(path: str) -> Path | None:
        for prefix, directory in ROUTES.items():
            if path.startswith(prefix):
                file = (directory / path.removeprefix(prefix)).resolve()
                if file.is_relative_to(directory.resolve()) and file.is_file():
                    return file
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the paths are in `requests`


@contextmanager
def serve_files(requests: list[str], not_found: list[str]) -> Iterator[str]:
    """The HTTP server on a loopback port, on a thread; yields its base URL."""
    handler = type("FilesHandler", (_FilesHandler,), {"requests": requests, "not_found": not_found})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="worker files", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# The run in the worker.


@dataclass
class WorkerRun:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by scenario name
    check: dict[str, Any] | None = None  # the worker-check message
    fatal: str | None = None  # why the run broke off, if it did
    hung_in: str | None = None  # the scenario the worker fell silent in, if it did
    log: list[str] = field(default_factory=list)  # the worker's output, the page's errors
    requests: list[str] = field(default_factory=list)  # every path the HTTP server was asked for
    not_found: list[str] = field(default_factory=list)  # those it did not have
    load_seconds: float | None = None
    seconds: float = 0.0

    def broke_off(self, name: str | None = None) -> str:
        """Why there is no result for ``name``, with what the worker and the page said."""
        lines = [self.fatal or "the worker posted no result for it"]
        if self.hung_in is not None and name != self.hung_in:
            lines[0] = f"not run: the worker stopped at {self.hung_in}, which never ended"
        if self.log:
            lines += ["", "the worker's output and the page's errors:", *self.log[-30:]]
        if self.not_found:
            lines += ["", "not found on the HTTP server: " + ", ".join(self.not_found)]
        return "\n".join(lines)


def selected(request: pytest.FixtureRequest) -> list[str]:
    """The scenarios whose tests this session runs (all, unless -k or a node id
    selects some), in the registry's order."""
    chosen = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.path.name == Path(__file__).name and hasattr(item, "callspec")
    }
    return [name for name in ALL if name in chosen]


def drive(page: Any, run: WorkerRun, config: dict[str, Any]) -> None:
    """Start the worker and read what it posts, until it is done or breaks off."""
    page.evaluate("config => startWorker(config)", config)
    seen, timeout = 0, LOAD_TIMEOUT
    while True:
        batch = page.evaluate(
            "([seen, ms]) => nextMessages(seen, ms)", [seen, int((timeout + 1) * 1000)]
        )
        if not batch:
            if run.load_seconds is None:
                run.fatal = f"the worker said nothing for {timeout:g} s while loading Pyodide"
            elif run.check is None or len(run.results) == len(config["names"]):
                step = "loading Pyodide" if run.check is None else "its last result"
                run.fatal = f"the worker said nothing for {timeout:g} s after {step}"
            else:
                run.hung_in = next(name for name in config["names"] if name not in run.results)
                run.fatal = (
                    f"{run.hung_in} never ended: the worker said nothing for {timeout:g} s, "
                    "and asyncio.wait_for did not stop it (is the worker blocked?)"
                )
            return
        seen += len(batch)
        for message in batch:
            kind = message.get("type")
            if kind == "loaded":
                run.load_seconds = float(message["seconds"])
                timeout = QUIET_TIMEOUT
            elif kind == "output":
                run.log.append(f"[worker] {message['text']}")
            elif kind == "worker-check":
                run.check = message
            elif kind == "result":
                run.results[message["name"]] = message
            elif kind == "fatal":
                run.fatal = f"the run in the worker broke off:\n{message['message']}"
                return
            elif kind == "done":
                return
            else:
                run.log.append(f"[page] unexpected message: {json.dumps(message)}")


@pytest.fixture(scope="module")
def worker_run(request: pytest.FixtureRequest, servers: Servers) -> Iterator[WorkerRun]:
    """The selected scenarios, run once in a Web Worker; their results."""
    check_set_up()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    run = WorkerRun()
    config = {
        "root": str(SCENARIOS_DIR.parent),
        "files": {path.name: path.read_text("utf-8") for path in SCENARIOS_DIR.glob("*.py")},
        "installer": (SCENARIOS_DIR.parent / "scenarios_install.py").read_text("utf-8"),
        "servers": asdict(servers),
        "names": selected(request),
        "timeout": SCENARIO_TIMEOUT,
    }
    start = time.monotonic()
    with serve_files(run.requests, run.not_found) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: run.log.append(f"[page] uncaught: {error}"))
            page.on("crash", lambda _: run.log.append("[page] crashed"))
            page.goto(f"{base}/worker/index.html", wait_until="load")
            page.wait_for_function("() => document.documentElement.dataset.state === 'ready'")
            drive(page, run, config)
        except PlaywrightError as exc:
            run.fatal = f"Playwright: {exc}"
        finally:
            browser.close()
    run.seconds = time.monotonic() - start
    yield run
    ran = sum(result["outcome"] != "skipped" for result in run.results.values())
    in_scenarios = sum(float(result["seconds"]) for result in run.results.values())
    loaded = "not loaded" if run.load_seconds is None else f"loaded in {run.load_seconds:.1f} s"
    summary = (
        f"in the Web Worker: Pyodide, pyws_shim and pytest {loaded}; {ran} scenarios ran "
        f"in {in_scenarios:.1f} s; the whole run took {run.seconds:.1f} s"
    )
    request.config.stash.setdefault(SUMMARY_LINES, []).append(summary)


def test_runs_in_a_worker(worker_run: WorkerRun) -> None:
    """The worker's own check (runner.check_worker): no document, ``self`` a
    DedicatedWorkerGlobalScope, Chromium, and its location as the API base URL."""
    check = worker_run.check
    if check is None:
        pytest.fail(worker_run.broke_off(), pytrace=False)
    facts = check["facts"]
    if check["outcome"] != "passed":
        pytest.fail(f"in the worker:\n{check['message']}\nfacts: {facts}", pytrace=False)
    assert facts["has_document"] is False
    assert facts["global_scope"] == "DedicatedWorkerGlobalScope"
    assert facts["location"].endswith("/worker/worker.mjs"), facts["location"]
    # Pyodide and the wheels came from the local server (no CDN), the worker from tests/worker.
    assert "/worker/worker.mjs" in worker_run.requests
    assert "/pyodide/pyodide.asm.wasm" in worker_run.requests


@pytest.mark.parametrize("name", list(ALL), ids=list(ALL))
def test_scenario(worker_run: WorkerRun, name: str) -> None:
    result = worker_run.results.get(name)
    if result is None:
        pytest.fail(worker_run.broke_off(name), pytrace=False)
    expected_skip = ALL[name].skip.get(RUNTIME)
    if result["outcome"] == "skipped":
        assert result["message"] == expected_skip, "the worker skipped it for another reason"
        pytest.skip(result["message"])
    assert expected_skip is None, f"the worker ran it, but it says: skip {expected_skip!r}"
    if result["outcome"] != "passed":
        output = result["output"]
        captured = f"\n---- its output in the worker ----\n{output}" if output else ""
        pytest.fail(
            f"in the worker (after {result['seconds']} s):\n{result['message']}{captured}",
            pytrace=False,
        )
