"""Fixtures shared by the whole suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The scenarios package and the servers are imported as top-level modules,
# the way the Pyodide runs import them too.
sys.path.insert(0, str(Path(__file__).parent))

from scenarios import Servers
from servers import LoopbackServers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The loopback servers, started once for the session."""
    loopback = LoopbackServers()
    urls = loopback.start()
    try:
        yield urls
    finally:
        loopback.stop()
