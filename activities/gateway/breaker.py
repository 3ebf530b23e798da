"""A circuit breaker per provider endpoint, shared by every activity in the worker process.

It opens on a failure rate, not a streak: when at least `min_calls` calls ended within the last
`window_s` seconds and at least `failure_rate` of them were outage-type failures. A streak would
open on independent errors that merely arrive together (one 500 in each of ten concurrent runs is ten
failures in a row, and an endpoint that serves 90% of its calls); a rate over a window of calls tells
that apart from an endpoint that is down.

While open, calls fail at once (non-retryably), so the workflow falls back to the next model, or
waits the outage out, instead of spending its retries on timeouts. After `cooldown_s` the breaker is
half-open: one call goes through as the probe, and the calls that arrive meanwhile wait for its
verdict (`admit`) instead of being refused: the probe's success closes the breaker and lets every
one of them through at once. A probe that ends with neither verdict (its activity was cancelled) is
abandoned, and a probe out for longer than a cool-down is presumed lost: either way the next caller
probes, so a breaker can never stay half-open for good. The breaker remembers the last failure so
that a refusal names the real cause. State changes are logged and exported as metrics.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class BreakerState(Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class BreakerMetrics(Protocol):
    def state_changed(self, endpoint: str, state: BreakerState) -> None: ...

    def rejected(self, endpoint: str) -> None: ...


class NoMetrics:
    def state_changed(self, endpoint: str, state: BreakerState) -> None:
        pass

    def rejected(self, endpoint: str) -> None:
        pass


PROBE_POLL_S = 0.05  # how often a caller waiting on a probe looks at the verdict


@dataclass
class CircuitBreaker:
    endpoint: str
    failure_rate: float = 0.5
    min_calls: int = 20
    window_s: float = 30.0
    cooldown_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    metrics: BreakerMetrics = field(default_factory=NoMetrics)
    state: BreakerState = BreakerState.CLOSED
    opened_at: float = 0.0
    last_error: str = ""
    _outcomes: deque = field(default_factory=deque)  # (when, failed) of calls that ended in the window
    _probe_out: bool = False
    _probe_started: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def failures(self) -> int:
        """Failures among the calls in the window."""
        with self._lock:
            self._forget_old()
            return sum(failed for _, failed in self._outcomes)

    def allow(self) -> bool:
        """May a call go out now? Half-open lets exactly one probe through."""
        if self._try():
            return True
        self.metrics.rejected(self.endpoint)
        return False

    async def admit(self, wait_s: float) -> bool:
        """`allow`, except that while a probe is out the caller waits (up to `wait_s` seconds) for its
        verdict: admitted as soon as it succeeds, refused if it fails. An open breaker refuses at once."""
        deadline = time.monotonic() + wait_s
        while not self._try():
            if self.state is not BreakerState.HALF_OPEN or time.monotonic() >= deadline:
                self.metrics.rejected(self.endpoint)
                return False
            await asyncio.sleep(PROBE_POLL_S)
        return True

    def _try(self) -> bool:
        with self._lock:
            if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.cooldown_s:
                self._move(BreakerState.HALF_OPEN)
            if self.state is BreakerState.CLOSED:
                return True
            if self.state is BreakerState.HALF_OPEN and (
                not self._probe_out or self.clock() - self._probe_started >= self.cooldown_s
            ):
                self._probe_out = True
                self._probe_started = self.clock()
                return True
            return False

    def retry_in(self) -> float:
        return max(self.cooldown_s - (self.clock() - self.opened_at), 0.0)

    def record_success(self) -> None:
        with self._lock:
            self._record(False)
            self._probe_out = False
            if self.state is not BreakerState.CLOSED:
                self._outcomes.clear()  # the outage is over: its failures must not reopen the breaker
                self._move(BreakerState.CLOSED)

    def abandon(self) -> None:
        """The call ended without an answer either way (cancelled): free the probe, count nothing."""
        with self._lock:
            self._probe_out = False

    def record_failure(self, error: str = "") -> None:
        with self._lock:
            self._record(True)
            self.last_error = error or self.last_error
            self._probe_out = False
            if self.state is BreakerState.HALF_OPEN or self._tripped():
                self.opened_at = self.clock()
                if self.state is not BreakerState.OPEN:
                    self._move(BreakerState.OPEN)

    def _record(self, failed: bool) -> None:
        self._outcomes.append((self.clock(), failed))
        self._forget_old()

    def _forget_old(self) -> None:
        horizon = self.clock() - self.window_s
        while self._outcomes and self._outcomes[0][0] < horizon:
            self._outcomes.popleft()

    def _tripped(self) -> bool:
        calls = len(self._outcomes)
        failed = sum(failed for _, failed in self._outcomes)
        return calls >= self.min_calls and failed >= self.failure_rate * calls

    def _move(self, state: BreakerState) -> None:
        calls = len(self._outcomes)
        log.warning("circuit_breaker.state", endpoint=self.endpoint, state=state.name.lower(),
                    previous=self.state.name.lower(), calls_in_window=calls,
                    failures_in_window=sum(failed for _, failed in self._outcomes))
        self.state = state
        self.metrics.state_changed(self.endpoint, state)


class BreakerRegistry:
    def __init__(self, failure_rate: float = 0.5, min_calls: int = 20, window_s: float = 30.0,
                 cooldown_s: float = 5.0, metrics: BreakerMetrics | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < failure_rate <= 1:
            raise ValueError(f"failure_rate must be in (0, 1], got {failure_rate}")
        self.failure_rate, self.min_calls, self.window_s, self.cooldown_s = failure_rate, min_calls, window_s, cooldown_s
        self.metrics = metrics or NoMetrics()
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def for_endpoint(self, endpoint: str) -> CircuitBreaker:
        with self._lock:
            if endpoint not in self._breakers:
                self._breakers[endpoint] = CircuitBreaker(
                    endpoint, self.failure_rate, self.min_calls, self.window_s, self.cooldown_s, self.clock,
                    self.metrics)
            return self._breakers[endpoint]

    def snapshot(self) -> dict[str, str]:
        return {e: b.state.name.lower() for e, b in self._breakers.items()}
