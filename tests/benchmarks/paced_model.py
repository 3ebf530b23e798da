"""A model server for the run API benchmark: OpenAI chat completions that stream at a hosted model's pace.

    python -m tests.benchmarks.paced_model [--tokens-per-s 150] [--reply-tokens 200]

Prints its base URL on the first line of stdout, then serves until killed. It runs in a process of its
own so that its CPU (and its sleeps) are not the benchmark's. tests/wire_server.py streams a reply as
fast as it can write it; a real model writes at tens to hundreds of tokens a second, and that pace is
what decides how many token batches a model call sends (activities/token_stream.py), so here a reply
of --reply-tokens tokens (4 characters each) is sent one token per chunk, on a fixed schedule.

What it answers, from the run's goal:

- `bench steps=N`: the calculator until the prompt holds N of its results, then the final answer; each
  reply carries a `reasoning` field that pads it to --reply-tokens (the decision parser ignores it);
- `bench ask`: ask_human at once, so the run waits for a person and stays idle and alive.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHARS_PER_TOKEN = 4
STEPS = re.compile(r"bench steps=(\d+)")


def reply_for(body: dict[str, Any], reply_tokens: int) -> str:
    """The model's decision for this request, as the run's goal and its transcript so far ask."""
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    if "response_format" not in body:  # a compaction's summary request
        return "Earlier turns: the agent used the calculator."
    if "bench ask" in prompt:
        return json.dumps({"action": "ask_human", "question": "Which number should I square?"})
    wanted = int(m.group(1)) if (m := STEPS.search(prompt)) else 1
    done = prompt.count("Result of tool calculator")
    if done >= wanted:
        decision: dict[str, Any] = {"action": "final_answer", "answer": f"done after {done} calculations"}
    else:
        decision = {"action": "call_tool", "tool": "calculator", "arguments": {"expression": f"{done}*{done}"}}
    text = json.dumps({"reasoning": "", **decision})
    pad = max(reply_tokens * CHARS_PER_TOKEN - len(text), 0)
    return json.dumps({"reasoning": ("think " * (pad // 6 + 1))[:pad], **decision})


def serve(tokens_per_s: float, reply_tokens: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            if not self.path.endswith("/chat/completions"):
                return self._json(404, {"error": {"message": f"no route {self.path}"}})
            text = reply_for(body, reply_tokens)
            usage = {"prompt_tokens": max(sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4, 1),
                     "completion_tokens": max(len(text) // CHARS_PER_TOKEN, 1)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            if not body.get("stream"):
                return self._json(200, {
                    "id": "c", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": usage})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
            started = time.monotonic()
            for i in range(0, len(text), CHARS_PER_TOKEN):
                # On a schedule from the start, so a late wake-up does not slow the rest of the reply.
                delay = started + (i // CHARS_PER_TOKEN) / tokens_per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._event({**chunk, "choices": [{"index": 0, "delta": {"content": text[i:i + CHARS_PER_TOKEN]},
                                                   "finish_reason": None}]})
            self._event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            self._event({**chunk, "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    return httpd


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens-per-s", type=float, default=150.0)
    parser.add_argument("--reply-tokens", type=int, default=200)
    args = parser.parse_args()
    server = serve(args.tokens_per_s, args.reply_tokens)
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    sys.stdout.close()
    server.serve_forever()
