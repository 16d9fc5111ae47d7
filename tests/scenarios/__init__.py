"""Test bodies written once, run in every runtime.

Each scenario is ``async def name(servers: Servers) -> None``: it uses only
pyws_shim's public API, the standard library and the URLs in ``servers``,
and asserts with plain ``assert``. ``tests/test_scenarios.py`` runs every
one of them in CPython; the Pyodide runs (``tests/test_in_engines.py``:
Node.js, Deno, Bun, and a Chromium, Firefox or WebKit page or worker)
import this same package inside Pyodide and run the same functions.

A scenario that cannot run in some runtime says so with ``skip={runtime:
reason}`` (``skip_in(runtimes, reason)`` builds one for several); the runner
skips it there with that reason. A runtime is named by its native WebSocket:
a browser's page and worker share one name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import overload
from urllib.parse import urlencode

__all__ = [
    "BROWSERS",
    "PYODIDE_RUNTIMES",
    "RUNTIMES",
    "SCENARIOS",
    "SCRIPT_RUNTIMES",
    "Scenario",
    "Servers",
    "current_runtime",
    "load_all",
    "scenario",
    "skip_in",
]

# The runtimes the suite runs in: CPython, and under Pyodide the JavaScript
# runtimes that run scripts, and the browsers (page and Web Worker).
SCRIPT_RUNTIMES = ("node", "deno", "bun")
BROWSERS = ("chromium", "firefox", "webkit")
PYODIDE_RUNTIMES = SCRIPT_RUNTIMES + BROWSERS
RUNTIMES = ("cpython", *PYODIDE_RUNTIMES)

# The modules of this package that hold scenarios, in the order they run.
MODULES = (
    "constructor",
    "attributes",
    "events",
    "blob",
    "messages",
    "closing",
    "failures",
    "buffered_amount",
    "pythonic",
    "proxies",
    "cpython_options",
    "arguments",
    "faults",
    "client",
)


@dataclass(frozen=True)
class Servers:
    """Where the loopback test servers listen (``tests/servers.py``)."""

    ws: str
    """``ws://127.0.0.1:PORT``: the route server (see ``url()``)."""
    wss: str
    """``wss://localhost:PORT``: the same routes over TLS, with a certificate
    from a test CA that only CPython can be told to trust."""
    ca_file: str
    """The test CA's certificate (PEM), on the host's file system."""
    refused: str
    """``ws://127.0.0.1:PORT/`` where nothing listens."""
    faults: str
    """``ws://127.0.0.1:PORT``: the fault-injection peer (``tests/faultpeer.py``),
    which writes every handshake byte and frame itself (see ``fault_url()``)."""
    faults_tls: str
    """``wss://localhost:PORT``: its TLS twin, with a certificate that names only
    ``localhost``, from a test CA of its own."""
    faults_ca_file: str
    """That CA's certificate (PEM), on the host's file system."""

    def url(self, route: str, /, **query: object) -> str:
        """The URL of ``route`` on the route server, with ``query``."""
        return self.ws + route + (("?" + urlencode(query)) if query else "")

    def secure_url(self, route: str, /, **query: object) -> str:
        return self.wss + route + (("?" + urlencode(query)) if query else "")

    def fault_url(self, case: str, /, *, tls: bool = False, **query: object) -> str:
        """The URL of ``case`` on the fault-injection peer (or its TLS twin)."""
        base = self.faults_tls if tls else self.faults
        return f"{base}/case/{case}" + (("?" + urlencode(query)) if query else "")


ScenarioFunction = Callable[[Servers], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    module: str
    function: ScenarioFunction
    skip: Mapping[str, str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {}


@overload
def scenario(function: ScenarioFunction, /) -> ScenarioFunction: ...
@overload
def scenario(
    *, skip: Mapping[str, str] | None = None
) -> Callable[[ScenarioFunction], ScenarioFunction]: ...
def scenario(
    function: ScenarioFunction | None = None, /, *, skip: Mapping[str, str] | None = None
) -> Callable[[ScenarioFunction], ScenarioFunction] | ScenarioFunction:
    """Register a scenario: ``@scenario`` or ``@scenario(skip={"chromium": "why"})``."""

    def register(function: ScenarioFunction) -> ScenarioFunction:
        module = function.__module__.rpartition(".")[2]
        name = f"{module}.{function.__name__}"
        if name in SCENARIOS:
            raise ValueError(f"scenario {name} is registered twice")
        for runtime in skip or {}:
            if runtime not in RUNTIMES:
                raise ValueError(f"scenario {name}: unknown runtime {runtime!r}")
        SCENARIOS[name] = Scenario(name, module, function, dict(skip or {}))
        return function

    return register if function is None else register(function)


def skip_in(runtimes: Iterable[str], reason: str) -> dict[str, str]:
    """``skip=`` for a scenario that cannot run in any of ``runtimes``, for one reason."""
    return dict.fromkeys(runtimes, reason)


def load_all() -> dict[str, Scenario]:
    """Import every scenario module; return the registry."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return SCENARIOS


def current_runtime() -> str:
    """``"cpython"``, or under Pyodide the JavaScript runtime: ``"deno"``,
    ``"bun"``, ``"node"``, or a browser by its user agent: ``"firefox"``,
    ``"chromium"`` or ``"webkit"``."""
    if sys.platform != "emscripten":
        return "cpython"
    import js  # type: ignore[import-not-found]

    # Deno and Bun have a `process` too (and say they are "node"): ask them first.
    if hasattr(js, "Deno"):
        return "deno"
    if hasattr(js, "Bun"):
        return "bun"
    if hasattr(js, "process"):
        return "node"
    agent = str(js.navigator.userAgent)
    if "Firefox/" in agent:
        return "firefox"
    if "Chrome/" in agent:  # Chromium's user agent names Safari too
        return "chromium"
    return "webkit"
