"""Token counting per model: the model's own tokenizer where one is available offline, else an
estimate. Either way the count is of what is sent, and the server's reported usage calibrates it
(activities/context/calibration.py); a counter itself never changes with what servers report.

- `GGUFTokenizer`: the GGUF's own vocabulary through llama.cpp (`vocab_only=True` loads no weights,
  ~0.3 s), and its own chat template, so counts match what llama.cpp's server evaluates.
- `HFTokenizer`: a `tokenizer.json` of a self-hosted model (SGLang, vLLM) through `tokenizers`.
- `EstimatingCounter`: models whose tokenizer is not available offline (OpenAI, Anthropic, a server
  without a `tokenizer_file`): UTF-8 bytes / 4. Bytes rather than characters because a character
  outside ASCII is one to three tokens in every BPE vocabulary measured (docs/context.md, Token counting).
The budget is exact in every case: context window minus the output tokens we reserve.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from activities.providers.control_tokens import neutralise_messages
from workflows.contracts import Message

# ChatML-style framing (<|im_start|>role\n ... <|im_end|>\n) costs about this many tokens per message;
# used where no chat template is known.
DEFAULT_MESSAGE_OVERHEAD = 4


class TokenCounter(Protocol):
    name: str
    exact: bool
    # True when a prompt's count is the sum of its messages' counts (no template that joins them).
    additive: bool

    def count(self, text: str) -> int: ...

    def message_tokens(self, message: Message) -> int:
        """One message's tokens including its framing (role markers), for per-item budgeting."""
        ...

    def count_messages(self, messages: list[Message]) -> int: ...


def budget_tokens(context_window: int, reserved_output: int) -> int:
    """The prompt budget: exact, and an error when nothing is left for the prompt."""
    if reserved_output >= context_window:
        raise ValueError(f"reserved output {reserved_output} leaves no room in a {context_window}-token window")
    return context_window - reserved_output


class GGUFTokenizer:
    """Exact counts with the GGUF's tokenizer and chat template, as llama.cpp's server applies them."""

    exact = True
    additive = False  # the chat template is rendered over the whole prompt

    def __init__(self, model_path: Path | str) -> None:
        import llama_cpp  # imported here: activity modules have no import-time side effects
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = f"gguf:{Path(model_path).name}"
        self._llama = llama_cpp.Llama(str(model_path), vocab_only=True, verbose=False)
        self._lock = threading.Lock()  # the llama.cpp vocabulary is not documented as thread-safe
        template = self._llama.metadata.get("tokenizer.chat_template")
        self._formatter = None
        if template:
            eos = self._token_text("tokenizer.ggml.eos_token_id")
            bos = self._token_text("tokenizer.ggml.bos_token_id")
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                                  add_generation_prompt=True)
        # Framing of one message in this template: the difference a second, empty message makes.
        one = [Message(role="system", content="")]
        self.message_overhead = self.count_messages([*one, Message(role="user", content="")]) - self.count_messages(one)

    def _token_text(self, key: str) -> str:
        token_id = self._llama.metadata.get(key)
        if token_id is None:
            return ""
        return self._llama.detokenize([int(token_id)], special=True).decode("utf-8", errors="replace")

    def encode(self, text: str, special: bool = False) -> list[int]:
        with self._lock:
            return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def render(self, messages: list[Message]) -> str:
        """The prompt text the server builds from these messages (its chat template, generation prompt)."""
        messages = neutralise_messages(messages)  # as every ChatRequest sends them: counts stay exact
        if self._formatter is None:
            return "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
        chat: list[Any] = [{"role": m.role, "content": m.content} for m in messages]  # llama_cpp's message dicts
        return self._formatter(messages=chat).prompt

    def encode_messages(self, messages: list[Message]) -> list[int]:
        return self.encode(self.render(messages), special=True)

    def count_messages(self, messages: list[Message]) -> int:
        return len(self.encode_messages(messages))

    def message_tokens(self, message: Message) -> int:
        return self.count(message.content) + self.message_overhead


class HFTokenizer:
    """Exact content counts with a Hugging Face `tokenizer.json`; framing by a fixed per-message overhead."""

    exact = True
    additive = True

    def __init__(self, tokenizer_file: Path | str, message_overhead: int = DEFAULT_MESSAGE_OVERHEAD) -> None:
        from tokenizers import Tokenizer

        self.name = f"tokenizer.json:{Path(tokenizer_file).parent.name or Path(tokenizer_file).name}"
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.message_overhead = message_overhead

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def message_tokens(self, message: Message) -> int:
        return self.count(message.content) + self.message_overhead

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.message_tokens(m) for m in messages)


class EstimatingCounter:
    """UTF-8 bytes / 4 per message, plus a fixed framing: the same for every model. How far a model's
    server counts from it is the calibration's business, per run and per model, not this counter's."""

    exact = False
    additive = True

    def __init__(self, bytes_per_token: float = 4.0, message_overhead: int = DEFAULT_MESSAGE_OVERHEAD) -> None:
        self.name = f"estimate:utf8/{bytes_per_token:g}"
        self.bytes_per_token = bytes_per_token
        self.message_overhead = message_overhead

    def count(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / self.bytes_per_token)

    def message_tokens(self, message: Message) -> int:
        return self.count(message.content) + self.message_overhead

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.message_tokens(m) for m in messages)


ESTIMATOR = EstimatingCounter()


@lru_cache(maxsize=8)
def gguf_tokenizer(model_path: str) -> GGUFTokenizer:
    return GGUFTokenizer(model_path)


@lru_cache(maxsize=8)
def hf_tokenizer(tokenizer_file: str) -> HFTokenizer:
    return HFTokenizer(tokenizer_file)


def counter_for(model: str, *, gguf_path: Path | str | None = None,
                tokenizer_file: Path | str | None = None) -> TokenCounter:
    """The best counter available for a model: its GGUF, its tokenizer file, else the estimator."""
    if gguf_path is not None:
        return gguf_tokenizer(str(gguf_path))
    if tokenizer_file is not None:
        return hf_tokenizer(str(tokenizer_file))
    return ESTIMATOR
