"""A local model server for tests: OpenAI chat completions and Anthropic messages, on the real wire.

The real openai and anthropic SDKs talk to it unchanged. It checks what it receives the way the real
APIs do for the fields the worker sends, answers from a responder the test gives it, and injects
faults on demand: an HTTP status (429 with Retry-After, 500, 401), a hang past the client's timeout,
a malformed JSON body, a stream cut off before its end.

A responder returns the model's decision as JSON text; for Anthropic the server turns it into the
matching tool_use block, so one responder serves both protocols.
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
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Hold the request open until the client goes away (or `seconds` pass)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Malformed:
    body: str = '{"id": "x", "choices": [ {"broken'


@dataclass(frozen=True)
class Truncated:
    """Stream part of the reply, then close the connection without the final chunk."""

    text: str


Responder = Callable[[dict[str, Any]], Any]


def tool_then_answer(tool: str, arguments: dict[str, Any], answer: str) -> Responder:
    """Call `tool` once, then answer as soon as the prompt holds its result."""

    def respond(body: dict[str, Any]) -> str:
        if tool_result_seen(body, tool):
            return json.dumps({"action": "final_answer", "answer": answer})
        return json.dumps({"action": "call_tool", "tool": tool, "arguments": arguments})

    return respond


def final_answer(answer: str) -> Responder:
    return lambda body: json.dumps({"action": "final_answer", "answer": answer})


def tool_result_seen(body: dict[str, Any], tool: str) -> bool:
    return any(f"Result of tool {tool}" in _text(m.get("content")) for m in body.get("messages", []))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


class ModelWireServer:
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []  # each request's body as it came over the wire
        self.usages: list[dict[str, Any]] = []  # what each reply reported, to check cost against
        self.disconnects = 0
        self._seen_prefixes: dict[str, str] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    return self._json(200, {"object": "list", "data": [{"id": "any", "object": "model"}]})
                self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw or b"{}")
                if self.path.endswith("/chat/completions"):
                    problem, protocol = _validate_openai(body), "openai"
                elif self.path.endswith("/messages"):
                    problem, protocol = _validate_anthropic(body, self.headers), "anthropic"
                else:
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                if problem:
                    return self._json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": problem}})
                with server._lock:
                    server.requests.append({"protocol": protocol, **body})
                    server.raw_bodies.append(raw)
                reply = server.respond(body)
                if isinstance(reply, Fault):
                    return self._json(reply.status, {"type": "error", "error": {"message": reply.message}}, reply.headers)
                if isinstance(reply, Hang):
                    return self._hang(reply.seconds)
                if isinstance(reply, Malformed):
                    return self._raw(200, reply.body.encode())
                if protocol == "anthropic" and body.get("stream"):
                    return self._anthropic_stream(body, reply)
                if protocol == "anthropic":
                    return self._json(200, server._anthropic_reply(body, reply))
                if body.get("stream"):
                    return self._stream(body, reply)
                return self._json(200, server._openai_reply(body, reply))

            def _hang(self, seconds: float) -> None:
                deadline = time.monotonic() + seconds
                self.connection.settimeout(0.05)
                while time.monotonic() < deadline:
                    try:
                        if self.connection.recv(1) == b"":
                            break  # the client closed the connection: it gave up or was cancelled
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                with server._lock:
                    server.disconnects += 1
                self.close_connection = True

            def _stream(self, body: dict[str, Any], reply: Any) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                text = reply.text if isinstance(reply, Truncated) else reply
                pieces = [text[i:i + 8] for i in range(0, len(text), 8)] or [""]
                for piece in pieces:
                    self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                if isinstance(reply, Truncated):
                    self.close_connection = True
                    return
                self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                usage = server._openai_usage(body, text)
                self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                             "choices": [], "usage": usage})
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True

            def _anthropic_stream(self, body: dict[str, Any], reply: Any) -> None:
                """Messages streaming: message_start, the tool_use block's input as JSON deltas, then the
                stop reason and output usage. A Truncated reply stops halfway through the deltas."""
                message = server._anthropic_reply(body, reply.text if isinstance(reply, Truncated) else reply)
                block, usage = message["content"][0], message["usage"]
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
                self._event({"type": "message_start", "message": start}, name="message_start")
                text_block = block["type"] == "text"
                empty = {**block, "text": ""} if text_block else {**block, "input": {}}
                self._event({"type": "content_block_start", "index": 0, "content_block": empty},
                            name="content_block_start")
                partial = block["text"] if text_block else json.dumps(block["input"])
                pieces = [partial[i:i + 8] for i in range(0, len(partial), 8)]
                if isinstance(reply, Truncated):
                    pieces = pieces[: len(pieces) // 2]
                for piece in pieces:
                    delta = ({"type": "text_delta", "text": piece} if text_block
                             else {"type": "input_json_delta", "partial_json": piece})
                    self._event({"type": "content_block_delta", "index": 0, "delta": delta}, name="content_block_delta")
                if isinstance(reply, Truncated):
                    self.close_connection = True
                    return
                self._event({"type": "content_block_stop", "index": 0}, name="content_block_stop")
                self._event({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                             "usage": {"output_tokens": usage["output_tokens"]}}, name="message_delta")
                self._event({"type": "message_stop"}, name="message_stop")
                self.close_connection = True

            def _event(self, payload: dict[str, Any], name: str | None = None) -> None:
                if name:
                    self.wfile.write(f"event: {name}\n".encode())
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._raw(status, json.dumps(payload).encode(), headers)

            def _raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- replies ----------------------------------------------------------------------------------

    def _openai_usage(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = "".join(_text(m["content"]) for m in body["messages"])
        key = f"openai/{body['model']}/{body.get('cache_salt', '')}"
        cached = _common_prefix(self._remember(key, prompt), prompt) // 4
        prompt_tokens = max(len(prompt) // 4, 1)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": max(len(text) // 4, 1),
                 "total_tokens": prompt_tokens + max(len(text) // 4, 1),
                 "prompt_tokens_details": {"cached_tokens": min(cached, prompt_tokens)}}
        self.usages.append(usage)
        return usage

    def _openai_reply(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": self._openai_usage(body, text)}

    def _anthropic_reply(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        if not body.get("tools"):  # a free-text request (a summary): the reply is a text block
            return {"id": f"msg_{len(self.requests)}", "type": "message", "role": "assistant", "model": body["model"],
                    "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": max(sum(len(_text(m["content"])) for m in body["messages"]) // 4, 1),
                              "output_tokens": max(len(text) // 4, 1), "cache_read_input_tokens": 0,
                              "cache_creation_input_tokens": 0}}
        decision = json.loads(text)
        action = decision.pop("action")
        name = decision.pop("tool") if action == "call_tool" else action
        tool_input = decision.get("arguments", decision)
        # Models a prefix cache over the cache_control-marked prefix (tools and system).
        prefix = json.dumps(body.get("tools", [])) + json.dumps(body.get("system", []))
        seen = self._remember(f"anthropic/{body['model']}", prefix) == prefix
        prefix_tokens = len(prefix) // 4
        rest = max(sum(len(_text(m["content"])) for m in body["messages"]) // 4, 1)
        return {"id": f"msg_{len(self.requests)}", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "tool_use", "id": f"toolu_{len(self.requests)}", "name": name, "input": tool_input}],
                "stop_reason": "tool_use", "stop_sequence": None,
                "usage": {"input_tokens": rest, "output_tokens": max(len(text) // 4, 1),
                          "cache_read_input_tokens": prefix_tokens if seen else 0,
                          "cache_creation_input_tokens": 0 if seen else prefix_tokens}}

    def _remember(self, key: str, prompt: str) -> str:
        with self._lock:
            previous = self._seen_prefixes.get(key, "")
            self._seen_prefixes[key] = prompt
            return previous

    def of(self, protocol: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["protocol"] == protocol]

    @property
    def base_url(self) -> str:
        """For the openai SDK; the anthropic SDK takes `root_url`."""
        return f"{self.root_url}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ModelWireServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _validate_openai(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    for m in messages:
        if m.get("role") not in ("system", "user", "assistant", "tool") or not isinstance(m.get("content"), str):
            return f"invalid message: {m}"
    if body.get("stream") and not body.get("stream_options", {}).get("include_usage"):
        return "this server requires stream_options.include_usage when streaming"
    return None


def _validate_anthropic(body: dict[str, Any], headers: Any) -> str | None:
    if not headers.get("x-api-key") and not (headers.get("authorization") or "").startswith("Bearer "):
        return "an API key (x-api-key or a bearer token) is required"
    if not isinstance(body.get("model"), str) or not isinstance(body.get("max_tokens"), int):
        return "model and max_tokens are required"
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return "messages: the first message must use the user role"
    for a, b in zip(messages, messages[1:]):
        if a["role"] == b["role"]:
            return "messages: roles must alternate between user and assistant"
    for tool in body.get("tools", []):
        if not tool.get("name") or tool.get("input_schema", {}).get("type") != "object":
            return f"tools: invalid tool {tool.get('name')!r}"
    return None
