"""The README's examples, run as a new user would: a separate process,
pointed at a local echo server, prints the echo and exits.

The ``pyws_shim.client`` program runs twice: as the README has it, and
with websockets' own import line in its place, the program it was written
as; both print the same. (``tests/test_pyscript.py`` runs it in a page.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from scenarios import Servers

README = Path(__file__).parent.parent / "README.md"


def _first_python_block() -> str:
    match = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert match is not None, "README.md has no python example"
    return match.group(1)


def test_readme_example_prints_the_echo_and_exits(servers: Servers) -> None:
    example = _first_python_block()
    assert 'WebSocket("ws://127.0.0.1:8765/")' in example
    code = example.replace("ws://127.0.0.1:8765/", servers.url("/echo"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello\n"


CLIENT_IMPORT = "from pyws_shim.client import connect"
WEBSOCKETS_IMPORT = "from websockets.asyncio.client import connect"
CLIENT_OUTPUT = "hello\none\ntwo\nthree\nclosed with code 1000\n"


def client_program() -> tuple[str, str]:
    """The README's pyws_shim.client program, and the server URL it names."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    programs = [block for block in blocks if CLIENT_IMPORT in block and "asyncio.run" in block]
    assert len(programs) == 1, "README.md has no pyws_shim.client program (or several)"
    url = "ws://127.0.0.1:8765/"
    assert f'connect("{url}")' in programs[0]
    return programs[0], url


@pytest.mark.parametrize("client", ["pyws_shim.client", "websockets.asyncio.client"])
def test_readme_client_program_runs_with_either_import(client: str, servers: Servers) -> None:
    program, url = client_program()
    code = program.replace(url, servers.url("/echo"))
    if client == "websockets.asyncio.client":
        # The program as written for websockets: its import line is all that differs.
        line = next(line for line in code.splitlines() if line.startswith(CLIENT_IMPORT))
        code = code.replace(line, WEBSOCKETS_IMPORT)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == CLIENT_OUTPUT
