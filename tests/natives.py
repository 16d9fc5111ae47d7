"""Measure each engine's native WebSocket where the engines differ (RUNTIMES.md).

Plain JavaScript (``tests/host/natives.mjs``), no Pyodide and no pyws_shim,
against the same loopback servers as the scenarios, in the engines of
``tests/engines.py``'s table, started the same way::

    .venv/bin/python tests/natives.py                 # every engine
    .venv/bin/python tests/natives.py firefox deno    # some

It prints one table: a row per check, a column per engine. Run it after
``./tests/run`` has set everything up.
"""

from __future__ import annotations

import argparse
import queue
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from engines import ENGINES, LOAD_TIMEOUT, Engine, Run, serve
from servers import LoopbackServers


def measure(engine: Engine, servers: dict[str, str]) -> dict[str, Any]:
    """The facts natives.mjs measured in ``engine`` (or why there are none)."""
    missing = engine.missing()
    if missing:
        return {"error": "; ".join(missing)}
    run = Run(engine.name)
    facts: dict[str, Any] = {"error": "no answer"}
    with (
        serve({"servers": servers}, run) as (base, messages),
        engine.start(base, "natives", run.log) as running,
    ):
        deadline = time.monotonic() + LOAD_TIMEOUT
        while time.monotonic() < deadline and running():
            try:
                message = messages.get(timeout=1.0)
            except queue.Empty:
                continue
            if message.get("type") == "natives":
                facts = message["facts"]
            elif message.get("type") == "done":
                break
            else:
                facts = {"error": str(message.get("message", message))}
                break
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engines", nargs="*", help=f"some of: {' '.join(ENGINES)}")
    names = parser.parse_args().engines or list(ENGINES)
    unknown = [name for name in names if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engines: {' '.join(unknown)}")
    loopback = LoopbackServers()
    servers = loopback.start()
    try:
        results = {name: measure(ENGINES[name], servers) for name in names}
    finally:
        loopback.stop()
    checks = list(dict.fromkeys(key for facts in results.values() for key in facts))
    for check in checks:
        print(f"## {check}")
        for name, facts in results.items():
            print(f"  {name:15} {facts.get(check, '-')}")


if __name__ == "__main__":
    main()
