"""How far the packer's estimate is from a real BPE vocabulary, by kind of text.

    python -m tests.benchmarks.token_estimates

For each kind of text a tool result may hold, the tokens of the embedded model's vocabulary (Qwen2.5,
151k BPE, through llama.cpp) next to characters / 4 and UTF-8 bytes / 4, and their ratios. The
calibration takes out the average ratio of a run (docs/context.md); what is left is how far one
message of an unusual kind can be off it, which the compaction threshold's 20% and a server's
refusal (learned, then compacted) have to absorb.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

from activities.context.tokens import gguf_tokenizer
from inference.embedded_model import ensure_model

REPO = Path(__file__).resolve().parents[2]


def samples() -> dict[str, str]:
    rows = [{"id": i, "name": f"item-{i}", "price": i * 1.25, "tags": ["a", "bb"]} for i in range(80)]
    return {
        "English prose (README)": (REPO / "README.md").read_text()[:6000],
        "Python code": (REPO / "activities" / "model.py").read_text()[:6000],
        "JSON with numbers": json.dumps({"status": "ok", "data": {"rows": rows}}),
        "Chinese": "这是一个关于持久化代理引擎的测试文本。它在崩溃后继续运行，等待人工批准，并且不会重复付款。" * 30,
        "Russian": "Это тестовый текст о долговечном движке агентов. Он переживает сбои и ждёт одобрения человека. " * 30,
        "Japanese": "これは耐久性のあるエージェントエンジンについてのテキストです。クラッシュしても動き続けます。" * 30,
        "accents and emoji": "Status ✅ done 🚀 — naïve café résumé " * 60,
        "base64": base64.b64encode(bytes(range(256)) * 12).decode(),
    }


def main() -> None:
    tokenizer = gguf_tokenizer(str(ensure_model()))
    print(f"{'text':<24}{'tokens':>8}{'chars/4':>9}{'ratio':>7}{'bytes/4':>9}{'ratio':>7}")
    for name, text in samples().items():
        tokens = tokenizer.count(text)
        chars, utf8 = math.ceil(len(text) / 4), math.ceil(len(text.encode()) / 4)
        print(f"{name:<24}{tokens:>8}{chars:>9}{tokens / chars:>7.2f}{utf8:>9}{tokens / utf8:>7.2f}")


if __name__ == "__main__":
    main()
