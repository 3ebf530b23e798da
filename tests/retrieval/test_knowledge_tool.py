"""The search_knowledge and remember tools, the retrieval activities, and a run that cites a passage."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.memory.activities import MemoryActivities
from activities.retrieval.activities import RetrievalActivities
from activities.retrieval.render import CLOSE, OPEN, UNTRUSTED_NOTICE
from activities.retrieval.runtime import KnowledgeBase, configure
from activities.tools import knowledge
from activities.tools.registry import ToolContext, ToolError
from tests.conftest import make_worker
from tests.retrieval.conftest import CORPUS
from tests.scripted import ScriptedModel, call, final
from worker.settings import DEFAULT_TOOL_MODULES
from workflows.agent_run import AgentRun
from workflows.contracts import DecideInput, Decision, RunRequest, RunResult, RunStatus
from workflows.contracts.memory import ProposeMemoryInput
from workflows.contracts.retrieval import (
    Access,
    IngestPathsInput,
    RetrieveContextInput,
    SearchKnowledgeInput,
)

ANSWER = "An expired approval counts as a rejection"
KNOWLEDGE_TOOLS = "activities.tools.knowledge"


def ctx(tmp_path: Path, tenant_id: str = "acme", user_id: str = "alice", call_id: str = "call-2-1") -> ToolContext:
    return ToolContext(run_id="run-9", tool_call_id=call_id, idempotency_key=f"run-9/{call_id}", workspace=tmp_path,
                       tenant_id=tenant_id, user_id=user_id, save_pre_state=lambda state: None)


def test_search_tool_returns_untrusted_cited_passages(bound: KnowledgeBase, tmp_path: Path) -> None:
    """Passages come back marked untrusted, numbered S1.., with source and offsets."""
    out = knowledge.search_knowledge.handler(ctx(tmp_path), knowledge.SearchKnowledgeArgs(query="when does an approval expire?"))
    assert out["untrusted"] is True and out["notice"] == UNTRUSTED_NOTICE
    first = out["passages"][0]
    assert first["citation"] == "S1" and first["cite_as"].startswith("[S1] corpus/approvals.md#")
    assert any(ANSWER in p["text"] for p in out["passages"])


def test_by_default_the_tool_returns_distinct_documents_each_with_its_best_passage(bound: KnowledgeBase,
                                                                                   tmp_path: Path) -> None:
    """A question that needs several documents gets TOOL_LIMIT distinct ones (the corpus has more), ranked as the
    retriever ranks documents, each represented by its best passage; asking for passages still works."""
    question = ("How do approvals expire, what does the exactly-once ledger record for a tool call, and how does "
                "continue-as-new keep a long run's history small?")
    out = knowledge.search_knowledge.handler(ctx(tmp_path), knowledge.SearchKnowledgeArgs(query=question))
    sources = [p["source"] for p in out["passages"]]
    assert len(sources) == knowledge.TOOL_LIMIT == len(set(sources)), sources
    assert {"corpus/approvals.md", "corpus/exactly-once-ledger.md", "corpus/continue-as-new.md"} <= set(sources)
    by_document = bound.retriever.search(question, Access(tenant_id="acme", user_id="alice"), knowledge.TOOL_LIMIT,
                                         by_document=True)
    assert [p.source for p in by_document] == sources
    passages = knowledge.search_knowledge.handler(ctx(tmp_path), knowledge.SearchKnowledgeArgs(
        query=question, by_document=False, limit=10))["passages"]
    assert len(passages) == 10 and len({p["source"] for p in passages}) < 10  # some documents twice


def test_search_tool_reads_only_the_runs_tenant(bound: KnowledgeBase, tmp_path: Path) -> None:
    """The same query from another tenant's run finds nothing: scope comes from the context, not the model."""
    out = knowledge.search_knowledge.handler(ctx(tmp_path, tenant_id="globex"), knowledge.SearchKnowledgeArgs(query="approval"))
    assert out["passages"] == []


def test_tools_fail_loudly_when_unconfigured(tmp_path: Path) -> None:
    """Without configure(), the tool reports a ToolError instead of searching anything."""
    configure(None)
    with pytest.raises(ToolError, match="not configured"):
        knowledge.search_knowledge.handler(ctx(tmp_path), knowledge.SearchKnowledgeArgs(query="x"))


def test_remember_tool_records_provenance(bound: KnowledgeBase, tmp_path: Path) -> None:
    """A memory proposed through the tool carries the run id and step of the call that proposed it."""
    out = knowledge.remember.handler(ctx(tmp_path, call_id="call-3-1"), knowledge.RememberArgs(
        content="Alice wants answers in German.", type="preference", confidence=0.9))
    assert out["outcome"] == "created"
    [record] = bound.memory.list("acme", "user:alice")
    assert (record.sources[0].run_id, record.sources[0].step) == ("run-9", 3)


def test_context_activity_renders_passages_and_memories(bound: KnowledgeBase) -> None:
    """retrieval.context returns one untrusted block with cited passages and in-scope memories."""
    alice = Access(tenant_id="acme", user_id="alice", run_id="run-9")
    bound.memory.propose(ProposeMemoryInput(access=alice, type="preference", content="Alice wants approvals summarised in one line."))
    env = ActivityEnvironment()
    result = env.run(RetrievalActivities(bound).context, RetrieveContextInput(query="what if nobody approves in time?", access=alice))
    assert result.message.startswith(UNTRUSTED_NOTICE) and OPEN in result.message and result.message.endswith(CLOSE)
    assert "[S1] corpus/" in result.message and "[M1] remembered preference:" in result.message
    assert len(result.memory_ids) == 1
    bob = Access(tenant_id="acme", user_id="bob")
    assert env.run(RetrievalActivities(bound).context, RetrieveContextInput(query="approvals", access=bob)).memory_ids == []


def test_search_and_ingest_activities(bound: KnowledgeBase, tmp_path: Path) -> None:
    """retrieval.ingest heartbeats progress and is idempotent; retrieval.search returns the passages."""
    env = ActivityEnvironment()
    beats: list = []
    env.on_heartbeat = lambda *details: beats.append(details)
    again = env.run(RetrievalActivities(bound).ingest, IngestPathsInput(paths=[str(CORPUS)], tenant_id="acme"))
    assert again.added == 0 and again.unchanged == again.chunks and len(beats) == again.files
    found = env.run(RetrievalActivities(bound).search, SearchKnowledgeInput(
        query="approval expiry", access=Access(tenant_id="acme", user_id="u"), limit=3))
    assert len(found.passages) == 3 and found.mode == "hybrid"
    proposal = ProposeMemoryInput(access=Access(tenant_id="acme", user_id="u"), type="fact", content="The team ships on Fridays.")
    assert env.run(MemoryActivities(bound.memory).propose, proposal).outcome == "created"


async def test_run_cites_a_passage_from_search_knowledge(ts_env, settings, bound: KnowledgeBase) -> None:
    """A run whose model calls search_knowledge sees the cited, untrusted passage in its next prompt."""

    def answer(input: DecideInput) -> Decision:
        tool_message = json.loads(input.messages[-1].content.split("\n")[0])
        first = tool_message["data"]["passages"][0]
        return final(f"{first['text'][:40]} [{first['citation']}]")

    model = ScriptedModel(call("search_knowledge", query="what happens when nobody approves in time?"), answer)
    # Registered once whether or not the worker's default tool modules already include it.
    extra = [] if KNOWLEDGE_TOOLS in DEFAULT_TOOL_MODULES else [KNOWLEDGE_TOOLS]
    async with make_worker(ts_env.client, settings, model, *extra):
        handle = await ts_env.client.start_workflow(
            AgentRun.run, RunRequest(goal="What happens when an approval expires?", tenant_id="acme", user_id="alice"),
            id=f"run-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED and result.answer.endswith("[S1]")
    prompt = model.last_messages_text()
    assert ANSWER in prompt and '"untrusted":true' in prompt and "[S1] corpus/approvals.md#" in prompt


def _long_scenario(need: str) -> str:
    """A ~3.3 KB customer message: greeting, asides, one real need, then signature, disclaimer and a quoted reply."""
    from tests.retrieval.scenarios.scenarios import ASIDES, CLOSINGS, DISCLAIMER, OPENINGS, QUOTED_REPLY

    return "\n\n".join([*OPENINGS, *ASIDES, need, CLOSINGS[0], DISCLAIMER, QUOTED_REPLY, DISCLAIMER])


def test_long_query_through_the_search_activity(bound: KnowledgeBase) -> None:
    """A 3.3 KB query, far past the old 2,000-character cap and the model's window, finds the need it states."""
    query = _long_scenario("The question: if nobody answers an approval request before its deadline, is the tool call rejected?")
    assert len(query) > 3000
    env = ActivityEnvironment()
    found = env.run(RetrievalActivities(bound).search, SearchKnowledgeInput(
        query=query, access=Access(tenant_id="acme", user_id="u"), limit=3, by_document=True))
    sources = [p.source for p in found.passages]
    assert len(set(sources)) == len(sources) == 3
    assert "corpus/approvals.md" in sources


def test_search_tool_takes_a_long_query_and_returns_distinct_documents(bound: KnowledgeBase, tmp_path: Path) -> None:
    """The tool accepts a scenario-length query (the 500-character cap is gone) and can answer by document."""
    query = _long_scenario("How many events can one workflow history hold before it has to continue as new?")
    out = knowledge.search_knowledge.handler(ctx(tmp_path), knowledge.SearchKnowledgeArgs(
        query=query, limit=5, by_document=True))
    sources = [p["source"] for p in out["passages"]]
    assert len(sources) == len(set(sources)) == 5
    assert {"corpus/workflows-and-history.md", "corpus/continue-as-new.md"} & set(sources[:3])
