"""Benchmark: prefix reuse of the stable context layout vs a naive one, modelled and measured.

    python -m tests.benchmarks.prefix_cache_replay [--steps 12] [--server]

Builds one synthetic agent run (system prompt, tool schemas, goal, then per step a decision and a tool
result; per step a timestamp and two retrieved passages) in two layouts:
  stable: system, tools, goal, append-only history, then volatile items (passages, timestamp) last
  naive:  timestamp and passages at the top, then system, tools, goal, history
Prompts are rendered with the embedded GGUF's chat template and tokenized with its tokenizer, then
replayed through the radix-tree model (inference/prefix_cache.py): SGLang-like (radix) and llama.cpp-
like (single slot). With --server it also starts the embedded llama.cpp server and times each step's
prompt processing (a request for 1 output token) in both layouts. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from inference.prefix_cache import ReplayReport, replay
from workflows.contracts import Message

SYSTEM = ("You are a careful agent working for a person. Work toward the goal step by step. Use a tool whenever "
          "the goal needs arithmetic, files or facts you do not have; call one tool per reply.")
TOOLS = "\n".join(json.dumps({"name": n, "parameters": {"type": "object", "properties": {"arg": {"type": "string"}}}},
                             sort_keys=True, separators=(",", ":")) for n in ("calculator", "list_files", "read_file"))
PASSAGES = [f"Passage {k}: the quarterly report section {k} says revenue grew {k + 3} percent in region {k % 4}."
            for k in range(20)]


def run_messages(steps: int) -> tuple[list[Message], list[list[Message]], list[list[Message]]]:
    """(pinned, history per step, volatile per step) of the synthetic run."""
    pinned = [Message(role="system", content=f"{SYSTEM}\nTools:\n{TOOLS}"),
              Message(role="user", content="Goal: total the revenue rows of data.csv and write it to total.txt")]
    history: list[Message] = []
    histories, volatiles = [], []
    for i in range(steps):
        histories.append(list(history))
        volatiles.append([Message(role="user", content=f"Retrieved:\n{PASSAGES[i % 20]}\n{PASSAGES[(i * 7 + 3) % 20]}"),
                          Message(role="user", content=f"Current time: 2025-06-01T10:{i:02d}:{(i * 13) % 60:02d}Z")])
        history += [Message(role="assistant", content=json.dumps({"action": "call_tool", "tool": "read_file",
                                                                  "arguments": {"path": f"part-{i}.csv"}})),
                    Message(role="user", content=f"Result of tool read_file (call-{i}): " +
                            ",".join(f"row{i}-{j}:{(i * 31 + j) % 97}" for j in range(25)))]
    return pinned, histories, volatiles


def layouts(steps: int) -> dict[str, list[list[Message]]]:
    pinned, histories, volatiles = run_messages(steps)
    stable = [[*pinned, *h, *v] for h, v in zip(histories, volatiles)]
    naive = [[Message(role="system", content=v[1].content + "\n" + v[0].content), *pinned, *h]
             for h, v in zip(histories, volatiles)]
    return {"stable": stable, "naive": naive}


def _line(name: str, report: ReplayReport) -> str:
    return (f"{name:<8} {report.mode:<12} prompt tokens {report.prompt_tokens:>7}  cached {report.cached_tokens:>7}  "
            f"reuse {report.reuse_ratio:6.1%}  best {report.best_ratio:6.1%}")


def measure_server(prompts: dict[str, list[list[Message]]], gguf: Path) -> dict[str, list[float]]:
    """Per-step latency of a 1-token completion (≈ prompt processing) on the embedded llama.cpp server."""
    import httpx

    from inference.embedded_model import DEFAULT_MODEL
    from inference.llama_server import LlamaServerConfig, start_llama_server
    from worker.devserver import free_port

    config = LlamaServerConfig(model_path=gguf, model_alias=DEFAULT_MODEL.name, port=free_port())
    proc = start_llama_server(config, Path(tempfile.mkdtemp()) / "llama.log")
    timings: dict[str, list[float]] = {}
    try:
        with httpx.Client(timeout=600) as client:
            for name, runs in prompts.items():
                timings[name] = []
                for messages in runs:
                    body = {"model": config.model_alias, "max_tokens": 1, "temperature": 0,
                            "messages": [{"role": m.role, "content": m.content} for m in messages]}
                    start = time.perf_counter()
                    client.post(f"{config.base_url}/chat/completions", json=body).raise_for_status()
                    timings[name].append(time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.prefix_cache_replay", description=__doc__)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--server", action="store_true", help="also time prompt processing on llama.cpp")
    args = parser.parse_args(argv)
    from activities.context.tokens import gguf_tokenizer
    from inference.embedded_model import ensure_model

    gguf = ensure_model()
    tok = gguf_tokenizer(str(gguf))
    prompts = layouts(args.steps)
    print(f"{args.steps} steps, tokenizer {tok.name}")
    for name, runs in prompts.items():
        ids = [tok.encode_messages(m) for m in runs]
        print(_line(name, replay(ids)))
        print(_line(name, replay(ids, mode="single_slot")))
    if args.server:
        timings = measure_server(prompts, gguf)
        for name, ts in timings.items():
            later = ts[1:] or ts
            print(f"{name:<8} llama.cpp prompt processing: first step {ts[0] * 1000:7.0f} ms, "
                  f"later steps mean {statistics.mean(later) * 1000:7.0f} ms, total {sum(ts):6.1f} s")
        print(f"naive / stable total time: {sum(timings['naive']) / sum(timings['stable']):.1f}x")


if __name__ == "__main__":
    main()
