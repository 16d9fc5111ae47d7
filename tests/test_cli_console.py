"""``python -m pyws_shim``: the console's commands and Ctrl-C, as a user types
them (a separate process, through a pseudo-terminal and a pipe; the helpers
are tests/test_cli.py's)."""

from __future__ import annotations

import pytest
from scenarios import Servers
from test_cli import MODES, finish, run_cli, spawn

from pyws_shim.console import COMMANDS


@pytest.mark.parametrize("mode", MODES)
def test_help_lists_the_commands_and_the_connection_stays_open(mode: str, servers: Servers) -> None:
    status, output = run_cli(mode, servers.url("/echo"), lines=["/help", "after help"])
    assert status == 0, output
    # Each line of the list, as an "info" line.
    assert "\n".join(f"* {line}" for line in COMMANDS.splitlines()) in output, output
    assert "< after help" in output, output


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_command_says_so_and_sends_nothing(mode: str, servers: Servers) -> None:
    status, output = run_cli(mode, servers.url("/echo"), lines=["/shout hello", "plain"])
    assert status == 0, output
    assert "* unknown command '/shout'; /help lists them" in output, output
    # Only the plain line went to the server and came back.
    assert [line for line in output.splitlines() if line.startswith("< ")] == ["< plain"]


def test_ctrl_c_at_the_prompt_exits_130(servers: Servers) -> None:
    # 130: 128 + SIGINT, as a shell reports a program that Ctrl-C ended.
    child = spawn(servers.url("/echo"))
    child.expect_exact("* open")
    child.sendline("before")
    child.expect_exact("< before")
    child.sendintr()  # the terminal's interrupt character: SIGINT to the client
    assert finish(child) == 130
