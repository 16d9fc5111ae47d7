"""The README's example, run as a new user would: a separate process,
pointed at a local echo server, prints the echo and exits."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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
