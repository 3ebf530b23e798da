"""Online scoring as an operator runs it: finished runs on the real worker, a `ScoreRuns` pass with rule
checks and a rubric judged through the worker's gateway, and the low scorer found with `temporal
workflow list -q`; a second pass scores nothing twice; the scores reach the worker's Prometheus endpoint."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from activities.judge import JUDGE_INSTRUCTIONS
from tests.conftest import eventually
from tests.processes import WorkerProcess, temporal_json
from tests.wire_server import ModelWireServer, _text
from worker.devserver import free_port
from worker.evals.oracle import judge_by_quotes
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, ScoreRunsInput, ScoreRunsResult
from workflows.scoring import ScoreRuns, sampled


def answers(body: dict[str, Any]) -> str:
    """Right (42) unless the goal says to be wrong; as a judge, the oracle's rule (quoted phrases)."""
    if _text(body["messages"][0].get("content")) == JUDGE_INSTRUCTIONS:
        return json.dumps(judge_by_quotes(_text(body["messages"][-1].get("content"))))
    goal = " ".join(_text(m.get("content")) for m in body.get("messages", []) if m.get("role") == "user")
    answer = "I do not know" if "guess" in goal else "the answer is 42"
    return json.dumps({"action": "final_answer", "answer": answer})


def test_the_sample_is_chosen_by_id_alone():
    ids = [f"run-{i}" for i in range(2000)]
    half = [i for i in ids if sampled(i, 0.5)]
    assert not any(sampled(i, 0) for i in ids) and all(sampled(i, 1) for i in ids)
    assert 900 < len(half) < 1100 and half == [i for i in ids if sampled(i, 0.5)]
    assert set(i for i in ids if sampled(i, 0.1)) <= set(half)  # a larger rate keeps the smaller one's runs


async def test_a_pass_scores_finished_runs_once_and_the_low_one_is_listed(dev_server, dev_client, tmp_path):
    address, queue, metrics = dev_server.config.address, f"tq-{uuid.uuid4()}", f"127.0.0.1:{free_port()}"
    with ModelWireServer(answers) as model, WorkerProcess(address, queue, tmp_path / "data", model.base_url,
                                                          env={"AGENT_METRICS_ADDRESS": metrics}):
        goals = {"right-1": "what is six times seven?", "right-2": "six times seven, please",
                 "wrong": "guess six times seven"}
        ids = {}
        for name, goal in goals.items():
            ids[name] = f"{name}-{uuid.uuid4()}"
            await dev_client.execute_workflow(AgentRun.run, RunRequest(goal=goal), id=ids[name], task_queue=queue,
                                              result_type=RunResult)
        query = f'WorkflowType="AgentRun" AND TaskQueue="{queue}" AND ExecutionStatus="Completed"'

        async def all_visible() -> bool:
            return len([w async for w in dev_client.list_workflows(query)]) == 3

        await eventually(all_visible, timeout_s=30, what="the three finished runs in visibility")
        checks = [{"answer_contains": "42"}, {"max_steps": 3}, {"rubric": 'The answer is "42".'}]
        first = await dev_client.execute_workflow(
            ScoreRuns.run, ScoreRunsInput(query=query, sample_rate=1.0, checks=checks), id=f"scoring-{uuid.uuid4()}",
            task_queue=queue, result_type=ScoreRunsResult)
        low: list[dict] = []

        async def low_listed() -> bool:
            low[:] = temporal_json(address, "workflow", "list", "-q",
                                   f'WorkflowType="RunScoreRecord" AND AgentScore < 0.75 AND AgentScoredRun="{ids["wrong"]}"')
            return len(low) == 1

        await eventually(low_listed, timeout_s=30, what="the low score in visibility")
        second = await dev_client.execute_workflow(
            ScoreRuns.run, ScoreRunsInput(query=query, sample_rate=1.0, checks=checks), id=f"scoring-{uuid.uuid4()}",
            task_queue=queue, result_type=ScoreRunsResult)
        scraped = httpx.get(f"http://{metrics}/metrics", timeout=10).text
        bad = dev_client.execute_workflow(
            ScoreRuns.run, ScoreRunsInput(query=query, sample_rate=1.0, checks=[{"answer_containz": "42"}]),
            id=f"scoring-{uuid.uuid4()}", task_queue=queue, result_type=ScoreRunsResult)
        with pytest.raises(Exception) as refused:
            await bad
    scores = {s.workflow_id: s for s in first.scored}
    assert {w: s.score for w, s in scores.items()} == {ids["right-1"]: 1.0, ids["right-2"]: 1.0,
                                                      ids["wrong"]: pytest.approx(1 / 3)}
    assert [f.split(":")[0] for f in scores[ids["wrong"]].failed] == ["answer_contains", "rubric"]
    assert "graded 1/5" in scores[ids["wrong"]].failed[1] and "lacks ['42']" in scores[ids["wrong"]].failed[1]
    assert low[0]["execution"]["workflowId"] == f"score-{ids['wrong']}"
    assert second.scored == [] and first.not_sampled == 0
    assert "agent_run_score" in scraped
    assert "unknown check 'answer_containz'" in str(refused.value.__cause__.__cause__)
