"""Automatic retrieval for the first step: a run that asks for it starts with cited, untrusted context."""

from __future__ import annotations

import re
import uuid

from activities.retrieval.activities import RetrievalActivities
from activities.retrieval.runtime import KnowledgeBase
from tests.conftest import model_activities, registry_with
from tests.scripted import ScriptedModel, final
from worker.main import build_tool_layer, build_worker
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult


async def test_retrieve_first_puts_cited_passages_before_the_first_model_call(ts_env, settings, bound: KnowledgeBase):
    """With retrieve_first the first prompt holds the tenant's passages, marked untrusted, after the goal;
    the trace has one retrieval span for it, with the passages it found."""
    from tests.operator.test_activity_spans import span_exporter

    exporter = span_exporter()
    model = ScriptedModel(final("done"))
    layer = build_tool_layer(settings, registry_with())
    activities = [*model_activities(model, settings), *layer.activities(), RetrievalActivities(bound).context]
    async with build_worker(ts_env.client, settings, activities):
        for retrieve_first in (True, False):
            await ts_env.client.execute_workflow(
                AgentRun.run,
                RunRequest(goal="What happens when an approval expires?", tenant_id="acme", user_id="alice",
                           retrieve_first=retrieve_first),
                id=f"rf-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult,
            )
    with_context, without = model.calls
    assert [m.role for m in with_context.messages] == ["system", "user", "user"]
    retrieved = with_context.messages[2].content
    assert "[S1] corpus/approvals.md#" in retrieved and "untrusted" in retrieved.lower()
    assert [m.role for m in without.messages] == ["system", "user"]
    spans = [s for s in exporter.get_finished_spans() if s.name == "agent.retrieval"]
    assert len(spans) == 1 and spans[0].attributes["agent.tenant"] == "acme"
    cited = {int(n) for n in re.findall(r"\[S(\d+)\] ", retrieved)}
    assert spans[0].attributes["agent.retrieval.passages"] == len(cited) == max(cited) >= 1
