"""Token counting: the GGUF's own tokenizer, a tokenizer.json, and the estimator that usage corrects."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.context.tokens import ESTIMATOR, budget_tokens, counter_for, gguf_tokenizer
from workflows.contracts import Message

MINILM_TOKENIZER = Path(__file__).resolve().parents[2] / "activities" / "retrieval" / "assets" / "tokenizer.json"


def test_gguf_tokenizer_counts_with_the_models_vocabulary(gguf_path: Path) -> None:
    """Qwen's vocabulary: 'hello world' is 2 tokens; a chat renders through its ChatML template."""
    tok = gguf_tokenizer(str(gguf_path))
    assert tok.exact and tok.encode("hello world") == [14990, 1879]
    messages = [Message(role="system", content="S"), Message(role="user", content="hi")]
    rendered = tok.render(messages)
    assert rendered == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.count_messages(messages) == len(tok.encode(rendered, special=True))
    assert tok.encode("<|im_start|>", special=True) == [151644]


def test_hf_tokenizer_file_counts_content_plus_framing() -> None:
    """A tokenizer.json counts the content's tokens exactly and adds a fixed framing per message."""
    tok = counter_for("self-hosted", tokenizer_file=MINILM_TOKENIZER)
    assert tok.exact and tok.count("hello world") == 2
    assert tok.count_messages([Message(role="user", content="hello world")]) == 2 + 4


def test_models_without_an_offline_tokenizer_share_one_estimator() -> None:
    """The estimate is the same for every model: how each model's server differs is its calibration's."""
    assert counter_for("gpt-x") is counter_for("claude-y") is ESTIMATOR and not ESTIMATOR.exact


def test_budget_is_window_minus_reserved_output() -> None:
    """The budget is exact; reserving the whole window is an error."""
    assert budget_tokens(4096, 512) == 3584
    with pytest.raises(ValueError, match="no room"):
        budget_tokens(512, 512)
