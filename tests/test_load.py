"""The load test (tests/loadtest/driver.py): 1,000 connections x 1,000 messages in one process.

The driver runs in a process of its own (so its peak RSS is the client's
alone) against a websockets echo server in another; this module checks what
it measured. Collected only when named (see conftest.py); tests/run's ``load``
stage (in the longer run, ``./tests/run --long``) runs it and sets
``PYWS_SHIM_LOAD_SUMMARY=docs/load.md``, where the driver writes its figures.
``PYWS_SHIM_LOAD_SIZE=CONNECTIONSxMESSAGES`` runs a smaller load (e.g. ``100x100``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tests" / "loadtest" / "driver.py"
RESULT = ROOT / "build" / "load" / "result.json"
SUMMARY = os.environ.get("PYWS_SHIM_LOAD_SUMMARY")
SIZE = os.environ.get("PYWS_SHIM_LOAD_SIZE", "1000x1000")
# The driver stops the load after DEADLINE seconds (then counts what did not
# finish); the process gets a margin on top for starting and stopping.
DEADLINE = 900


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    connections, messages = (int(n) for n in SIZE.split("x"))
    RESULT.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(DRIVER),
        f"--connections={connections}",
        f"--messages={messages}",
        f"--deadline={DEADLINE}",
        f"--json={RESULT}",
        "--command=./tests/run --only load",
    ]
    if SUMMARY:
        command.append(f"--summary={SUMMARY}")
    subprocess.run(command, cwd=ROOT, check=False, timeout=DEADLINE + 120)
    loaded: dict[str, Any] = json.loads(RESULT.read_text(encoding="utf-8"))
    return loaded


def test_every_connection_opened(result: dict[str, Any]) -> None:
    assert result["opened"] == result["connections"], result["warnings"]


def test_every_message_echoed_in_order(result: dict[str, Any]) -> None:
    assert result["mismatches"] == 0, result["described_mismatches"]
    assert result["messages_received"] == result["connections"] * result["messages"]
    assert result["complete"] == result["connections"]


def test_every_connection_closed_cleanly(result: dict[str, Any]) -> None:
    assert not result["timed_out"], f"not all closed within {result['deadline']} s"
    assert result["closed"] == result["connections"]
    assert result["errors"] == 0, result["warnings"]
    unclean = result["connections"] - result["clean"]
    assert unclean == 0, (
        f"{unclean} unclean ({result['unclean_after_all_echoes']} of them after every echo "
        f"had arrived), close codes {result['close_codes']}"
    )
    assert result["close_codes"] == {"1000": result["connections"]}


def test_nothing_reached_the_event_loop(result: dict[str, Any]) -> None:
    assert result["loop_exceptions"] == []
