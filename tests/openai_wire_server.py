"""A local server that speaks OpenAI's chat-completions wire protocol, scripted by the test.

Used where a real worker process (`python -m worker`) must run unchanged but its model's replies must
be known in advance: crash tests, CLI end-to-end tests, benchmarks. It validates what it receives the
way the real API does for the fields the worker sends.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any



@dataclass(frozen=True)
class Fault:
    """An HTTP error the server answers with instead of a completion."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[dict[str, Any]], "str | Fault"]


def tool_then_answer(tool: str, arguments: dict[str, Any], answer: str) -> Responder:
    """Call `tool` once, then answer as soon as the prompt holds its result."""

    def respond(body: dict[str, Any]) -> str:
        if any(m["content"].startswith(f"Result of tool {tool}") for m in body["messages"]):
            return json.dumps({"action": "final_answer", "answer": answer})
        return json.dumps({"action": "call_tool", "tool": tool, "arguments": arguments})

    return respond


class OpenAIWireServer:
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                problem = _validate(body)
                if problem:
                    return self._json(400, {"error": {"message": problem, "type": "invalid_request_error"}})
                server.requests.append(body)
                content = server.respond(body)
                if isinstance(content, Fault):
                    return self._json(content.status, {"error": {"message": content.message}}, content.headers)
                prompt_tokens = sum(len(m["content"]) // 4 for m in body["messages"])
                self._json(200, {
                    "id": f"chatcmpl-{len(server.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4,
                              "total_tokens": prompt_tokens + len(content) // 4},
                })

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> OpenAIWireServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _validate(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    for m in messages:
        if m.get("role") not in ("system", "user", "assistant", "tool") or not isinstance(m.get("content"), str):
            return f"invalid message: {m}"
    return None
