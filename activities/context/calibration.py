"""How far a model's server counts from our count of what was sent, learned from reported usage.

A server reports `usage.prompt_tokens` for the prompt it evaluated. Our count of the same request
(`counted`: every message as sent, the tool catalogue inside the system message, and the schema or
tool definitions where the provider's server counts them) differs by the tokenizer and the chat
template. The calibration is the ratio reported / counted, so the difference is spread over
everything that was sent, never charged to one part of it.

It converges instead of compounding: each call's ratio is like for like (the prompt sent against
that prompt's count), the running value is a geometric moving average of them (an outlier moves it
halfway, a steady server pins it), and it is bounded to [MIN_RATIO, MAX_RATIO] so a server reporting
nonsense (zero, a cumulative count) cannot make a prompt look empty or a hundred times its size. The
bounds are wide on purpose: a server counting 4x our estimate on text our estimate itself undercounts
2-3x (digits, base64: docs/context.md) is 8-12x, and real. A server's refusal of a prompt as too long
is not bounded at all: it is the server's own count of that very prompt.

Where it lives: each run carries its own (`TokenCalibration` in workflow state), so a fresh worker,
a continued run and 20 interleaved runs each pack with what their own calls taught; a run's first
call starts from what this worker has learned of the model across runs (`MODELS`).
"""

from __future__ import annotations

import math
import threading

from workflows.contracts import TokenCalibration

MIN_RATIO = 1 / 16
MAX_RATIO = 16.0
WEIGHT = 0.5  # of the newest call in the moving average


def bounded(ratio: float) -> float:
    return min(max(ratio, MIN_RATIO), MAX_RATIO)


def observe(calibration: TokenCalibration, counted: int, reported: int) -> TokenCalibration:
    """`calibration` after a call whose prompt we counted as `counted` and the server as `reported`.
    A call that reported nothing (0: a stream without usage) teaches nothing."""
    if counted <= 0 or reported <= 0:
        return calibration
    ratio = bounded(reported / counted)
    if calibration.calls:
        ratio = math.exp((1 - WEIGHT) * math.log(calibration.ratio) + WEIGHT * math.log(ratio))
    return TokenCalibration(ratio=bounded(ratio), calls=calibration.calls + 1)


def observe_overflow(calibration: TokenCalibration, counted: int, at_least: int) -> TokenCalibration:
    """The server refused a prompt we counted as `counted` because it holds at least `at_least` tokens:
    from now on that prompt counts as at least that many, whatever the average said."""
    learned = observe(calibration, counted, at_least)
    floor = at_least / counted if counted > 0 else learned.ratio
    return learned.model_copy(update={"ratio": max(learned.ratio, floor)})


def tokens(counted: int, calibration: TokenCalibration) -> int:
    """`counted` in the server's tokens."""
    return math.ceil(counted * calibration.ratio)


class ModelCalibrations:
    """What this worker has learned of each model across runs: where a run's first call starts."""

    def __init__(self) -> None:
        self._by_model: dict[str, TokenCalibration] = {}
        self._lock = threading.Lock()

    def get(self, model: str) -> TokenCalibration:
        with self._lock:
            return self._by_model.get(model, TokenCalibration())

    def observe(self, model: str, counted: int, reported: int) -> None:
        with self._lock:
            self._by_model[model] = observe(self._by_model.get(model, TokenCalibration()), counted, reported)

    def clear(self) -> None:
        with self._lock:
            self._by_model.clear()


MODELS = ModelCalibrations()
