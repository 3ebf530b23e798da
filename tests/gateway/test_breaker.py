"""The circuit breaker: opens on a failure rate over a window of calls, fails fast, probes once, closes."""

from __future__ import annotations

import asyncio

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


def test_opens_on_a_failure_rate_then_half_opens_and_closes():
    """Once the window holds min_calls calls, half of them failed opens it; calls are refused until the
    cool-down; one probe's success closes it."""
    clock, metrics = Clock(), Recorder()
    breaker = BreakerRegistry(min_calls=4, cooldown_s=10, metrics=metrics, clock=clock).for_endpoint("e")
    for failed in (True, True, True):
        assert breaker.allow()
        breaker.record_failure() if failed else breaker.record_success()
    assert breaker.state is BreakerState.CLOSED  # three calls: too few to judge
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED  # 3 of 4 failed, but the last one succeeded
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow() and metrics.rejections == 1
    clock.now = 10
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # only one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    assert [s for _, s in metrics.states] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_independent_errors_from_many_runs_do_not_open_it():
    """Ten concurrent runs that each meet one 500 are ten failures in a row: under the default minimum
    of calls they do not open the breaker, and the retries that follow keep the rate low."""
    breaker = BreakerRegistry().for_endpoint("e")
    for _ in range(10):
        breaker.record_failure("HTTP 500: one bad request")
    for _ in range(30):
        breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 10


def test_failures_older_than_the_window_do_not_count():
    """A rate over the last window_s seconds: yesterday's outage does not open today's breaker."""
    clock = Clock()
    breaker = BreakerRegistry(min_calls=4, window_s=30, clock=clock).for_endpoint("e")
    for _ in range(3):
        breaker.record_failure()
    clock.now = 31
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 1


def test_failed_probe_reopens_for_another_cool_down():
    """A probe that fails opens the breaker again from that moment."""
    clock = Clock()
    breaker = BreakerRegistry(min_calls=1, cooldown_s=5, clock=clock).for_endpoint("e")
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_in() == 5


def test_endpoints_are_independent():
    """One endpoint's outage does not open another's breaker."""
    registry = BreakerRegistry(min_calls=2)
    a, b = registry.for_endpoint("a"), registry.for_endpoint("b")
    a.record_failure()
    a.record_failure()
    assert registry.snapshot() == {"a": "open", "b": "closed"} and b.allow()


def test_callers_waiting_on_a_probe_go_through_the_moment_it_succeeds():
    """While the probe is out, other callers wait for its verdict instead of being refused: its success
    admits them all at once; a failed probe refuses them."""
    clock = Clock()
    breaker = BreakerRegistry(min_calls=1, cooldown_s=5, clock=clock).for_endpoint("e")
    breaker.record_failure("HTTP 500: down")
    clock.now = 5

    async def scenario(probe_succeeds: bool) -> list[bool]:
        assert await breaker.admit(wait_s=5)  # the probe
        waiting = [asyncio.ensure_future(breaker.admit(wait_s=5)) for _ in range(5)]
        await asyncio.sleep(0.2)
        assert not any(w.done() for w in waiting)
        breaker.record_success() if probe_succeeds else breaker.record_failure("HTTP 500: still down")
        return list(await asyncio.gather(*waiting))

    assert asyncio.run(scenario(True)) == [True] * 5
    breaker.record_failure()
    clock.now = 20
    assert asyncio.run(scenario(False)) == [False] * 5


def test_an_open_breaker_refuses_at_once():
    """Before the cool-down ends nobody waits: the workflow may fall back to another model."""
    breaker = BreakerRegistry(min_calls=1, cooldown_s=60).for_endpoint("e")
    breaker.record_failure()
    assert asyncio.run(breaker.admit(wait_s=30)) is False


def test_an_abandoned_probe_frees_the_half_open_breaker():
    """A probe whose call was cancelled (neither success nor failure) lets the next caller probe."""
    clock = Clock()
    breaker = BreakerRegistry(min_calls=1, cooldown_s=5, clock=clock).for_endpoint("e")
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
    breaker = BreakerRegistry(min_calls=1, cooldown_s=5, clock=clock).for_endpoint("e")
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    clock.now = 9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()


def test_the_breaker_remembers_the_last_failure():
    """An open breaker can say what opened it."""
    breaker = BreakerRegistry(min_calls=2).for_endpoint("e")
    breaker.record_failure("HTTP 429: slow down")
    breaker.record_failure("HTTP 500: down")
    assert breaker.state is BreakerState.OPEN and breaker.last_error == "HTTP 500: down"
