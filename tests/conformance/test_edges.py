"""The run still sees itself wherever a cache on the model path can go stale: a long run, runs that
share a prefix interleaved on one worker with caches evicting, a fresh worker mid-run, continue-as-new,
a retried call, a repaired reply. The checks are the conformance suite's (tests/conformance/runs.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client, WorkflowFailureError

from activities.context import transcript
from activities.gateway.breaker import BreakerRegistry
from activities.model import INDEXER
from tests.conformance.history import chain_of, model_results
from tests.conformance.model import decide
from tests.conformance.runs import Case, check_run, models_file, requests_of, server_for, start, with_tools
from tests.conformance.tools import effects
from tests.conftest import dev_server_config, eventually
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.processes import WorkerProcess
from tests.wire_server import Fault
from worker.codec import project_data_converter
from worker.devserver import DevServer
from workflows.agent_run import AgentRun
from workflows.contracts import RunStatus


def assert_calibrated_calls_were_counted_right(results) -> None:
    """Once a run has calibrated its count, each call's pack is within a quarter of the server's count."""
    for result in results:
        calibration = result.calibration
        if result.result is None or not result.reported_prompt_tokens or calibration.calls <= 1:
            continue
        off = abs(result.pack.total_tokens - result.reported_prompt_tokens) / result.reported_prompt_tokens
        assert off < 0.25, (result.pack.total_tokens, result.reported_prompt_tokens)


async def test_a_fifty_step_run_sees_every_turn_or_its_summary(dev_client, settings, tmp_path):
    """Step 1 to step 50, through many compactions: every request is the run as history recorded it."""
    case = Case(scale=2.0, additions=48, lines=8)
    settings = with_tools(settings, tmp_path)
    with server_for(case) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handle = await start(dev_client, settings, case)
            await check_run(dev_client, handle, server, case)
    results = await model_results(dev_client, handle)
    assert len(results) >= 50 and sum(r.result is None for r in results) == 0
    assert_calibrated_calls_were_counted_right(results)


async def test_twenty_runs_sharing_a_prefix_interleaved_with_caches_evicting(dev_client, settings, tmp_path,
                                                                             monkeypatch):
    """Twenty concurrent runs on one worker whose transcripts are the same until their last step (one
    chain, shared by all), with the index and the chain cache holding only three heads: each run's
    every request is its own, and each records its own total once."""
    monkeypatch.setattr(INDEXER, "max_heads", 3)
    monkeypatch.setattr(transcript.CACHE, "max_heads", 3)
    case = Case(scale=2.0)
    settings = with_tools(settings, tmp_path)
    tags = [f"r{i}" for i in range(20)]
    with server_for(case) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handles = await asyncio.gather(*(start(dev_client, settings, case, tag) for tag in tags))
            for tag, handle in zip(tags, handles):
                await check_run(dev_client, handle, server, case, tag)
            heads = {(await handle.query(AgentRun.state)).compactions[0].previous_head for handle in handles}
    assert len(effects()) == len(tags)
    assert len(heads) == 1, "the runs' transcripts were one shared chain until they compacted"


async def test_a_fresh_worker_packs_with_what_the_run_learned(dev_client, dev_server, settings, tmp_path):
    """A run paused after three steps on one worker goes on in a new worker process, which has learned
    nothing of the model: its first call is counted with the run's own calibration, not from scratch."""
    case = Case(scale=4.0)
    # Both workers share the data directory and so the run's stores (retrieval off in both).
    settings = with_tools(settings, tmp_path).model_copy(update={"retrieval": False})
    with server_for(case) as server:
        models = models_file(tmp_path, server, case)
        async with gateway_worker(dev_client, settings, models, BreakerRegistry()):
            handle = await start(dev_client, settings, case)

            async def three_steps_done() -> bool:
                return (await handle.query(AgentRun.state)).step >= 3

            await eventually(three_steps_done, what="three steps")
            await handle.signal(AgentRun.pause)

            async def paused() -> bool:
                return (await handle.query(AgentRun.state)).status == RunStatus.PAUSED

            await eventually(paused, what="the run to pause")
        sent_before = len(requests_of(server))
        fresh = WorkerProcess(dev_server.config.address, settings.task_queue, settings.data_dir, server.base_url,
                              ",".join(settings.tool_modules),
                              {"AGENT_MODELS_FILE": str(models), "AGENT_RETRIEVAL": "false",
                               "AGENT_TEST_EFFECTS_FILE": str(tmp_path / "effects.txt")})
        fresh.log_path = tmp_path / "fresh-worker.log"
        fresh.start()
        try:
            await handle.signal(AgentRun.resume)
            await check_run(dev_client, handle, server, case)
        finally:
            fresh.stop()
    results = await model_results(dev_client, handle)
    assert len(requests_of(server)) > sent_before and server.refusals == 0
    assert_calibrated_calls_were_counted_right(results)


async def test_a_continued_run_keeps_its_turns_and_its_calibration(settings, tmp_path):
    """A run that continues as new every few steps: the continued runs send the same chain of turns
    (or its summaries) and count them with the calibration the run carried over."""
    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 40})
    server_process = DevServer(config, log_path=tmp_path / "server.log").start()
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter())
        case = Case(scale=4.0, additions=8)
        settings = with_tools(settings, tmp_path)
        with server_for(case) as server:
            async with gateway_worker(client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
                handle = await start(client, settings, case)
                await check_run(client, handle, server, case)
        chain = await chain_of(client, handle.id)
        results = await model_results(client, *chain)
    finally:
        server_process.stop()
    assert len(chain) >= 3
    assert_calibrated_calls_were_counted_right(results)


async def test_a_retried_model_call_sends_the_same_prompt(dev_client, settings, tmp_path):
    """A 500 on the prompt holding two results: the activity's retry sends that prompt again, unchanged."""
    case = Case(scale=2.0)
    settings = with_tools(settings, tmp_path)
    answer, failed = decide(case.lines), []

    def flaky(body):
        if not failed and sum(text.count("Result of tool add") for text in map(str, body["messages"])) == 2:
            failed.append(json.dumps(body["messages"]))
            return Fault(500, "the GPU node restarted")
        return answer(body)

    with server_for(case, flaky) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handle = await start(dev_client, settings, case)
            await check_run(dev_client, handle, server, case)
    again = [r for r in requests_of(server) if json.dumps(r["messages"]) == failed[0]]
    assert len(again) == 2, "the retry sent the refused prompt again, byte for byte"


@pytest.mark.parametrize("count_body", [False, True], ids=["template", "quarter-of-the-body"])
async def test_a_repaired_reply_is_one_prompt(dev_client, settings, tmp_path, count_body):
    """The model answers prose at step 1; the engine repairs it. The repair's tokens are in the cost, but
    the calibration learns from the first prompt alone, and the run completes: one malformed reply never
    fails it later (it did at step 3 with a server counting a quarter of the body)."""
    case = Case(scale=2.0, count_body=count_body, window=32_768)
    settings = with_tools(settings, tmp_path)
    answer = decide(case.lines)

    def prose_first(body):
        texts = [str(m["content"]) for m in body["messages"]]
        if "response_format" in body and not any("Result of tool" in t or "That reply was invalid" in t for t in texts):
            return "Sure! I will add the numbers one at a time and then record the total."
        return answer(body)

    with server_for(case, prose_first) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handle = await start(dev_client, settings, case)
            await check_run(dev_client, handle, server, case)
            state = await handle.query(AgentRun.state)
    first = (await model_results(dev_client, handle))[0]
    assert first.result.repair_attempts == 1
    assert first.reported_prompt_tokens == server.usages[0]["prompt_tokens"]
    assert first.calibration.ratio == pytest.approx(server.usages[0]["prompt_tokens"] / first.pack.counted_tokens)
    assert state.usage.prompt_tokens == sum(u["prompt_tokens"] for u in server.usages)


async def test_a_turn_no_window_can_hold_stops_the_run_saying_why(dev_client, settings, tmp_path):
    """A tool result that, with the system prompt and the goal, is more than the window can ever hold:
    the run stops at the next step with the reason in its state, instead of sending the model a prompt
    without it or looping until a budget ends."""
    case = Case(window=3_000, lines=120)  # one addition's ledger alone is about 2,500 tokens
    settings = with_tools(settings, tmp_path)
    with server_for(case) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handle = await start(dev_client, settings, case)
            with pytest.raises(WorkflowFailureError):
                await handle.result()
            state = await handle.query(AgentRun.state)
    assert state.status == RunStatus.FAILED and state.usage.model_calls == 1
    assert "step 2 of this internal run: m: context window 3000 < " in state.result.reason
    assert len(requests_of(server)) == 1, "no prompt without the tool result was ever sent"
