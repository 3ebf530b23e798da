"""Calibration: the server's count of what was sent over ours, like for like, bounded, converging."""

from __future__ import annotations

import pytest

from activities.context.calibration import (
    MAX_RATIO,
    MIN_RATIO,
    ModelCalibrations,
    observe,
    observe_overflow,
    tokens,
)
from workflows.contracts import TokenCalibration


@pytest.mark.parametrize("truth", [0.25, 0.5, 1.0, 2.0, 4.0])
def test_a_steady_server_is_learned_from_its_first_call_and_stays_learned(truth: float) -> None:
    """Whatever factor a server counts by, within 4x either way, the calibration holds it after one call
    and does not drift however many calls follow: it converges, it never compounds."""
    calibration = TokenCalibration()
    for counted in (900, 1_000, 2_500, 4_000, 40_000) * 20:
        calibration = observe(calibration, counted, round(counted * truth))
        assert calibration.ratio == pytest.approx(truth, rel=1e-3)
    assert calibration.calls == 100 and tokens(1_000, calibration) == pytest.approx(1_000 * truth, abs=1)


def test_an_outlier_moves_it_halfway_in_log_and_the_next_calls_bring_it_back() -> None:
    """One odd report (a repaired reply counted twice, a cached-token quirk) does not flip the ratio."""
    calibration = observe(TokenCalibration(), 1_000, 2_000)
    odd = observe(calibration, 1_000, 4_500)
    assert odd.ratio == pytest.approx(3.0)  # the geometric mean of 2 and 4.5
    back = observe(observe(odd, 1_000, 2_000), 1_000, 2_000)
    assert back.ratio == pytest.approx(6 ** 0.25 * 2 ** 0.5) and 2.0 < back.ratio < odd.ratio


def test_nonsense_reports_are_bounded_and_empty_ones_teach_nothing() -> None:
    """A cumulative count or a zero cannot make a prompt look a hundred times its size or empty."""
    assert observe(TokenCalibration(), 1_000, 1_000_000).ratio == MAX_RATIO
    assert observe(TokenCalibration(), 1_000, 1).ratio == MIN_RATIO
    untouched = TokenCalibration(ratio=1.5, calls=3)
    assert observe(untouched, 1_000, 0) == untouched and observe(untouched, 0, 500) == untouched


def test_a_refused_prompt_counts_at_least_what_the_server_said() -> None:
    """After a context-length refusal the same prompt counts as at least the server's number."""
    calibration = observe(TokenCalibration(), 1_000, 1_000)
    refused = observe_overflow(calibration, 2_000, 7_000)
    assert tokens(2_000, refused) >= 7_000 and refused.calls == 2


def test_a_worker_keeps_one_starting_point_per_model() -> None:
    """What a worker learned of one model is where that model's next run starts, and no other's."""
    models = ModelCalibrations()
    models.observe("a", 1_000, 3_000)
    assert models.get("a").ratio == pytest.approx(3.0) and models.get("b") == TokenCalibration()
