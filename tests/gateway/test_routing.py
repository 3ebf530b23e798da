"""Routing in workflow code: data class, context window, availability, requested model, exclusions."""

from __future__ import annotations

from workflows.contracts import Message, ModelCatalogue, ModelInfo, Price
from workflows.routing import estimate_tokens, next_call_cost, route


def model(name: str, self_hosted: bool = False, window: int = 10_000, available: bool = True) -> ModelInfo:
    classes = ["public", "internal", "confidential"] if self_hosted else ["public", "internal"]
    return ModelInfo(name=name, provider="sglang" if self_hosted else "openai", self_hosted=self_hosted,
                     context_window=window, max_output_tokens=100, data_classes=classes, available=available,
                     unavailable_reason=None if available else "KEY is not set", price=Price(input=2, output=8))


CATALOGUE = ModelCatalogue(
    models=[model("hosted"), model("local", self_hosted=True, window=2_000), model("big", window=200_000),
            model("keyless", available=False)],
    routes={"plan": ["big", "hosted"], "act": ["keyless", "hosted", "local", "big"], "summarize": ["local"]},
)


def names(candidates) -> list[str]:
    return [m.name for m in candidates.models]


def test_route_order_skips_unavailable_models_with_a_reason():
    """The act route skips the model without a key and says why."""
    c = route(CATALOGUE, "act", "internal", 1_000)
    assert names(c) == ["hosted", "local", "big"]
    assert c.skipped == ["keyless: unavailable (KEY is not set)"]


def test_confidential_data_only_reaches_self_hosted_models():
    """A confidential run's candidates are self-hosted whatever the route lists."""
    assert names(route(CATALOGUE, "act", "confidential", 1_000)) == ["local"]
    assert names(route(CATALOGUE, "plan", "confidential", 1_000)) == []


def test_context_size_and_requested_model_and_exclusions():
    """Small windows drop out for big prompts; a requested model goes first; failed ones are excluded."""
    assert names(route(CATALOGUE, "act", "internal", 50_000)) == ["big"]
    assert names(route(CATALOGUE, "act", "internal", 1_000, requested="big")) == ["big", "hosted", "local"]
    assert names(route(CATALOGUE, "act", "internal", 1_000, excluded=frozenset({"hosted"}))) == ["local", "big"]


def test_estimates_are_deterministic_and_cost_is_an_upper_bound():
    """The same messages give the same estimate; the next-call bound prices every prompt token uncached."""
    messages = [Message(role="user", content="x" * 300)]
    assert estimate_tokens(messages, []) == estimate_tokens(list(messages), []) == (300 + 16) // 3 + 1
    assert next_call_cost(model("hosted"), 1_000, 100) == (1_000 * 2 + 100 * 8) / 1e6
