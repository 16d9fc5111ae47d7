"""Autobahn|Testsuite's fuzzingserver against pyws_shim's CPython client: one test per case.

The driver (tests/autobahn_suite/client.py) runs every selected case once for
the module, through pyws_shim's DOM API, then reads the server's report; each
test checks one case's result. OK, NON-STRICT and INFORMATIONAL pass;
UNIMPLEMENTED passes only for a case listed with its reason
(``UNIMPLEMENTED_REASONS``); anything else (FAILED, WRONG CODE, UNCLEAN,
FAILED BY CLIENT, a closing behaviour of FAILED, or no close event in time)
fails, with the report's words and what the client saw.

Collected only when named (see conftest.py). Environment:

- ``PYWS_SHIM_AUTOBAHN_CASES``: ``fast`` (the default: the groups of
  ``FAST_CASES``), ``all`` (all 517 cases), or wstest patterns (``7.*,12.1.*``);
- ``PYWS_SHIM_AUTOBAHN_SUMMARY``: where to write the Markdown summary (only when
  every case of the set ran, not for a ``-k`` selection);
- ``PYWS_SHIM_AUTOBAHN_REQUIRED=1``: a missing Python 2.7 environment fails
  instead of skipping (tests/run sets it; its ``setup_autobahn`` makes it).

``./tests/run --only autobahn`` runs the fast groups, ``--only autobahn-full``
all of them and rewrites docs/autobahn.md.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from autobahn_suite.client import (
    AUTOBAHN_DIR,
    UNIMPLEMENTED_REASONS,
    AutobahnUnavailable,
    FuzzingServer,
    SuiteRun,
    parse_cases,
    run_suite,
    summary_markdown,
)

CASES_NAME = os.environ.get("PYWS_SHIM_AUTOBAHN_CASES", "fast")
CASES = parse_cases(CASES_NAME)
SUMMARY = os.environ.get("PYWS_SHIM_AUTOBAHN_SUMMARY")
REQUIRED = os.environ.get("PYWS_SHIM_AUTOBAHN_REQUIRED") == "1"
WORKDIR = AUTOBAHN_DIR / (
    "fast" if CASES_NAME == "fast" else "all" if CASES_NAME == "all" else "some"
)
COMMANDS = {"fast": "./tests/run --only autobahn", "all": "./tests/run --only autobahn-full"}


def unavailable(reason: str) -> None:
    """Skip, or fail under tests/run, where the environment must be there."""
    if REQUIRED:
        pytest.fail(f"{reason} (PYWS_SHIM_AUTOBAHN_REQUIRED=1: tests/run should have set it up)")
    pytest.skip(reason)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per case, named by its ID, in the server's order (the server lists them)."""
    if "case_id" not in metafunc.fixturenames:
        return
    try:
        case_ids = FuzzingServer(WORKDIR, CASES).case_ids()
    except AutobahnUnavailable as exc:
        metafunc.parametrize("case_id", [pytest.param(f"unavailable: {exc}", id="unavailable")])
        return
    metafunc.parametrize("case_id", case_ids, ids=case_ids)


@pytest.fixture(scope="module")
def suite(request: pytest.FixtureRequest) -> SuiteRun:
    """Every selected case, run once against a fresh fuzzingserver."""
    selected: list[str] = []  # the cases this session runs (all, or a -k selection)
    for item in request.session.items:
        if isinstance(item, pytest.Function) and item.module is request.module:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "case_id" in callspec.params:
                selected.append(callspec.params["case_id"])
    run = asyncio.run(run_suite(CASES, WORKDIR, select=selected))
    if SUMMARY and len(run.cases) == len(FuzzingServer(WORKDIR, CASES).case_ids()):
        command = COMMANDS.get(CASES_NAME, f"PYWS_SHIM_AUTOBAHN_CASES={CASES_NAME} ...")
        Path(SUMMARY).write_text(summary_markdown(run, command), encoding="utf-8")
    return run


def test_case(case_id: str, request: pytest.FixtureRequest) -> None:
    if case_id.startswith("unavailable: "):
        unavailable(case_id.removeprefix("unavailable: "))
    result = request.getfixturevalue("suite").results[case_id]
    if result.outcome == "UNIMPLEMENTED" and case_id in UNIMPLEMENTED_REASONS:
        pytest.skip(f"unimplemented: {UNIMPLEMENTED_REASONS[case_id]}")  # not a pass
    if not result.accepted:
        pytest.fail(result.describe(), pytrace=False)


def test_server_listens_on_loopback_only() -> None:
    """The fuzzingserver's listening socket is bound to 127.0.0.1, not 0.0.0.0."""
    try:
        server = FuzzingServer(AUTOBAHN_DIR / "listen-check", ["1.1.1"])
        server.start()
    except AutobahnUnavailable as exc:
        unavailable(str(exc))
        return
    try:
        port = int(server.url.rsplit(":", 1)[1])
        listening = listening_addresses(port)
        assert listening == {"127.0.0.1"}, listening
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        server.stop()


def listening_addresses(port: int) -> set[str]:
    """The local IPv4 and IPv6 addresses with a socket listening on ``port`` (Linux /proc)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) != port or fields[3] != "0A":  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # /proc prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            family = socket.AF_INET if width == 4 else socket.AF_INET6
            found.add(socket.inet_ntop(family, words))
    return found
