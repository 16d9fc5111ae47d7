"""The close timeout's rule (pyws_shim.backends.close_timer), on a clock the
test moves: no sleeping, no timing. Both backends use this one class; the
fault scenarios check it end to end (a server that stops reading, one that
reads slowly)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from pyws_shim.backends.close_timer import CloseTimer

TIMEOUT = 10.0


class Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: Handle) -> bool:
        return self.when < other.when


class Clock:
    """The two methods of an event loop that CloseTimer uses, on a clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        assert delay >= 0
        handle = Handle(self.now + delay, callback)
        heapq.heappush(self.handles, handle)
        return handle

    def advance_to(self, when: float) -> None:
        while self.handles and self.handles[0].when <= when:
            handle = heapq.heappop(self.handles)
            self.now = handle.when
            if not handle.cancelled:
                handle.callback()
        self.now = when

    @property
    def pending(self) -> int:
        return sum(not handle.cancelled for handle in self.handles)


class Drain:
    """Bytes still on their way, as a function of time (a server reading at ``rate``)."""

    def __init__(self, clock: Clock, size: int, rate: float = 0.0, stops_at: float = 1e9) -> None:
        self.clock = clock
        self.size = size
        self.rate = rate
        self.stops_at = stops_at

    def __call__(self) -> int:
        read = self.rate * min(self.clock.now, self.stops_at)
        return max(0, int(self.size - read))


def timer(clock: Clock, undelivered: Callable[[], int], timeout: float | None = TIMEOUT) -> Any:
    expired: list[float] = []
    close_timer = CloseTimer(
        clock,  # type: ignore[arg-type]
        timeout,
        undelivered,
        lambda: expired.append(clock.now),
    )
    return close_timer, expired


def test_a_server_that_answers_nothing_is_dropped_after_the_timeout() -> None:
    clock = Clock()
    close_timer, expired = timer(clock, lambda: 0)
    close_timer.start()
    clock.advance_to(TIMEOUT - 0.001)
    assert expired == []
    clock.advance_to(100)
    assert expired == [TIMEOUT]


def test_a_server_that_reads_nothing_is_dropped_after_the_timeout() -> None:
    clock = Clock()
    close_timer, expired = timer(clock, Drain(clock, 32 * 2**20))
    close_timer.start()
    clock.advance_to(100)
    assert expired == [TIMEOUT]


def test_a_slow_reader_gets_everything_then_the_timeout() -> None:
    # 40 MB at 1 MB/s: drained after 40 s, four times the timeout.
    clock = Clock()
    close_timer, expired = timer(clock, Drain(clock, 40_000_000, rate=1_000_000))
    close_timer.start()
    clock.advance_to(40)
    assert expired == []
    clock.advance_to(200)
    assert len(expired) == 1
    # Counted from when it was seen drained (within a quarter of the timeout).
    assert 40 + TIMEOUT <= expired[0] <= 40 + TIMEOUT + TIMEOUT / 4


def test_a_reader_that_stops_halfway_is_dropped_a_timeout_later() -> None:
    clock = Clock()
    close_timer, expired = timer(clock, Drain(clock, 40_000_000, rate=1_000_000, stops_at=20))
    close_timer.start()
    clock.advance_to(200)
    assert len(expired) == 1
    assert 20 + TIMEOUT <= expired[0] <= 20 + TIMEOUT + TIMEOUT / 4


def test_cancel_stops_it_and_start_is_once() -> None:
    clock = Clock()
    close_timer, expired = timer(clock, lambda: 0)
    close_timer.start()
    clock.advance_to(5)
    close_timer.start()  # no new clock
    assert close_timer.running
    close_timer.cancel()
    assert not close_timer.running
    clock.advance_to(100)
    assert expired == []
    assert clock.pending == 0


def test_no_timeout_means_no_timer() -> None:
    clock = Clock()
    close_timer, expired = timer(clock, lambda: 1, timeout=None)
    close_timer.start()
    assert not close_timer.running
    assert clock.pending == 0
    clock.advance_to(1e6)
    assert expired == []
