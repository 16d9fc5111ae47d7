"""Every scenario of ``tests/scenarios`` run in CPython against the loopback
servers, on asyncio's own event loop and on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from scenarios import Scenario, Servers, load_all

SCENARIO_TIMEOUT = 60.0

ALL = load_all()

Runner = Callable[[Coroutine[Any, Any, None]], None]


def _uvloop_run(coroutine: Coroutine[Any, Any, None]) -> None:
    import uvloop

    uvloop.run(coroutine)


LOOPS: dict[str, Runner] = {"asyncio": asyncio.run, "uvloop": _uvloop_run}


@pytest.mark.parametrize("loop", list(LOOPS))
@pytest.mark.parametrize("case", list(ALL.values()), ids=list(ALL))
def test_scenario(case: Scenario, loop: str, servers: Servers) -> None:
    if "cpython" in case.skip:
        pytest.skip(case.skip["cpython"])
    LOOPS[loop](asyncio.wait_for(case.function(servers), SCENARIO_TIMEOUT))
