"""A recorded world: what a run decided and what its tools answered, given to a new run.

A counterfactual fork (`python -m worker.evals fork`) replays a real run's first steps without a model
call, and any tool call that equals a recorded one (tool and argument hash) gets the recorded result
instead of acting, so nothing in the outside world happens twice. A captured eval case carries only
the results: the agent decides afresh in the world the failed run saw.
"""

from __future__ import annotations

from pydantic import Field

from workflows.contracts.base import Wire
from workflows.contracts.model import Decision
from workflows.contracts.tools import ToolResult


class RecordedResult(Wire):
    tool: str
    arguments_hash: str
    result: ToolResult


class RecordedWorld(Wire):
    source: str = Field(default="", description="the run chain it was recorded from, for messages")
    decisions: list[Decision] = Field(default_factory=list, description="the first steps' decisions, replayed "
                                      "in order without a model call")
    results: list[RecordedResult] = Field(default_factory=list)
    dry_run: bool = Field(default=False, description="a call that was not recorded is refused, not run")

    def result_for(self, tool: str, arguments_hash: str) -> ToolResult | None:
        return next((r.result for r in self.results if r.tool == tool and r.arguments_hash == arguments_hash), None)
