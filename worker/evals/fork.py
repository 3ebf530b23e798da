"""Counterfactual forks: a real run's first K steps as recorded, then the rest under another configuration.

The fork is a new AgentRun whose request is the original's, plus its recorded world
(workflows/contracts/world.py): steps 1..K take the original's decisions without a model call, and a
tool call equal to a recorded one (tool and argument hash) gets the recorded result instead of acting.
Another call goes through policy and approval as usual, or is refused in a dry run. So nothing the
original did in the outside world happens twice. The other configuration is another model (`--model`),
other instructions in the system prompt (`--instructions`), or another worker (another models file,
policy or commit) serving `--task-queue`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio.client import Client

from worker.evals.recorded import RecordedRun, read_run
from workflows.agent_run import AgentRun
from workflows.contracts import Decision, canonical_json


class ForkError(ValueError):
    pass


@dataclass
class Fork:
    original: RecordedRun
    forked: RecordedRun
    from_step: int

    def diverged_at(self) -> int | None:
        """The first step (from 1) whose decision differs, None when every step of both agrees."""
        mine, theirs = self.original.decisions, self.forked.decisions
        for step, (a, b) in enumerate(zip(mine, theirs, strict=False), 1):
            if _key(a) != _key(b):
                return step
        return None if len(mine) == len(theirs) else min(len(mine), len(theirs)) + 1

    def report(self) -> str:
        o, f = self.original, self.forked
        lines = [f"fork {f.workflow_id} of {o.workflow_id} from step {self.from_step}", "",
                 f"{'step':>4}  {'original':<44}  {'fork':<44}"]
        for step in range(1, max(len(o.decisions), len(f.decisions)) + 1):
            a = _short(o.decisions[step - 1]) if step <= len(o.decisions) else "-"
            b = _short(f.decisions[step - 1]) if step <= len(f.decisions) else "-"
            mark = "recorded" if step <= self.from_step else ("same" if a == b else "DIFFERS")
            lines.append(f"{step:>4}  {a:<44}  {b:<44}  {mark}")
        at = self.diverged_at()
        lines += ["", "diverged at step " + str(at) if at else "no divergence: every decision is the same",
                  f"outcome: original {o.status or '?'} ({len(o.decisions)} steps, {len(o.calls)} tool calls run), "
                  f"fork {f.status or '?'} ({len(f.decisions)} steps, {len(f.calls)} tool calls run, the others "
                  "answered from the recording)",
                  f"answer:  original {o.answer!r}", f"         fork     {f.answer!r}"]
        return "\n".join(lines)


def _key(decision: Decision) -> str:
    return canonical_json(decision.model_dump(mode="json", exclude={"thought"}, exclude_none=True))


def _short(decision: Decision) -> str:
    if decision.kind == "final_answer":
        text = f"answer: {decision.answer}"
    elif decision.kind == "ask_human":
        text = f"ask: {decision.question}"
    else:
        text = "; ".join(f"{c.tool}({canonical_json(c.arguments)})" for c in decision.tool_calls)
    flat = " ".join(text.split())
    return flat if len(flat) <= 44 else flat[:43] + "…"


async def fork(client: Client, workflow_id: str, from_step: int, task_queue: str, *, model: str | None = None,
               dry_run: bool = False, fork_id: str | None = None, instructions: str | None = None) -> Fork:
    """Start the fork, wait for it to end, and read both runs back."""
    original = await read_run(client, workflow_id)
    if not 0 <= from_step <= len(original.decisions):
        raise ForkError(f"{workflow_id} recorded {len(original.decisions)} decisions; --from-step must be 0 to "
                        f"{len(original.decisions)}, not {from_step}")
    request = original.request.model_copy(update={"world": original.world(from_step, dry_run),
                                                  "model": model or original.request.model,
                                                  "instructions": instructions or original.request.instructions})
    fork_id = fork_id or f"{workflow_id}-fork{from_step}-{uuid.uuid4().hex[:6]}"
    await client.execute_workflow(AgentRun.run, request, id=fork_id, task_queue=task_queue)
    return Fork(original, await read_run(client, fork_id), from_step)
