"""Every memo and cache on the model path changes how fast a request is built, never what it is.

Generated run shapes (steps with all kinds of messages, retried calls, compactions, continue-as-new,
runs forked from a shared prefix, interleaved on one worker) are played twice through the real model
activity, gateway and provider to a server on the real wire: once as a worker runs them, with every
memo warm from whatever came before, and once with every memo switched off
(tests/model_path_memos.py). The request bodies must be byte-identical, and the pack reports equal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.testing import ActivityEnvironment

from activities.context import transcript
from activities.context.blobs import LocalBlobStore
from activities.context.packing import SUMMARY_NAME
from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import ModelActivities
from tests.conftest import registry_with, wire_model, write_models_file
from tests.model_path_memos import switched_off
from tests.wire_server import ModelWireServer, final_answer
from worker.main import token_counters
from workflows.contracts import DecideInput, Message, TokenCalibration
from workflows.contracts.context import ContextBudget, DecideWithContextInput, TranscriptRef

PROVIDERS = ("openai", "vllm", "llamacpp", "anthropic")
PIECES = ["plain words ", "<|im_start|>system\n", "[INST] do it [/INST]", "</s>", "持久化代理", "naïve café ",
          '{"rows": [1, 22, 333]}', "\n", "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nKeyError: 'k'",
          "x" * 300]
_ids = itertools.count()

# Every message is unique (a serial number), so a memo that hands out another message is caught.
text = st.lists(st.sampled_from(PIECES), min_size=0, max_size=6).map(lambda p: f"#{next(_ids)} " + "".join(p))
message = st.one_of(
    text.map(lambda t: Message(role="assistant", content='{"action":"call_tool","note":' + repr(t) + "}")),
    st.tuples(text, st.sampled_from(["add", "read_file", "stderr"])).map(
        lambda p: Message(role="tool", content=p[0], name=p[1], tool_call_id=f"call-{next(_ids)}")),
    text.map(lambda t: Message(role="user", content=f"Message from ana: {t}")),
)
# Two runs, so that a fork, a retry or a compaction is soon followed by steps on both sides of it.
run_index = st.integers(0, 1)
step = st.tuples(st.just("step"), run_index, st.lists(message, min_size=1, max_size=4))
operation = st.one_of(
    step, step, step,
    st.tuples(st.just("retry"), run_index),
    st.tuples(st.just("compact"), run_index, st.integers(0, 6), st.sampled_from([1, 1, 2, 5])),
    st.tuples(st.just("continue"), run_index),
    st.tuples(st.just("fork"), run_index),
)
# Mostly windows that take the prompt (a request is sent), sometimes one it outgrows (a report only).
shape = st.tuples(st.sampled_from(PROVIDERS), st.sampled_from([4_000, 1_000_000, 1_000_000]),
                  st.lists(operation, min_size=1, max_size=16))


@dataclasses.dataclass
class Run:
    workflow_id: str
    run_id: str
    ref: TranscriptRef = dataclasses.field(default_factory=TranscriptRef)
    last: DecideWithContextInput | None = None


class Player:
    """Plays a run shape through the real model activity; returns what each call produced."""

    def __init__(self, activities: ModelActivities, store: LocalBlobStore, window: int) -> None:
        self.activities, self.store, self.window = activities, store, window
        self.tools = registry_with().specs()

    def request(self, run: Run, append: list[Message]) -> DecideWithContextInput:
        goal = Message(role="user", content=f"Goal: the task of {run.workflow_id.split('/')[0]}")
        return DecideWithContextInput(
            decide=DecideInput(messages=[], tools=self.tools, model="m", max_output_tokens=64),
            pinned=[Message(role="system", content="You are careful."), goal], transcript=run.ref, append=append,
            budget=ContextBudget(context_window=self.window, reserved_output=64),
            calibration=TokenCalibration(ratio=1.3, calls=2))

    async def call(self, run: Run, request: DecideWithContextInput) -> tuple:
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, workflow_id=run.workflow_id, workflow_run_id=run.run_id)
        result = await env.run(self.activities.decide_with_context, request)
        run.ref, run.last = result.transcript, request
        return result.pack.model_dump(), result.transcript.model_dump()

    def compact(self, run: Run, start: int, length: int) -> None:
        messages = transcript.load_ref(self.store, run.ref)
        end = min(start + length, len(messages))
        if start >= end:
            return
        summary = Message(role="user", name=SUMMARY_NAME, content=f"Summary of earlier turns {start}-{end - 1}")
        run.ref = transcript.append_ref(self.store, TranscriptRef(), [*messages[:start], summary, *messages[end:]])

    async def play(self, operations: list, prefix: str) -> list:
        runs = [Run(f"{prefix}-{i}", f"{prefix}-r{i}") for i in range(2)]
        produced = []
        for op in operations:
            kind, run = op[0], runs[op[1]]
            if kind == "step":
                produced.append(await self.call(run, self.request(run, op[2])))
            elif kind == "retry" and run.last is not None:
                produced.append(await self.call(run, run.last))
            elif kind == "compact":
                self.compact(run, op[2], op[3])
            elif kind == "continue":
                run.run_id += "+"
            elif kind == "fork":
                other = runs[1 - op[1]]
                other.ref, other.last = run.ref, None
        return produced


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("differential")
    with ModelWireServer(final_answer("done")) as server:
        yield tmp, server


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=shape)
def test_requests_are_the_same_with_every_memo_switched_off(served, shape, monkeypatch):
    """Warm memos or none: the same bodies on the wire, byte for byte, and the same pack reports."""
    tmp, server = served
    provider, window, operations = shape
    monkeypatch.setenv("DIFFERENTIAL_KEY", "k")
    entry = wire_model("m", server, provider=provider, context_window=window, max_output_tokens=64,
                       **({"api_key_env": "DIFFERENTIAL_KEY"} if provider == "anthropic" else {}))
    gateway = Gateway(load_models_file(write_models_file(Path(tmp) / f"{provider}.yaml", entry), os.environ), BreakerRegistry())
    store = LocalBlobStore(Path(tmp) / "blobs")
    player = Player(ModelActivities(gateway, blobs=store, counter_for=token_counters(gateway)), store, window)

    prefix = f"wf-{next(_ids)}"  # both passes play the same runs, as the same workflows

    async def played() -> tuple[list, list[bytes]]:
        sent = len(server.raw_bodies)
        produced = await player.play(operations, prefix)
        return produced, list(server.raw_bodies[sent:])

    async def both() -> tuple:
        warm = await played()
        with switched_off():
            return warm, await played()

    warm, cold = asyncio.run(both())
    assert cold == warm
