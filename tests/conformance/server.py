"""A model server for the conformance suite: the real wire protocols, a real tokenizer, real refusals.

It counts a request the way a server of its kind does: the chat template over the messages, tokenized
with a real BPE vocabulary (the embedded model's Qwen GGUF), plus the schema where OpenAI's API
counts it and the tool definitions where Anthropic's does. `scale` stands for a finer or coarser
tokenizer than that one (0.5x, 2x, 4x); `count_body` for a server that counts a quarter of the request
body's bytes. It reports that count as usage and, like every real server, refuses a prompt that with
its `max_tokens` does not fit its window, in its vendor's own words.

The model behind it decides only from the request it is sent (tests/conformance/model.py).
"""

from __future__ import annotations

import json
import math
from typing import Any

from activities.context.tokens import gguf_tokenizer
from inference.embedded_model import ensure_model
from tests.wire_server import Fault, ModelWireServer, _common_prefix, _text


def _tokenizer():
    return gguf_tokenizer(str(ensure_model()))


def _refusal(kind: str, window: int, prompt: int, completion: int) -> str:
    """What each kind of server says when a prompt does not fit (each as its source writes it)."""
    if kind == "anthropic":
        return f"prompt is too long: {prompt} tokens > {window} maximum"
    if kind == "sglang":
        return (f"Requested token count exceeds the model's maximum context length of {window} tokens. You requested "
                f"a total of {prompt + completion} tokens: {prompt} tokens from the input messages and {completion} "
                "tokens for the completion. Please reduce the number of tokens in the input messages or the "
                "completion to fit within the limit.")
    if kind == "openai":
        return (f"This model's maximum context length is {window} tokens. However, your messages resulted in "
                f"{prompt} tokens. Please reduce the length of the messages.")
    # vLLM, and llama-cpp-python's server, which words its refusals as vLLM does
    return (f"This model's maximum context length is {window} tokens. However, you requested {prompt + completion} "
            f"tokens ({prompt} in the messages, {completion} in the completion). Please reduce the length of the "
            "messages or completion.")


class ConformanceServer(ModelWireServer):
    def __init__(self, respond, kind: str, window: int, scale: float = 1.0, count_body: bool = False) -> None:
        self.kind, self.window, self.scale, self.count_body = kind, window, scale, count_body
        self.refusals = 0
        self._decide = respond
        super().__init__(self._respond)

    # -- counting ---------------------------------------------------------------------------------

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        if self.count_body:
            return math.ceil(len(json.dumps(body).encode()) / 4 * self.scale)
        tok = _tokenizer()
        if _is_anthropic(body):
            system = "".join(block.get("text", "") for block in body.get("system") or [])
            turns = "".join(f"<|im_start|>{m['role']}\n{_text(m['content'])}<|im_end|>\n" for m in body["messages"])
            n = tok.count(json.dumps(body.get("tools", []))) + tok.count(system) + len(tok.encode(turns, special=True))
        else:
            chatml = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in body["messages"])
            n = len(tok.encode(chatml + "<|im_start|>assistant\n", special=True))
            if self.kind == "openai" and "response_format" in body:
                n += tok.count(json.dumps(body["response_format"]))
        return math.ceil(n * self.scale)

    # -- the wire ---------------------------------------------------------------------------------

    def _respond(self, body: dict[str, Any]) -> Any:
        prompt, completion = self.prompt_tokens(body), int(body.get("max_tokens") or 0)
        if prompt + completion > self.window:
            with self._lock:
                self.refusals += 1
            return Fault(400, _refusal(self.kind, self.window, prompt, completion))
        return self._decide(body)

    def _openai_usage(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = self.prompt_tokens(body)
        seen = "".join(m["content"] for m in body["messages"])
        shared = _common_prefix(self._remember(f"openai/{body.get('cache_salt', '')}", seen), seen)
        cached = min(math.floor(prompt * shared / max(len(seen), 1)), prompt)
        completion = max(len(text) // 4, 1)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                 "prompt_tokens_details": {"cached_tokens": cached}}
        with self._lock:
            self.usages.append(usage)
        return usage

    def _anthropic_reply(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        reply = super()._anthropic_reply(body, text)
        usage, total = reply["usage"], self.prompt_tokens(body)
        cached = min(usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"], total)
        read = cached if usage["cache_read_input_tokens"] else 0
        usage.update(cache_read_input_tokens=read, cache_creation_input_tokens=cached - read,
                     input_tokens=total - cached)
        return reply


def _is_anthropic(body: dict[str, Any]) -> bool:
    return "system" in body or "tool_choice" in body


def is_decision(body: dict[str, Any]) -> bool:
    """A request for a decision (a schema or decision tools), not for free text such as a summary."""
    return "response_format" in body or bool(body.get("tools"))
