"""The close timeout, one rule for every backend.

Neither the standard nor RFC 6455 bounds the closing handshake; RFC 6455 7.1.1
only says the client "SHOULD wait for the server to close the connection but
MAY close the connection at any time". pyws_shim's ``close_timeout`` bounds it
so that:

- a server that reads nothing and answers nothing is dropped after
  ``close_timeout`` seconds (``close`` 1006, ``wasClean`` false);
- a server that keeps reading receives everything sent before ``close()``:
  while the client's bytes drain, each ``close_timeout`` without progress
  ends it, but draining that makes progress does not count against it;
- once everything, the close frame last, has reached the server (as far as
  the backend can tell), the server has ``close_timeout`` seconds to finish
  the handshake.

A backend says how many bytes are still on their way (``undelivered``) and
what dropping the connection means (``expire``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["CloseTimer"]

# While bytes drain, look at their progress this many times per close_timeout.
CHECKS_WHILE_DRAINING = 4


class CloseTimer:
    """``start()`` when the closing handshake starts (or the connection fails
    with bytes still going out); ``cancel()`` when the connection closes."""

    __slots__ = (
        "_drained_at",
        "_expire",
        "_handle",
        "_loop",
        "_progress_at",
        "_remaining",
        "_timeout",
        "_undelivered",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: float | None,
        undelivered: Callable[[], int],
        expire: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._timeout = timeout
        self._undelivered = undelivered
        self._expire = expire
        self._handle: asyncio.TimerHandle | None = None
        self._remaining = 0  # bytes undelivered at the last progress seen
        self._progress_at = 0.0
        self._drained_at: float | None = None  # when everything had reached the server

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        """Start the clock (once: later calls change nothing)."""
        if self._timeout is None or self._handle is not None or self._drained_at is not None:
            return
        now = self._loop.time()
        self._remaining = self._undelivered()
        self._progress_at = now
        if self._remaining <= 0:
            self._drained_at = now
        self._schedule(now)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, now: float) -> None:
        timeout = self._timeout
        assert timeout is not None
        if self._drained_at is not None:
            delay = self._drained_at + timeout - now
        else:
            delay = timeout / CHECKS_WHILE_DRAINING
        self._handle = self._loop.call_later(max(delay, 0.0), self._check)

    def _check(self) -> None:
        self._handle = None
        timeout = self._timeout
        assert timeout is not None
        now = self._loop.time()
        if self._drained_at is None:
            remaining = self._undelivered()
            if remaining <= 0:
                self._drained_at = now  # the server has it all: its turn now
            elif remaining < self._remaining:
                self._remaining = remaining  # the server keeps reading
                self._progress_at = now
            elif now - self._progress_at >= timeout:
                self._expire()  # the server stopped reading
                return
        elif now - self._drained_at >= timeout:
            self._expire()  # the server did not finish the closing handshake
            return
        self._schedule(now)
