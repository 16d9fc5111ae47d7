"""Real proxies on loopback for the CPython proxy tests: pproxy processes.

pproxy (PyPI, pure Python, asyncio) speaks HTTP CONNECT, SOCKS4 and SOCKS5
on one port. Each :class:`ProxyProcess` runs ``python -m pproxy -v`` as a
separate process, as a user would run a proxy, and keeps its log: one line
per tunnel it opened (``http 127.0.0.1:51978 -> 127.0.0.1:8765``), so a test
can tell that a connection really went through it, or did not.

The fixtures (imported by conftest.py): ``open_proxy`` (HTTP CONNECT, SOCKS4
and SOCKS5, no credentials), ``auth_proxy`` (the same, demanding
``user:secret``; pproxy's memory of authenticated clients is turned off with
``--auth 0``), ``blocking_proxy`` (refuses every destination: it closes the
connection without an answer). Each is started once per session.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

__all__ = ["PROXY_USER", "ProxyProcess", "auth_proxy", "blocking_proxy", "open_proxy"]

PROXY_USER = ("user", "p@ss:word")
"""The credentials ``auth_proxy`` demands (a password that needs percent-encoding)."""
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ``python -m pproxy``, without uvloop: pproxy 2.7.9 uses uvloop when it can
# import it (the test environment has it, for the scenarios), and then fails
# to start with uvloop 0.23 ("There is no current event loop").
_PPROXY = (
    "import sys; sys.modules['uvloop'] = None; sys.argv[0] = 'pproxy'; "
    "from pproxy.server import main; main()"
)


class ProxyProcess:
    """``pproxy -l PROTOCOLS://127.0.0.1:PORT[#AUTH] -v [ARGS]`` (see _PPROXY)."""

    def __init__(self, protocols: str, *args: str, auth: tuple[str, str] | None = None) -> None:
        self.port = _free_port()
        listen = f"{protocols}://127.0.0.1:{self.port}"
        if auth is not None:
            listen += "#" + ":".join(auth)
        self.lines: list[str] = []
        self._changed = threading.Condition(threading.RLock())
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-c", _PPROXY, "-l", listen, "-v", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self.wait_for(rf"Serving on .*:{self.port}", START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"pproxy did not start: {self.lines}")

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def url(self, scheme: str = "http", auth: tuple[str, str] | None = None) -> str:
        """This proxy's URL with ``scheme`` (``http``, ``socks5``, ...)."""
        from urllib.parse import quote

        user_info = "" if auth is None else f"{quote(auth[0], safe='')}:{quote(auth[1], safe='')}@"
        return f"{scheme}://{user_info}127.0.0.1:{self.port}"

    def wait_for(self, pattern: str, timeout: float) -> bool:
        """Whether a log line matching ``pattern`` arrives within ``timeout`` seconds."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(compiled.search(line) for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._process.poll() is not None:
                    return False
                self._changed.wait(remaining)
            return True

    def tunnels_to(self, port: int) -> list[str]:
        """The log lines of tunnels opened to ``127.0.0.1:port`` or ``localhost:port``."""
        with self._changed:  # reentrant: tunnels() holds it too
            return [
                line
                for line in self.lines
                if re.search(rf" -> (127\.0\.0\.1|localhost):{port}$", line)
            ]

    def tunnels(self, port: int, expected: int, timeout: float = 10.0) -> int:
        """How many tunnels to ``port`` the log shows, once it shows ``expected``
        (or ``timeout`` seconds have passed): the log is read on a thread of
        its own, so a line may arrive just after the connection it logs."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.tunnels_to(port)) < expected:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return len(self.tunnels_to(port))

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()


def _started(
    protocols: str, *args: str, auth: tuple[str, str] | None = None
) -> Iterator[ProxyProcess]:
    proxy = ProxyProcess(protocols, *args, auth=auth)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def open_proxy() -> Iterator[ProxyProcess]:
    """HTTP CONNECT, SOCKS4 and SOCKS5, no credentials."""
    yield from _started("http+socks4+socks5")


@pytest.fixture(scope="session")
def auth_proxy() -> Iterator[ProxyProcess]:
    """HTTP CONNECT and SOCKS5, demanding ``PROXY_USER`` on every connection."""
    yield from _started("http+socks5", "--auth", "0", auth=PROXY_USER)


@pytest.fixture(scope="session")
def blocking_proxy() -> Iterator[ProxyProcess]:
    """HTTP CONNECT and SOCKS5 that refuse every destination."""
    yield from _started("http+socks5", "-b", "{.*}")
