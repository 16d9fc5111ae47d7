"""Every scenario of ``tests/scenarios`` run in CPython against the loopback
servers, on asyncio's own event loop and on uvloop.

Each one runs in a fresh event loop, and is then checked for leaks; a leak
fails the test with what leaked:

- nothing reached the loop's exception handler (a handler that records is
  installed when the loop is made, so it also sees what happens while the
  loop shuts down and when its objects are collected);
- no task is left but the scenario's own, once it has returned (and the
  callbacks already scheduled have run);
- no timer is left scheduled on the loop (the loop is a subclass that
  records the timers it hands out, on asyncio and on uvloop alike);
- no file descriptor is left open (``/proc/self/fd`` before and after; the
  loopback servers' and the fault peer's own sockets, which run on threads
  of this process, are told apart by their local port);
- no ``ResourceWarning`` (pyproject.toml makes it an error; the garbage is
  collected inside the test, so an unclosed transport or socket fails the
  scenario that left it, through pytest's unraisable-exception check).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scenarios import Scenario, Servers, load_all
from scenarios._support import MS

SCENARIO_TIMEOUT = 60_000 * MS  # scaled with the scenarios' own waits
SETTLE_TURNS = 3  # turns of the loop for callbacks already scheduled, before the checks

ALL = load_all()


def _timer_recording(base: type[asyncio.AbstractEventLoop]) -> type[asyncio.AbstractEventLoop]:
    """A subclass of the loop class ``base`` that keeps the timers it hands out."""

    class TimerRecordingLoop(base):  # type: ignore[valid-type,misc]
        def call_at(self, when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            handle: asyncio.TimerHandle = super().call_at(when, *args, **kwargs)
            self.timers.add(handle)
            return handle

        def call_later(self, delay: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            handle: asyncio.TimerHandle = super().call_later(delay, *args, **kwargs)
            self.timers.add(handle)
            return handle

        @property
        def timers(self) -> set[asyncio.TimerHandle]:
            timers: set[asyncio.TimerHandle] | None = self.__dict__.get("_recorded_timers")
            if timers is None:
                timers = self.__dict__["_recorded_timers"] = set()
            return timers

    return TimerRecordingLoop


def _uvloop_class() -> type[asyncio.AbstractEventLoop]:
    import uvloop

    # uvloop opens a pipe for the whole process the first time a loop runs:
    # open it now, before any scenario counts its file descriptors.
    uvloop.run(asyncio.sleep(0))
    return uvloop.Loop


ALL_LOOPS: dict[str, Callable[[], type[asyncio.AbstractEventLoop]]] = {
    "asyncio": lambda: asyncio.SelectorEventLoop,  # asyncio's default loop on Linux
    "uvloop": _uvloop_class,
}
# The loops to run the scenarios on (PYWS_SHIM_LOOPS, comma-separated; all by
# default): tests/run's secondary CPython stages run them on asyncio alone.
LOOPS = {
    name: ALL_LOOPS[name]
    for name in os.environ.get("PYWS_SHIM_LOOPS", ",".join(ALL_LOOPS)).split(",")
}


def test_every_scenario_module_is_found() -> None:
    """A module added to tests/scenarios runs without being listed anywhere,
    here and in every engine (the host installs the files engines.config() sends)."""
    from engines import config

    folder = Path(__file__).parent / "scenarios"
    on_disk = {path.stem for path in folder.glob("*.py") if not path.stem.startswith("_")}
    assert {case.module for case in ALL.values()} == on_disk
    sent = config({}, [])["files"]
    assert {f"{module}.py" for module in on_disk} <= set(sent), sorted(sent)
    assert {"__init__.py", "_support.py"} <= set(sent), sorted(sent)


@pytest.mark.parametrize("loop", list(LOOPS))
@pytest.mark.parametrize("case", list(ALL.values()), ids=list(ALL))
def test_scenario(case: Scenario, loop: str, servers: Servers) -> None:
    if "cpython" in case.skip:
        pytest.skip(case.skip["cpython"])
    checker = LeakChecker(servers, _timer_recording(LOOPS[loop]()))
    checker.run(case)
    checker.check()


class LeakChecker:
    """Runs one scenario in a loop of its own; :meth:`check` says what it left behind."""

    def __init__(self, servers: Servers, loop_class: type[asyncio.AbstractEventLoop]) -> None:
        self.servers = servers
        self.loop_class = loop_class
        self.server_ports = _server_ports(servers)
        self.handled: list[dict[str, Any]] = []
        self.tasks: list[str] = []
        self.timers: list[str] = []
        self.fds_before = _open_fds(self.server_ports)
        self.fds_after: dict[int, str] = {}

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        loop = self.loop_class()
        loop.set_exception_handler(lambda _, context: self.handled.append(context))
        return loop

    def run(self, case: Scenario) -> None:
        async def main() -> None:
            async with asyncio.timeout(SCENARIO_TIMEOUT):
                await case.function(self.servers)
            for _ in range(SETTLE_TURNS):
                await asyncio.sleep(0)
            loop = asyncio.get_running_loop()
            self.tasks = [
                repr(t) for t in asyncio.all_tasks(loop) if t is not asyncio.current_task()
            ]
            self.timers = _scheduled_timers(loop)

        try:
            with asyncio.Runner(loop_factory=self._new_loop) as runner:
                runner.run(main())
        finally:
            # What the scenario left unreachable is collected now, so that an
            # unclosed transport's ResourceWarning fails this test.
            gc.collect()
            self.fds_after = _open_fds(self.server_ports)

    def check(self) -> None:
        problems: list[str] = []
        if self.handled:
            problems.append(
                "the loop's exception handler was called:\n"
                + "\n".join(f"  {_describe_context(c)}" for c in self.handled)
            )
        if self.tasks:
            problems.append("tasks left:\n" + "\n".join(f"  {t}" for t in self.tasks))
        if self.timers:
            problems.append("timers left scheduled:\n" + "\n".join(f"  {t}" for t in self.timers))
        leaked = {
            fd: target for fd, target in self.fds_after.items() if self.fds_before.get(fd) != target
        }
        if leaked:
            problems.append(
                "file descriptors left open:\n"
                + "\n".join(f"  {fd} -> {target}" for fd, target in sorted(leaked.items()))
            )
        assert not problems, "the scenario left things behind:\n" + "\n".join(problems)


def _describe_context(context: dict[str, Any]) -> str:
    message = context.get("message", "")
    exception = context.get("exception")
    return f"{message} {exception!r}" if exception is not None else str(message)


def _scheduled_timers(loop: asyncio.AbstractEventLoop) -> list[str]:
    """The timers of ``loop`` that are neither cancelled nor run yet."""
    timers: set[asyncio.TimerHandle] = getattr(loop, "timers")  # noqa: B009
    now = loop.time()
    return [
        repr(h)
        for h in timers
        # uvloop makes call_later(0) a plain Handle, run at the next turn.
        if not h.cancelled() and hasattr(h, "when") and h.when() > now
    ]


def _server_ports(servers: Servers) -> frozenset[int]:
    ports = set()
    for url in (servers.ws, servers.wss, servers.faults, servers.faults_tls):
        port = urlsplit(url).port
        assert port is not None, url
        ports.add(port)
    return frozenset(ports)


def _tcp_sockets() -> dict[str, tuple[int, int, str]]:
    """inode -> (local port, remote port, state) of this process's TCP sockets."""
    sockets: dict[str, tuple[int, int, str]] = {}
    for table in ("tcp", "tcp6"):
        path = Path("/proc/self/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            sockets[inode] = (
                int(local.rsplit(":", 1)[1], 16),
                int(remote.rsplit(":", 1)[1], 16),
                state,
            )
    return sockets


TCP_STATES = {
    "01": "ESTABLISHED",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "0A": "LISTEN",
}


def _open_fds(server_ports: frozenset[int]) -> dict[int, str]:
    """This process's open file descriptors (fd -> what it is), without the
    servers' side of their connections and their listening sockets."""
    fds: dict[int, str] = {}
    tcp = _tcp_sockets()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor among them)
        if target.startswith("socket:["):
            info = tcp.get(target[len("socket:[") : -1])
            if info is not None:
                local, remote, state = info
                if local in server_ports:
                    continue  # a server's socket, on its thread
                target += f" TCP port {local} -> {remote} {TCP_STATES.get(state, state)}"
        fds[int(name)] = target
    return fds
