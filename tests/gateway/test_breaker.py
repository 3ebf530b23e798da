"""The circuit breaker: opens after K consecutive failures, fails fast, probes once, closes."""

from __future__ import annotations

from activities.gateway.breaker import BreakerRegistry, BreakerState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.states: list[tuple[str, BreakerState]] = []
        self.rejections = 0

    def state_changed(self, endpoint: str, state: BreakerState) -> None:
        self.states.append((endpoint, state))

    def rejected(self, endpoint: str) -> None:
        self.rejections += 1


def test_opens_after_k_failures_then_half_opens_and_closes():
    """Three failures open it; calls are refused until the cool-down; one probe's success closes it."""
    clock, metrics = Clock(), Recorder()
    breaker = BreakerRegistry(failure_threshold=3, cooldown_s=10, metrics=metrics, clock=clock).for_endpoint("e")
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow() and metrics.rejections == 1
    clock.now = 10
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # only one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    assert [s for _, s in metrics.states] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_failed_probe_reopens_for_another_cool_down():
    """A probe that fails opens the breaker again from that moment."""
    clock = Clock()
    breaker = BreakerRegistry(failure_threshold=1, cooldown_s=5, clock=clock).for_endpoint("e")
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_in() == 5


def test_success_resets_the_consecutive_count_and_endpoints_are_independent():
    """Failures must be consecutive, and one endpoint's outage does not open another's breaker."""
    registry = BreakerRegistry(failure_threshold=2)
    a, b = registry.for_endpoint("a"), registry.for_endpoint("b")
    a.record_failure()
    a.record_success()
    a.record_failure()
    assert a.state is BreakerState.CLOSED
    a.record_failure()
    assert registry.snapshot() == {"a": "open", "b": "closed"} and b.allow()


def test_an_abandoned_probe_frees_the_half_open_breaker():
    """A probe whose call was cancelled (neither success nor failure) lets the next caller probe."""
    clock = Clock()
    breaker = BreakerRegistry(failure_threshold=1, cooldown_s=5, clock=clock).for_endpoint("e")
    breaker.record_failure("HTTP 500: down")
    clock.now = 5
    assert breaker.allow() and not breaker.allow()
    breaker.abandon()
    assert breaker.state is BreakerState.HALF_OPEN and breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_a_probe_lost_for_a_whole_cool_down_is_replaced():
    """A probe nobody reports back on (a crashed caller) does not wedge the breaker: after a cool-down
    another caller probes."""
    clock = Clock()
    breaker = BreakerRegistry(failure_threshold=1, cooldown_s=5, clock=clock).for_endpoint("e")
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    clock.now = 9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()


def test_the_breaker_remembers_the_last_failure():
    """An open breaker can say what opened it."""
    breaker = BreakerRegistry(failure_threshold=2).for_endpoint("e")
    breaker.record_failure("HTTP 429: slow down")
    breaker.record_failure("HTTP 500: down")
    assert breaker.state is BreakerState.OPEN and breaker.last_error == "HTTP 500: down"
