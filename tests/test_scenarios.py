"""Every scenario of ``tests/scenarios`` run in CPython against the loopback servers."""

from __future__ import annotations

import asyncio

import pytest
from scenarios import Scenario, Servers, load_all

SCENARIO_TIMEOUT = 60.0

ALL = load_all()


@pytest.mark.parametrize("case", list(ALL.values()), ids=list(ALL))
def test_scenario(case: Scenario, servers: Servers) -> None:
    if "cpython" in case.skip:
        pytest.skip(case.skip["cpython"])
    asyncio.run(asyncio.wait_for(case.function(servers), SCENARIO_TIMEOUT))
