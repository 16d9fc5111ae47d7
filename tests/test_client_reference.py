"""The bodies of ``tests/scenarios/client.py`` run against the reference,
``websockets.asyncio.client`` itself, in CPython.

The same bodies run with ``pyws_shim.client`` as scenarios (CPython, on
asyncio and uvloop, in ``tests/test_scenarios.py``; every engine in
``tests/test_in_engines.py``). Here each runs once, on asyncio, with the
same leak checks: what a body expects of websockets is what websockets does.
Where pyws_shim.client differs by design, the body says so through
``api.differs`` (``scenarios.client.Differences``), which is all false here
but for what an older websockets does differently (the lowest accepted).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import test_scenarios as harness
from scenarios import Scenario, Servers
from scenarios.client import BODIES, WEBSOCKETS, Body, ClientAPI
from websockets import exceptions
from websockets.asyncio import client
from websockets.client import backoff, process_exception
from websockets.datastructures import Headers
from websockets.protocol import State
from websockets.version import version as websockets_version

REFERENCE = ClientAPI(
    name="websockets.asyncio.client",
    connect=client.connect,
    ConnectionClosed=exceptions.ConnectionClosed,
    ConnectionClosedOK=exceptions.ConnectionClosedOK,
    ConnectionClosedError=exceptions.ConnectionClosedError,
    InvalidURI=exceptions.InvalidURI,
    InvalidHandshake=exceptions.InvalidHandshake,
    InvalidMessage=exceptions.InvalidMessage,
    InvalidStatus=exceptions.InvalidStatus,
    ConcurrencyError=exceptions.ConcurrencyError,
    ProtocolError=exceptions.ProtocolError,
    Headers=Headers,
    State=State,
    backoff=backoff,
    process_exception=process_exception,
    differs=replace(
        WEBSOCKETS,
        failure_without_cause=tuple(map(int, websockets_version.split(".")[:2])) < (17, 4),
    ),
)


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_client_reference(body: Body, servers: Servers) -> None:
    async def with_websockets(servers: Servers) -> None:
        await body(servers, REFERENCE)

    checker = harness.LeakChecker(servers, harness._timer_recording(harness.LOOPS["asyncio"]()))
    checker.run(Scenario(f"client.{body.__name__}", "client", with_websockets))
    checker.check()
