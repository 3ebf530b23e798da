"""Runs through a conformance server: the case, its server and models file, and the checks of a run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client

from tests.conformance import tools
from tests.conformance.history import chain_of, snapshots, unmatched
from tests.conformance.model import decide, goal
from tests.conformance.server import ConformanceServer, is_decision
from tests.conftest import wire_model, write_models_file
from worker.settings import DEFAULT_TOOL_MODULES, Settings
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult, RunStatus


@dataclass(frozen=True)
class Case:
    provider: str = "vllm"
    scale: float = 1.0
    local: bool = False
    stream: bool = False
    count_body: bool = False
    additions: int = 5
    lines: int = 16  # ledger lines of each addition's result
    window: int | None = None  # default: one the run outgrows near its end at any scale
    extra: dict[str, Any] = field(default_factory=dict)  # more fields of the models-file entry

    @property
    def context_window(self) -> int:
        return self.window or round(3_600 * self.scale)

    @property
    def total(self) -> int:
        return self.additions * (self.additions + 1) // 2


def server_for(case: Case, respond=None) -> ConformanceServer:
    return ConformanceServer(respond or decide(case.lines), case.provider, case.context_window,
                             case.scale, case.count_body)


def with_tools(settings: Settings, tmp_path: Path) -> Settings:
    """The worker's settings with the conformance tools; their effects land in tmp_path/effects.txt."""
    tools.EFFECTS["file"] = tmp_path / "effects.txt"
    return settings.model_copy(update={"tool_modules": [*DEFAULT_TOOL_MODULES, tools.__name__]})


def models_file(tmp_path: Path, server: ConformanceServer, case: Case) -> Path:
    entry = wire_model("m", server, provider=case.provider, context_window=case.context_window,
                       max_output_tokens=256, stream=case.stream, local_activity=case.local, timeout_s=30,
                       **({"schema_style": "json_object_schema"} if case.provider == "llamacpp" else {}),
                       **({"api_key_env": "CONFORMANCE_KEY"} if case.provider == "anthropic" else {}), **case.extra)
    # A run that cannot reach its model fails within a minute, naming the cause, instead of waiting 15.
    return write_models_file(tmp_path / "models.yaml", entry,
                             outage={"max_wait_s": 60, "initial_backoff_s": 1, "max_backoff_s": 5})


async def start(client: Client, settings: Settings, case: Case, tag: str = "", **request: Any):
    return await client.start_workflow(
        AgentRun.run, RunRequest(goal=goal(case.additions, tag), max_output_tokens=256,
                                 budgets=Budgets(max_steps=3 * case.additions, max_tokens=10_000_000), **request),
        id=f"conf-{case.provider}-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)


def requests_of(server: ConformanceServer, tag: str = "") -> list[dict[str, Any]]:
    """The decision requests of the run whose goal carries `tag`, in the order the server received them."""
    return [body for body in server.requests if is_decision(body) and (not tag or f"Goal: [{tag}] " in str(body))]


async def check_run(client: Client, handle, server: ConformanceServer, case: Case, tag: str = "") -> list:
    """The run completed with the right answer, its effect happened once, and every request it made
    carried the run as its history recorded it. Returns the history's transcript states."""
    result = await handle.result()
    assert result.status == RunStatus.COMPLETED, result
    assert result.answer == f"The total is {case.total}.", result.answer
    assert tools.effects().count(f"total={case.total}{tag}") == 1, "the effect happened exactly once"
    states = await snapshots(client, *await chain_of(client, handle.id))
    decisions = {entry for state in states for entry in state if entry.kind == "decision"}
    assert len(decisions) == result.steps, "the history walk found every decision of the run"
    requests = requests_of(server, tag)
    assert requests and unmatched(requests, states) == [], "every request shows the run as its history recorded it"
    state = await handle.query(AgentRun.state)
    assert state.context is not None and state.context.sent_messages == state.context.transcript_messages
    return states
