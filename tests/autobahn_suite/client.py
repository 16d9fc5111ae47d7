"""Autobahn|Testsuite's fuzzingserver, driven through pyws_shim's DOM API.

The fuzzingserver (tests/autobahn_suite/fuzzingserver.py, in the Python 2.7
environment that ``setup_autobahn`` in tests/setup.bash makes in
``build/autobahn/py27``) listens on 127.0.0.1. For each case this driver
opens ``/runCase?case=N&agent=pyws_shim`` with :class:`pyws_shim.WebSocket`
(``binaryType = "arraybuffer"``, permessage-deflate offered as by default),
sends every message back as it came (text as text, binary as binary), and
lets the server close. Then ``/updateReports?agent=pyws_shim`` makes the
server write its report, and each case is classified from
``reports/clients/index.json`` and the case's own report file.

Only pyws_shim's public API is used. The same driver runs from pytest
(tests/test_autobahn.py, tests/run's ``autobahn`` and ``autobahn-full``
stages) and from the command line::

    .venv/bin/python tests/autobahn_suite/client.py                # the fast groups
    .venv/bin/python tests/autobahn_suite/client.py --cases all    # all 517 cases
    .venv/bin/python tests/autobahn_suite/client.py --cases 7.1.5,12.1.*

It prints a line per case that is not OK and the counts, writes a summary in
Markdown (``--summary``), and exits 1 when a case failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

from pyws_shim import CloseEvent, Event, MessageEvent, WebSocket

ROOT = Path(__file__).resolve().parent.parent.parent
AUTOBAHN_DIR = ROOT / "build" / "autobahn"
PY27 = AUTOBAHN_DIR / "py27" / "bin" / "python"
LAUNCHER = Path(__file__).resolve().parent / "fuzzingserver.py"
AGENT = "pyws_shim"

# The cases run on every ./tests/run (the `autobahn` stage), chosen by their
# time on a 2-core machine (docs/autobahn.md lists what each group costs):
# groups 1 to 7 and 10 (framing, pings, reserved bits and opcodes,
# fragmentation, UTF-8, closing, sizes: 247 cases, about 25 s), and the first
# case of each permessage-deflate group (12.N.1, 13.N.1: 1,000 small messages
# each, with each of the server's answers to the offer), so compression is
# tried on every run. Left out, for the longer run (`autobahn-full`): 9.*
# (performance: 54 cases, messages of up to 16 MiB or in tens of thousands of
# frames, about as long as all the above) and the other 204 cases of 12.* and
# 13.* (larger compressed messages: most of the full run's time).
FAST_CASES: tuple[str, ...] = (
    *(f"{group}.*" for group in (1, 2, 3, 4, 5, 6, 7, 10)),
    *(f"12.{n}.1" for n in range(1, 6)),
    *(f"13.{n}.1" for n in range(1, 8)),
)
ALL_CASES: tuple[str, ...] = ("*",)
CASE_SETS: dict[str, tuple[str, ...]] = {"fast": FAST_CASES, "all": ALL_CASES}

# The behaviours the suite accepts; any other (FAILED, WRONG CODE, UNCLEAN,
# FAILED BY CLIENT, NO_CLOSE) is a failure, and so is a closing behaviour of
# FAILED. UNIMPLEMENTED is accepted only for the cases named here, with the
# reason (none: permessage-deflate is offered, so groups 12 and 13 run).
ACCEPTED = ("OK", "NON-STRICT", "INFORMATIONAL")
UNIMPLEMENTED_REASONS: dict[str, str] = {}
OUTCOMES = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")

# Why a case is not OK, where the report's own words do not say it. Shown in
# the summary only for the cases that are not OK in the run it describes.
_ECHO_AFTER_FAILURE = (
    "The server sends a valid message and the invalid frame back to back; both arrive in "
    "one read. pyws_shim queues the `message` event (a task, as the standard says, never "
    "dispatched inside the network callback) and fails the connection (close frame 1002) "
    "on the invalid frame in that same read, so the echo sent from the `message` listener "
    "finds the socket CLOSING and is not sent (data sent once the closing handshake has "
    "started only adds to bufferedAmount). The report's wire log shows it: no echo, then "
    "the client's 1002."
)
_UTF8_PER_FRAME = (
    "The invalid UTF-8 sequence arrives in the middle of a frame, in chops. websockets' "
    "sans-I/O core reads whole frames, so the connection is failed (1007) once the frame "
    "is complete, not at the first invalid byte: RFC 6455 allows it (fail-fast is not "
    "required), hence NON-STRICT rather than OK."
)
_CLOSE_CODE_OUT_OF_RANGE = (
    "A close code outside 1000-4999 is a protocol error for websockets' core: pyws_shim "
    "answers with a close frame 1002 ('invalid status code') and reports `error`, then "
    "`close` 1006; RFC 6455 leaves the behaviour undefined."
)
EXPLANATIONS: dict[str, str] = {
    "3.2": _ECHO_AFTER_FAILURE,
    "3.3": _ECHO_AFTER_FAILURE,
    "4.1.3": _ECHO_AFTER_FAILURE,
    "4.1.4": _ECHO_AFTER_FAILURE,
    "4.2.3": _ECHO_AFTER_FAILURE,
    "4.2.4": _ECHO_AFTER_FAILURE,
    "5.15": _ECHO_AFTER_FAILURE,
    "6.4.3": _UTF8_PER_FRAME,
    "6.4.4": _UTF8_PER_FRAME,
    "7.1.5": (
        "A close frame between the fragments of a message: RFC 6455 5.4 allows control "
        "frames there, and browsers close cleanly with 1000, but websockets' sans-I/O core "
        "treats it as a protocol error ('incomplete fragmented message'): pyws_shim sends "
        "1002 and reports `error`, then `close` 1006. Issue 7, point 8 (being fixed)."
    ),
    "7.1.6": (
        "The server sends a 256 KiB message, a short one, a close frame and a ping back to "
        "back. The `message` events are dispatched after the close frame was read and "
        "answered (1000), so the echoes sent from them find the socket CLOSING and are not "
        "sent: Autobahn accepts either order (implementation-defined)."
    ),
    "7.13.1": _CLOSE_CODE_OUT_OF_RANGE,
    "7.13.2": _CLOSE_CODE_OUT_OF_RANGE,
}

# How long one case may take on the client's side before the driver closes it
# and moves on (a failure): the slowest cases (12.2.18, 13.*.18: 1,000
# compressed messages of 128 KiB) take 30 to 100 s on a busy 2-core machine.
CASE_TIMEOUT = 600.0
SERVER_START_TIMEOUT = 60.0
REPORT_TIMEOUT = 300.0


class AutobahnUnavailable(RuntimeError):
    """The Python 2.7 environment with autobahntestsuite is not there."""


@dataclass(frozen=True)
class ClientRun:
    """What pyws_shim saw in one case."""

    seconds: float
    messages: int
    extensions: str
    error: bool
    code: int | None  # the close event's (None: no close event, see timed_out)
    reason: str
    was_clean: bool | None
    timed_out: bool

    def describe(self) -> str:
        if self.timed_out:
            return f"no close event within {CASE_TIMEOUT:.0f} s ({self.messages} messages echoed)"
        error = "error, then " if self.error else ""
        return (
            f"{error}close code={self.code} reason={self.reason!r} wasClean={self.was_clean}, "
            f"{self.messages} messages echoed"
        )


@dataclass(frozen=True)
class CaseResult:
    """One case: the server's report and what the client saw."""

    case_id: str
    behavior: str
    behavior_close: str
    duration_ms: int
    remote_close_code: int | None
    description: str
    expectation: str
    result: str
    result_close: str
    client: ClientRun

    @property
    def outcome(self) -> str:
        """OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED."""
        if self.behavior_close == "FAILED":
            return "FAILED"
        if self.behavior in (*ACCEPTED, "UNIMPLEMENTED"):
            return self.behavior
        return "FAILED"

    @property
    def accepted(self) -> bool:
        if self.client.timed_out:
            return False
        if self.outcome == "UNIMPLEMENTED":
            return self.case_id in UNIMPLEMENTED_REASONS
        return self.outcome in ACCEPTED

    def describe(self) -> str:
        return (
            f"{self.case_id}: {self.outcome} (behavior {self.behavior}, closing behavior "
            f"{self.behavior_close}: {self.result_close}). {self.result} "
            f"Case: {one_line(self.description)} Expected: {one_line(self.expectation)} "
            f"Client: {self.client.describe()}."
        )


@dataclass
class SuiteRun:
    """A whole run: the results by case ID, in the server's order, and its context."""

    cases: tuple[str, ...]
    results: dict[str, CaseResult]
    versions: dict[str, str]
    started: datetime.datetime
    seconds: float

    def counts(self) -> Counter[str]:
        return Counter(result.outcome for result in self.results.values())

    def failed(self) -> list[CaseResult]:
        return [result for result in self.results.values() if not result.accepted]


def one_line(text: str) -> str:
    return " ".join(text.split())


# The fuzzingserver.


def require_environment() -> None:
    if not PY27.is_file():
        raise AutobahnUnavailable(
            f"{PY27.relative_to(ROOT)} is missing: ./tests/run --only autobahn sets it up "
            "(Python 2.7 from pyenv, virtualenv, autobahntestsuite from PyPI)"
        )


def launcher(*args: str) -> str:
    """Run the Python 2.7 launcher once (``list``, ``versions``), return its output."""
    require_environment()
    done = subprocess.run(
        [str(PY27), str(LAUNCHER), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"fuzzingserver.py {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


class FuzzingServer:
    """The fuzzingserver in a process of its own, on 127.0.0.1 and a free port.

    Its spec, log and reports go to ``workdir`` (``spec.json``,
    ``server.log``, ``reports/clients/``).
    """

    def __init__(self, workdir: Path, cases: Sequence[str]) -> None:
        self.workdir = workdir = workdir.resolve()
        self.reports = workdir / "reports" / "clients"
        self.spec_path = workdir / "spec.json"
        self.log_path = workdir / "server.log"
        self._port_path = workdir / "port"
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""
        workdir.mkdir(parents=True, exist_ok=True)
        spec = {
            # The launcher listens on a free port, and puts it in this URL.
            "url": "ws://127.0.0.1:0",
            "outdir": str(self.reports),
            "cases": list(cases),
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        self.spec_path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")

    def case_ids(self) -> list[str]:
        """The spec's case IDs, in the server's order (case N is the Nth)."""
        return launcher("list", str(self.spec_path)).split()

    def start(self) -> str:
        require_environment()
        self._port_path.unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            for old in self.reports.iterdir():
                old.unlink()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    str(PY27),
                    "-u",
                    str(LAUNCHER),
                    "serve",
                    str(self.spec_path),
                    str(self._port_path),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not self._port_path.exists():
            if self._process.poll() is not None:
                raise RuntimeError(f"the fuzzingserver exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fuzzingserver did not listen: {self.log_tail()}")
            time.sleep(0.05)
        port = int(self._port_path.read_text(encoding="ascii"))
        self.url = f"ws://127.0.0.1:{port}"
        return self.url

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> FuzzingServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# The client: pyws_shim's DOM API only.


@dataclass
class _Seen:
    messages: int = 0
    error: bool = False
    extensions: str = ""


async def run_case(base_url: str, number: int) -> ClientRun:
    """Run case ``number`` (1-based, in the server's order): echo every message, let it close."""
    started = time.perf_counter()
    ws = WebSocket(f"{base_url}/runCase?case={number}&agent={AGENT}")
    ws.binaryType = "arraybuffer"
    seen = _Seen()

    def on_open(event: Event) -> None:
        seen.extensions = ws.extensions

    def on_message(event: Event) -> None:
        assert isinstance(event, MessageEvent)
        seen.messages += 1
        ws.send(event.data)  # str for text, bytes for binary (binaryType "arraybuffer")

    def on_error(event: Event) -> None:
        seen.error = True

    ws.onopen = on_open
    ws.onmessage = on_message
    ws.onerror = on_error
    close: CloseEvent | None = None
    try:
        close = await asyncio.wait_for(ws.wait_closed(), CASE_TIMEOUT)
    except TimeoutError:
        ws.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ws.wait_closed(), 15)
    return ClientRun(
        seconds=time.perf_counter() - started,
        messages=seen.messages,
        extensions=seen.extensions,
        error=seen.error,
        code=None if close is None else close.code,
        reason="" if close is None else close.reason,
        was_clean=None if close is None else close.wasClean,
        timed_out=close is None,
    )


async def update_reports(base_url: str) -> None:
    """Ask the server to write its reports; it closes once they are written."""
    ws = WebSocket(f"{base_url}/updateReports?agent={AGENT}")
    close = await asyncio.wait_for(ws.wait_closed(), REPORT_TIMEOUT)
    if not close.wasClean:
        raise RuntimeError(f"/updateReports closed uncleanly (code {close.code})")


def read_results(
    reports: Path, cases: Sequence[str], clients: Mapping[str, ClientRun]
) -> dict[str, CaseResult]:
    """Each case's result from the server's ``index.json`` and its report file."""
    index: dict[str, Any] = json.loads((reports / "index.json").read_text(encoding="utf-8"))
    entries: dict[str, Any] = index.get(AGENT, {})
    results: dict[str, CaseResult] = {}
    for case_id in cases:
        entry = entries.get(case_id)
        if entry is None:
            raise RuntimeError(f"case {case_id} is not in {reports / 'index.json'}")
        report: dict[str, Any] = json.loads(
            (reports / entry["reportfile"]).read_text(encoding="utf-8")
        )
        results[case_id] = CaseResult(
            case_id=case_id,
            behavior=str(entry["behavior"]),
            behavior_close=str(entry["behaviorClose"]),
            duration_ms=int(entry.get("duration", 0)),
            remote_close_code=entry.get("remoteCloseCode"),
            description=str(report.get("description", "")),
            expectation=str(report.get("expectation", "")),
            result=str(report.get("result", "")),
            result_close=str(report.get("resultClose", "")),
            client=clients[case_id],
        )
    return results


def versions() -> dict[str, str]:
    """The versions of everything in the run."""
    found: dict[str, str] = json.loads(launcher("versions"))
    found["pyws_shim"] = metadata.version("pyws_shim")
    found["websockets"] = metadata.version("websockets")
    found["python"] = platform.python_version()
    return found


async def run_suite(
    cases: Sequence[str],
    workdir: Path,
    progress: Callable[[str, int, int, ClientRun], None] | None = None,
    select: Collection[str] | None = None,
) -> SuiteRun:
    """Run ``cases`` (wstest patterns) against a fresh fuzzingserver in ``workdir``;
    only the case IDs in ``select``, if given."""
    started = datetime.datetime.now(datetime.UTC)
    clock = time.perf_counter()
    server = FuzzingServer(workdir, cases)
    numbers = {case_id: n for n, case_id in enumerate(server.case_ids(), start=1)}
    if select is not None:
        unknown = set(select) - set(numbers)
        if unknown:
            raise ValueError(f"not among the cases {list(cases)}: {sorted(unknown)}")
        numbers = {case_id: n for case_id, n in numbers.items() if case_id in select}
    case_ids = list(numbers)
    found_versions = versions()
    clients: dict[str, ClientRun] = {}
    with server:
        for case_id, number in numbers.items():
            client = await run_case(server.url, number)
            clients[case_id] = client
            if progress is not None:
                progress(case_id, len(clients), len(case_ids), client)
        await update_reports(server.url)
    return SuiteRun(
        cases=tuple(case_ids),
        results=read_results(server.reports, case_ids, clients),
        versions=found_versions,
        started=started,
        seconds=time.perf_counter() - clock,
    )


# The summary.


def group_times(run: SuiteRun) -> list[tuple[str, int, float]]:
    """(group, cases, client-side seconds) for each top-level group."""
    groups: dict[str, list[float]] = {}
    for result in run.results.values():
        groups.setdefault(result.case_id.split(".")[0], []).append(result.client.seconds)
    return [(group, len(times), sum(times)) for group, times in groups.items()]


def summary_markdown(run: SuiteRun, command: str) -> str:
    counts = run.counts()
    accepted = not run.failed()
    v = run.versions
    lines = [
        "# Autobahn|Testsuite: pyws_shim's CPython client",
        "",
        "Written by `tests/autobahn_suite/client.py` from the fuzzingserver's report of the "
        f"run of {run.started:%Y-%m-%d %H:%M} UTC (`{command}`). Do not edit by hand.",
        "",
        f"- cases: {len(run.cases)} (of groups {', '.join(sorted_groups(run))}: see the "
        "time per group below)",
        f"- result: {'every case accepted' if accepted else f'{len(run.failed())} not accepted'}"
        f" (OK, NON-STRICT and INFORMATIONAL are accepted; UNIMPLEMENTED only with a reason)",
        f"- run time: {run.seconds:.0f} s on this machine (2 cores), client and server together",
        f"- pyws_shim {v['pyws_shim']} on CPython {v['python']}, websockets {v['websockets']}, "
        'permessage-deflate offered (the default), `binaryType = "arraybuffer"`',
        f"- autobahntestsuite {v['autobahntestsuite']} (autobahn {v['autobahn']}, Twisted "
        f"{v['twisted']}) on Python {v['python27']}, on 127.0.0.1",
        "",
        "| result | cases |",
        "|---|---|",
        *(f"| {outcome} | {counts.get(outcome, 0)} |" for outcome in OUTCOMES),
        "",
    ]
    extensions = Counter(
        result.client.extensions.split(";")[0] or "none"
        for result in run.results.values()
        if result.case_id.split(".")[0] in ("12", "13")
    )
    if extensions:
        lines += [
            "Groups 12 and 13 negotiated: "
            + ", ".join(f"{name} ({n} cases)" for name, n in sorted(extensions.items())),
            "",
        ]
    lines += [
        "## Time per group",
        "",
        "Client-side time of the cases (open to close event).",
        "",
        "| group | cases | seconds |",
        "|---|---|---|",
        *(f"| {group} | {n} | {seconds:.1f} |" for group, n, seconds in group_times(run)),
        "",
        "## Cases that are not OK",
        "",
    ]
    not_ok = [result for result in run.results.values() if result.outcome != "OK"]
    if not not_ok:
        lines.append("None.")
    for result in not_ok:
        lines += [
            f"### {result.case_id}: {result.outcome}",
            "",
            f"- case: {one_line(result.description)}",
            f"- expected: {one_line(result.expectation)}",
            f"- report: behavior {result.behavior} ({result.result}); closing behavior "
            f"{result.behavior_close} ({result.result_close}); the client's close code "
            f"{result.remote_close_code}",
            f"- pyws_shim: {result.client.describe()}",
        ]
        if result.case_id in EXPLANATIONS:
            lines.append(f"- why: {EXPLANATIONS[result.case_id]}")
        if result.outcome == "UNIMPLEMENTED" and result.case_id in UNIMPLEMENTED_REASONS:
            lines.append(f"- accepted as unimplemented: {UNIMPLEMENTED_REASONS[result.case_id]}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def sorted_groups(run: SuiteRun) -> list[str]:
    groups = dict.fromkeys(case_id.split(".")[0] for case_id in run.cases)
    return list(groups)


# The command line.


def parse_cases(value: str) -> tuple[str, ...]:
    return CASE_SETS.get(value) or tuple(part.strip() for part in value.split(",") if part)


@contextlib.contextmanager
def _stdout_progress() -> Iterator[Callable[[str, int, int, ClientRun], None]]:
    def progress(case_id: str, number: int, total: int, client: ClientRun) -> None:
        sys.stdout.write(f"\r{number}/{total} {case_id} ({client.seconds:.1f} s)   ")
        sys.stdout.flush()

    yield progress
    sys.stdout.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--cases",
        default="fast",
        help="'fast' (the default), 'all', or wstest case patterns separated by commas",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: build/autobahn/run")
    parser.add_argument("--summary", type=Path, default=None, help="write the Markdown summary")
    args = parser.parse_args(argv)
    workdir = args.workdir or AUTOBAHN_DIR / "run"
    with _stdout_progress() as progress:
        run = asyncio.run(run_suite(parse_cases(args.cases), workdir, progress))
    for result in run.results.values():
        if result.outcome != "OK":
            print(result.describe())
    counts = run.counts()
    print(", ".join(f"{outcome}: {counts.get(outcome, 0)}" for outcome in OUTCOMES))
    print(f"{len(run.cases)} cases in {run.seconds:.0f} s; reports in {workdir / 'reports'}")
    if args.summary is not None:
        command = "tests/autobahn_suite/client.py " + " ".join(
            sys.argv[1:] if argv is None else list(argv)
        )
        args.summary.write_text(summary_markdown(run, command.strip()), encoding="utf-8")
    return 1 if run.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
