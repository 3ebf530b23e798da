"""The model activity's token stream on its own (activities/token_stream.py): batches a fast reply into
at most one signal per interval with bounded events, says model_retry when a reply starts over, and
never lets a publishing failure reach the model call."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from activities.decision import decision_schema, render_prompt
from activities.providers.anthropic_messages import AnthropicProvider
from activities.providers.base import ChatRequest
from activities.providers.openai_compat import OpenAICompatibleProvider
from activities.token_stream import TokenBatcher, TokenStream, token_stream
from tests.conftest import registry_with
from tests.wire_server import ModelWireServer, final_answer
from workflows.contracts import Message, RunEvent


class FakeStreamClient:
    """WorkflowStreamClient's publishing half, recording each flush as the signal it would send."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.buffer: list[RunEvent] = []
        self.signals: list[tuple[float, list[RunEvent]]] = []

    def topic(self, name: str, *, type: type) -> FakeStreamClient:
        return self

    def publish(self, value: RunEvent, force_flush: bool = False) -> None:
        self.buffer.append(value)

    async def flush(self) -> None:
        if self.fail:
            raise RuntimeError("workflow not found")
        if self.buffer:
            self.signals.append((time.monotonic(), self.buffer))
            self.buffer = []

    def events(self) -> list[RunEvent]:
        return [e for _, batch in self.signals for e in batch]


def test_the_batcher_cuts_text_into_bounded_pieces() -> None:
    """Whatever was gathered comes out whole, in order, in pieces of at most max_chars."""
    batcher = TokenBatcher(max_chars=4)
    for piece in ["ab", "cdefg", "h", "ijk"]:
        batcher.add(piece)
    assert batcher.take() == ["abcd", "efgh", "ijk"] and batcher.take() == []


async def test_a_fast_reply_is_sent_at_most_once_an_interval_in_bounded_events() -> None:
    """Deltas every few milliseconds for a second become about one signal per interval, each event within
    the character cap, and together exactly the reply."""
    client = FakeStreamClient()
    stream = TokenStream(client, model="m", step=3, attempt=1, interval_s=0.1, max_chars=50)  # type: ignore[arg-type]
    stream.start()
    stream.begin(0)
    sent: list[str] = []
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        sent.append(f"<{len(sent):05d}>")
        stream.text(sent[-1])
        await asyncio.sleep(0.003)
    await stream.close(flush=True)
    times = [at for at, _ in client.signals]
    assert len(times) <= 1.0 / 0.1 + 2, len(times)
    assert all(b - a >= 0.1 * 0.9 for a, b in zip(times, times[1:-1])), times  # the last is the close's flush
    events = client.events()
    assert {e.kind for e in events} == {"model_tokens"} and all(len(e.text or "") <= 50 for e in events)
    assert "".join(e.text or "" for e in events) == "".join(sent)
    assert {(e.step, e.model, e.attempt, e.repair) for e in events} == {(3, "m", 1, 0)}


async def test_a_repair_or_a_retried_attempt_starts_with_model_retry() -> None:
    """A repair says model_retry before its text and drops what of the invalid reply was not yet sent; a
    retried activity attempt says it before its first reply."""
    client = FakeStreamClient()
    stream = TokenStream(client, model="m", step=1, attempt=1, interval_s=60)  # type: ignore[arg-type]
    stream.start()
    stream.begin(0)
    stream.text("not json")
    stream.begin(1)
    stream.text('{"action":')
    await stream.close(flush=True)
    assert [(e.kind, e.repair, e.text) for e in client.events()] == [
        ("model_retry", 1, None), ("model_tokens", 1, '{"action":')]

    retried = FakeStreamClient()
    stream = TokenStream(retried, model="m", step=1, attempt=2, interval_s=60)  # type: ignore[arg-type]
    stream.begin(0)
    await stream.close(flush=True)
    assert [(e.kind, e.attempt, e.repair) for e in retried.events()] == [("model_retry", 2, 0)]


async def test_a_publishing_failure_stops_the_stream_and_not_the_call() -> None:
    """When the signal cannot be sent the stream gives up quietly: nothing raises into the provider's
    callback or out of the call's end."""
    client = FakeStreamClient(fail=True)
    stream = TokenStream(client, model="m", step=1, attempt=1, interval_s=0.01)  # type: ignore[arg-type]
    stream.start()
    stream.begin(0)
    stream.text("partial")
    await asyncio.sleep(0.1)
    assert stream.failed
    stream.text("more")
    stream.begin(1)
    await stream.close(flush=True)
    # Only the batch whose signal failed was ever published: nothing after the failure.
    assert client.signals == [] and [e.text for e in client.buffer] == ["partial"]


@pytest.mark.parametrize("step", [None, 1])
async def test_no_stream_without_the_opt_in_or_outside_a_workflow_activity(step: int | None) -> None:
    """A run that did not ask gets no stream; one that did, in a context with no parent workflow to
    signal, gets none either, and the call is made the same."""
    async with token_stream(step, "m") as stream:
        assert stream is None


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
async def test_streaming_providers_hand_over_each_piece_of_the_reply(protocol: str) -> None:
    """on_text gets the reply in the pieces the server streamed: the decision JSON over the OpenAI wire,
    the tool_use input JSON over Anthropic's; progress is still reported per piece."""
    tools = registry_with().specs()
    messages = render_prompt([Message(role="user", content="Goal: say hi")], tools, native_tools=protocol == "anthropic")
    pieces: list[str] = []
    progress: list[int] = []
    with ModelWireServer(final_answer("hello there, a reply long enough for several chunks")) as server:
        request = ChatRequest(model="m", messages=messages, max_output_tokens=64, tools=tools,
                              json_schema=decision_schema(tools) if protocol == "openai" else None,
                              on_text=pieces.append, on_progress=progress.append)
        if protocol == "openai":
            reply = await OpenAICompatibleProvider(base_url=server.base_url, stream=True).chat(request)
            written = reply.text
        else:
            reply = await AnthropicProvider(base_url=server.root_url, api_key="k", stream=True).chat(request)
            assert reply.tool_call is not None
            written = json.dumps(reply.tool_call.arguments)  # the input the server streamed as JSON deltas
    assert "".join(pieces) == written and len(pieces) > 1 and progress == list(range(1, len(pieces) + 1))
