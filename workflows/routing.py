"""Model routing, decided in workflow code so every choice and every fallback is in history.

A route is the models file's ordered list for the step kind; a run's requested model goes first.
A model is eligible when it is available (its key is set), may receive the run's data class, and its
context window holds the prompt plus the reply. Fallback walks the same list.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from workflows.contracts import (
    DataClass,
    Message,
    ModelCatalogue,
    ModelInfo,
    StepKind,
    ToolSpec,
    canonical_json,
)

# Error types after which another provider may well succeed: outages and rate limits. Anything else
# (bad key, bad request, refusal, malformed decisions) would fail the same way elsewhere, or must not
# be retried elsewhere, so it fails the run.
FALLBACK_ERRORS = {
    "Provider.rate_limited",
    "Provider.unavailable",
    "Provider.timeout",
    "Provider.connection",
    "Provider.truncated_stream",
    "Provider.malformed_reply",
    "Provider.circuit_open",
}
CONTEXT_TOO_LONG = "Provider.context_length_exceeded"
# Recorded as a marker in new runs: a window is judged by the packer's own estimate of what it can never
# leave out, in each model's calibrated tokens. Runs recorded before judged by `estimate_tokens`.
ROUTE_PATCH = "route-by-packed-estimate"
# The reply-format instructions and framing render_prompt adds to the system message, in bytes.
_INSTRUCTION_BYTES = 400


@dataclass(frozen=True)
class Candidates:
    models: list[ModelInfo]
    skipped: list[str]  # "name: reason", for the state and the failure message


def estimate_tokens(messages: list[Message], tools: list[ToolSpec]) -> int:
    """A conservative estimate (3 characters a token) used only to pick a window big enough;
    the reported usage is what budgets count."""
    chars = sum(len(m.content) + 16 for m in messages) + sum(len(canonical_json(t.parameters)) + 200 for t in tools)
    return chars // 3 + 1


def pinned_tokens(messages: list[Message], tools: list[ToolSpec]) -> int:
    """What no prompt of the run can leave out (the system message with the tool catalogue, the goal,
    the newest messages), as the packer's estimate counts it: UTF-8 bytes / 4 and a little framing a
    message. Multiplied by a model's calibration it is that model's count (activities/context/)."""
    size = _INSTRUCTION_BYTES + sum(len(m.content.encode()) for m in messages)
    size += sum(len(t.name.encode()) + len(t.description.encode()) + len(canonical_json(t.parameters).encode()) + 40
                for t in tools)
    return math.ceil(size / 4) + 4 * len(messages)


def route(
    catalogue: ModelCatalogue,
    step_kind: StepKind,
    data_class: DataClass,
    needed_tokens: int | Mapping[str, int],
    requested: str | None = None,
    excluded: Collection[str] = frozenset(),
) -> Candidates:
    """`excluded` may map each name to why it failed this step; the reason then shows in `skipped`.
    `needed_tokens` is one count for every model, or each model's own (a model it does not name needs 0)."""
    order = list(catalogue.routes.get(step_kind) or catalogue.routes["act"])
    if requested is not None:
        order = [requested] + [n for n in order if n != requested]
    by_name = {m.name: m for m in catalogue.models}
    eligible: list[ModelInfo] = []
    skipped: list[str] = []
    for name in order:
        model = by_name.get(name)
        if model is None:
            skipped.append(f"{name}: not in the worker's models file")
        elif name in excluded:
            why = excluded[name] if isinstance(excluded, Mapping) else ""
            skipped.append(f"{name}: already failed this step" + (f" ({why})" if why else ""))
        elif not model.available:
            skipped.append(f"{name}: unavailable ({model.unavailable_reason})")
        elif data_class not in model.data_classes:
            skipped.append(f"{name}: may not receive {data_class} data")
        elif model.context_window < (needed := needed_tokens.get(name, 0) if isinstance(needed_tokens, Mapping)
                                     else needed_tokens):
            skipped.append(f"{name}: context window {model.context_window} < ~{needed} tokens needed")
        else:
            eligible.append(model)
    return Candidates(eligible, skipped)


def next_call_cost(model: ModelInfo, prompt_tokens: int, max_output_tokens: int) -> float:
    """The most the next call can cost: the whole prompt uncached and the longest reply."""
    return (prompt_tokens * model.price.input + max_output_tokens * model.price.output) / 1_000_000
