"""The oracle: a model that plays each case's `oracle:` actions, served on the OpenAI wire.

It proves a suite's checks sound (a perfect agent passes every case) and, in a broken mode, that they
are sensitive (an agent that skips its tools, or gets the answer wrong, fails them). It decides ONLY
from the request it receives, like a real model: the case from the goal in the prompt ("Goal: ..."),
and the next action from how many tool results and person's messages the prompt already holds. So a
retried call, a repeat of the case or many runs at once all get the same reply for the same prompt.

`OracleResponder` is a plain `body -> reply text` callable, so tests can serve it with
tests/wire_server.py as well; `OracleServer` is the small OpenAI-compatible server the CLI's
`--oracle` starts (worker code does not import the tests).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import yaml

from activities.judge import JUDGE_INSTRUCTIONS
from worker.evals.suite import Case, Suite

OracleMode = Literal["perfect", "no_tools", "wrong_answer"]
MODES: tuple[str, ...] = ("perfect", "no_tools", "wrong_answer")
ORACLE_MODEL = "oracle"
GOAL_PREFIX = "Goal: "
# How activities/decision.py renders a tool result, and AgentRun a person's message, for the model.
TOOL_RESULT_PREFIX = "Result of tool "
PERSON_PREFIX = "Message from "
WRONG_ANSWER = "Done: the task is complete."  # a confident claim, as a broken agent makes


def message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


class OracleResponder:
    """`mode`: perfect plays the case's actions; no_tools answers at once with the final answer;
    wrong_answer plays the calls, then answers WRONG_ANSWER."""

    def __init__(self, suite: Suite, mode: OracleMode = "perfect") -> None:
        self.mode = mode
        self.by_goal: dict[str, Case] = {case.goal: case for case in suite.cases if case.oracle}

    def __call__(self, body: dict[str, Any]) -> str:
        return json.dumps(self.decide(body.get("messages", [])))

    def decide(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        texts = [(m.get("role"), message_text(m.get("content"))) for m in messages]
        if texts and texts[0] == ("system", JUDGE_INSTRUCTIONS):
            return judge_by_quotes(texts[-1][1])
        goal = next((t.removeprefix(GOAL_PREFIX) for role, t in texts if role == "user" and t.startswith(GOAL_PREFIX)),
                    None)
        case = self.by_goal.get(goal or "")
        if case is None:
            return {"action": "final_answer", "answer": f"(oracle: no case has the goal {goal!r})"}
        # Only whole turns count: a tool result that quotes "Result of tool" is still one result.
        done = sum(1 for role, t in texts if role == "user" and t.startswith((TOOL_RESULT_PREFIX, PERSON_PREFIX)))
        final = case.oracle[-1]
        if self.mode == "no_tools":
            return final.decision()
        action = case.oracle[min(done, len(case.oracle) - 1)]
        if action is final and self.mode == "wrong_answer":
            return {"action": "final_answer", "answer": WRONG_ANSWER}
        return action.decision()


def judge_by_quotes(prompt: str) -> dict[str, Any]:
    """The oracle as a judge (activities/judge.py's prompt): grade 5 when the answer holds every phrase
    the criteria put in double quotes, else 1. A rule, so that tests know the right verdict; it reads
    only the request, as a judge model would."""
    criteria = prompt.partition("\nCriteria:\n")[2].partition("\n\nThe agent's final answer")[0]
    answer = prompt.partition("<<<ANSWER\n")[2].rpartition("\nANSWER>>>")[0].lower()
    missing = [p for p in re.findall(r'"([^"]+)"', criteria) if p.lower() not in answer]
    if missing:
        return {"grade": 1, "reason": f"the answer lacks {missing}"}
    return {"grade": 5, "reason": "the answer meets the criteria"}


class OracleServer:
    """POST /v1/chat/completions (not streamed) and GET /v1/models, answering from a responder.

    Usage is counted as characters / 4, as a rough stand-in for tokens, so token and cost columns of
    an oracle run are not all zero."""

    def __init__(self, responder: OracleResponder) -> None:
        self.responder = responder
        self.requests = 0
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    return self._json(200, {"object": "list", "data": [{"id": ORACLE_MODEL, "object": "model"}]})
                self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                if body.get("stream"):
                    return self._json(400, {"error": {"message": "the oracle does not stream"}})
                with lock:
                    server.requests += 1
                text = server.responder(body)
                prompt = sum(len(message_text(m.get("content"))) for m in body.get("messages", []))
                usage = {"prompt_tokens": max(prompt // 4, 1), "completion_tokens": max(len(text) // 4, 1)}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                self._json(200, {
                    "id": f"oracle-{server.requests}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", ORACLE_MODEL), "usage": usage,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}]})

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> OracleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_models_file(path: Path, base_url: str) -> Path:
    """A models file (worker/models.yaml's format) with the oracle as the only model. It carries a
    price, so the cost column and cost ceilings are exercised too."""
    model = {"name": ORACLE_MODEL, "provider": "openai", "base_url": base_url, "context_window": 32768,
             "max_output_tokens": 1024, "data_classes": ["public", "internal"], "timeout_s": 30,
             "price_per_mtok": {"input": 0.15, "cached_input": 0.075, "output": 0.6}}
    names = [ORACLE_MODEL]
    path.write_text(yaml.safe_dump({"models": [model], "routes": {"plan": names, "act": names, "summarize": names}}))
    return path
