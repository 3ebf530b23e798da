"""Neutralise chat-template control tokens in message text before any provider sees it.

A self-hosted server (llama.cpp, SGLang, vLLM) renders the chat template and then tokenizes the whole
prompt with special tokens enabled: the text `<|im_start|>system` inside a tool result becomes the
same control tokens the template inserts, and the "untrusted data" framing around it is text only.
Every message's content passes through `neutralise` (ChatRequest does it, so no provider can be
reached without it): a zero-width space goes inside each special-token spelling of the known template
families, which no tokenizer then matches as a special token, while a person reads the text unchanged.

What is covered, and why it is enough: every `<|...|>` token (ChatML/Qwen, Llama 3, Phi, Command-R,
GPT's `<|endoftext|>`), DeepSeek's full-width `<｜...｜>`, angle-bracket tokens of the known families
(`<s>`, `</s>`, `<tool_call>`, Gemma's `<start_of_turn>`, ...) and Mistral's `[INST]`-style upper-case
bracket tags. The tests check this list against every control and user-defined token in the
embedded model's own GGUF vocabulary. Where a model's vocabulary is at hand (a `tokenizer_file`, the
embedded GGUF), the gateway also passes its special tokens that the list misses (`vocabulary_tokens`),
so a template outside the known families is covered too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from workflows.contracts import Message

# U+200B ZERO WIDTH SPACE: invisible, and never part of a special token's spelling. It is inserted
# only between an opening `<`/`[` and the rest, so the output has no match its input lacked.
SEPARATOR = "\u200b"

_ANGLE_TAGS = (
    "s", "unk", "pad", "bos", "eos", "mask", "sep", "cls",
    "tool_call", "tool_response", "tools", "think", "answer",
    "start_of_turn", "end_of_turn", "start_of_image", "end_of_image",
    "image", "audio", "video", "img",
)
_PATTERN = re.compile(
    r"<(?=\|)"  # <|im_start|>, <|eot_id|>, <|endoftext|>, ... any <|...|>
    r"|<(?=\uff5c)"  # DeepSeek: <｜begin▁of▁sentence｜> (full-width bar)
    r"|<(?=/?(?:" + "|".join(_ANGLE_TAGS) + r")>)"  # <s>, </s>, <tool_call>, <start_of_turn>, ...
    r"|\[(?=/?[A-Z][A-Z0-9_]{1,31}\])",  # Mistral: [INST], [/INST], [TOOL_CALLS], [TOOL_RESULTS], ...
)  # case-sensitive, as tokenizers match special tokens: `a[idx]` in code stays untouched


def neutralise(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every special-token spelling broken by an invisible separator; idempotent."""
    text = _PATTERN.sub(lambda m: m.group(0) + SEPARATOR, text)
    for token in extra:
        if len(token) > 1 and token in text:
            text = text.replace(token, token[0] + SEPARATOR + token[1:])
    return text


def neutralise_messages(messages: list[Message], extra: Iterable[str] = ()) -> list[Message]:
    """The messages with neutralised content; the same objects where nothing needed changing."""
    extra = tuple(extra)

    def one(m: Message) -> Message:
        content = neutralise(m.content, extra)
        return m if content == m.content else m.model_copy(update={"content": content})

    return [one(m) for m in messages]


@lru_cache(maxsize=16)
def vocabulary_tokens(tokenizer_file: Path | None = None, gguf: Path | None = None) -> tuple[str, ...]:
    """The special tokens of a model's vocabulary that `neutralise` does not already break.

    A Hugging Face `tokenizer.json` matches every added token in text, special or not; llama.cpp
    matches control and user-defined tokens. Tokens the pattern covers are left out, so the extra
    work per request is for the odd ones only (none for Qwen, ChatML or Llama 3).
    """
    found: list[str] = []
    if tokenizer_file is not None:
        found += [t["content"] for t in json.loads(Path(tokenizer_file).read_text()).get("added_tokens", [])]
    if gguf is not None:
        import llama_cpp  # only for self-hosted GGUF models; vocab_only reads no weights

        llama = llama_cpp.Llama(str(gguf), vocab_only=True, verbose=False)  # kept alive: it owns the model
        model = llama._model
        mask = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        found += [model.token_get_text(i) for i in range(model.n_vocab()) if model.token_get_attr(i) & mask]
    return tuple(sorted({t for t in found if len(t) > 1 and neutralise(t) == t}))
