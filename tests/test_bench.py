"""The benchmark harness (bench/) measures what it says: a check, not a benchmark.

``bench/run --check --no-pyodide`` runs every CPython client of
bench/client.py, on every event loop it supports, through every workload
(small, 1 MiB, latency, idle; and with permessage-deflate) against the
bench's Node.js ``ws`` echo server, with tiny counts; each client compares
every echo whole with what it sent and reports ``ok`` only when every message
came back intact, in order, and (for the deflate runs) deflate was
negotiated. Each test here is one client, loop and workload of that run.
Nothing is timed and no speed is asserted.

bench/run sets itself up first (build/bench-venv with the ``bench``
dependency group, ``npm ci`` for Node 24 and bench/'s ``ws``), so the first
run on a fresh machine takes longer.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT = 900


def load(name: str) -> ModuleType:
    """bench/NAME.py, imported under a name of its own (bench/ is not a package)."""
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(
        f"pyws_shim_bench_{name}", ROOT / "bench" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = load("bench")
client = load("client")


def cases() -> list[Any]:
    found = []
    for series in bench.series_of(bench.CHECK, client.CLIENTS):
        for variant in bench.variants(series.clients):
            found.append(pytest.param(series, variant, id=f"{series.key}-{variant.name}"))
    return found


@pytest.fixture(scope="module")
def check_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``bench/run --check --no-pyodide`` for every test here; its results."""
    results = tmp_path_factory.mktemp("bench") / "check.json"
    done = subprocess.run(
        [str(ROOT / "bench" / "run"), "--check", "--no-pyodide", "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        check=False,
    )
    if not results.is_file():
        pytest.fail(
            f"bench/run --check wrote no results (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    data: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(("series", "variant"), cases())
def test_every_echo_arrives_intact(check_run: dict[str, Any], series: Any, variant: Any) -> None:
    error = check_run["errors"].get(series.key, {}).get(variant.name)
    assert error is None, f"{variant.name} failed the {series.key} check: {error}"
    (result,) = check_run["cpython"][series.key][variant.name]
    assert result["ok"] is True
    if series.workload == "idle":
        assert result["connections"] == series.count
    else:
        assert result["messages"] == series.count
        assert result["cpu"] >= 0
        assert result["wall"] > 0


def test_the_check_of_each_echo_refuses_wrong_messages() -> None:
    """The harness's own comparison: a wrong, swapped or cut message fails it."""
    text = client.Messages(client.Job("raw", "asyncio", "small", "ws://127.0.0.1:1/", 3), 3, None)
    assert [text.check(i, client.text_message(i)) for i in range(3)] == [True] * 3
    assert not text.check(1, client.text_message(2))  # out of order
    assert not text.check(0, client.text_message(0)[:-1] + "!")  # one character changed
    assert not text.check(0, client.text_message(0).encode())  # binary for text
    payloads = client.large_payloads()
    for full in (True, False):
        job = client.Job("raw", "asyncio", "large", "ws://127.0.0.1:1/", 9, full_check=full)
        large = client.Messages(job, 9, payloads)
        assert large.check(8, payloads[0])
        assert large.check(3, payloads[3])
        assert not large.check(3, payloads[4])  # another message
        assert not large.check(3, payloads[3][:-1])  # one byte short
        assert not large.check(3, bytes([payloads[3][0] ^ 1]) + payloads[3][1:])  # first byte
    flipped = bytearray(payloads[5])
    flipped[len(flipped) // 2] ^= 1  # a byte in the middle: only the whole comparison sees it
    full_job = client.Job("raw", "asyncio", "large", "ws://127.0.0.1:1/", 9, full_check=True)
    assert not client.Messages(full_job, 9, payloads).check(5, bytes(flipped))


def test_the_bench_starts_chromium_as_the_suite_does() -> None:
    """bench/'s Pyodide-in-Chromium run reads the suite's offline flags
    (without them Chromium floods the closed network); the suite's check
    runs no Pyodide, so this is where a move of those flags shows."""
    from engines import CHROMIUM_FLAGS

    assert bench.chromium_flags() == CHROMIUM_FLAGS
