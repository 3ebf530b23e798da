"""`context.summarize`: replace the oldest turns of a transcript with a summary, by reference.

The workflow calls it when a pack report says `needs_compaction`; the result (range, tokens before
and after, the summary's digest, old and new heads) is an activity completion in history, so the
compaction is an event a person can read. Nothing is lost: the previous head still names every
original message (`python -m worker.read --transcript <previous head>`). Turns before
`protected` (P0 kept in the transcript) are never summarized and stay verbatim.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import transcript
from activities.context.blobs import BlobStore
from activities.context.packing import SUMMARY_NAME
from activities.context.references import prompt_text
from activities.context.tokens import TokenCounter
from activities.heartbeat import with_heartbeats
from workflows.contracts import Message, Usage
from workflows.contracts.context import SummarizeContextInput, SummarizeContextResult, TranscriptRef

log = structlog.get_logger(__name__)

# (model, messages, max output tokens) -> (text, usage): the gateway in the worker, a fake in tests.
ChatFn = Callable[[str, list[Message], int], Awaitable[tuple[str, Usage]]]

SUMMARY_INSTRUCTIONS = (
    "You compress the earlier part of an agent's work log. Write a faithful summary of the turns below: "
    "decisions taken, tool calls and their results (numbers, file names, ids verbatim), errors and what "
    "was learned, open questions. No preamble; do not invent anything."
)


def gateway_chat(gateway: Any) -> ChatFn:
    """Adapt activities.gateway.Gateway to ChatFn (plain text reply, no decision schema)."""
    from activities.providers.base import ChatRequest  # the worker's gateway; tests may inject a fake

    async def chat(model: str, messages: list[Message], max_tokens: int) -> tuple[str, Usage]:
        response = await gateway.chat(model, ChatRequest(model=model, messages=messages, max_output_tokens=max_tokens,
                                                         plain_text=True))
        return response.text, response.usage

    return chat


def summary_prompt(turns: list[Message]) -> list[Message]:
    lines = [f"[{m.role}{' ' + m.name if m.name else ''}] {prompt_text(m.content)}" for m in turns]
    return [Message(role="system", content=SUMMARY_INSTRUCTIONS), Message(role="user", content="\n".join(lines))]


class SummarizeActivities:
    def __init__(self, store: BlobStore, chat: ChatFn, counter_for: Callable[[str], TokenCounter]) -> None:
        self.store = store
        self.chat = chat
        self.counter_for = counter_for

    @activity.defn(name="context.summarize")
    async def summarize(self, input: SummarizeContextInput) -> SummarizeContextResult:
        # Blob reads and writes (local disk or S3) run on threads: never on the worker's event loop.
        messages = await asyncio.to_thread(transcript.load_ref, self.store, input.transcript)
        start, end = input.start, input.end
        if not (input.protected <= start < end <= len(messages)):
            raise ApplicationError(
                f"cannot summarize turns [{start}, {end}) of a {len(messages)}-message transcript whose first "
                f"{input.protected} messages are protected (P0)", type="InvalidCompactionRange", non_retryable=True)
        turns = messages[start:end]
        text, usage = await with_heartbeats(
            self.chat(input.model, summary_prompt(turns), input.max_summary_tokens), {"summarizing": end - start})
        if not text.strip():
            raise ApplicationError(f"model {input.model} returned an empty summary", type="EmptySummary")
        summary = Message(role="user", name=SUMMARY_NAME,
                          content=f"Summary of earlier turns {start}-{end - 1} ({end - start} messages): {text.strip()}")
        summary_ref = await asyncio.to_thread(transcript.message_ref, self.store, summary)
        # Messages are blobs already: the new chain is one entry of digests, nothing is copied.
        survivors = [*messages[:start], summary, *messages[end:]]
        new_ref = await asyncio.to_thread(transcript.append_ref, self.store, TranscriptRef(), survivors)
        counter = await asyncio.to_thread(self.counter_for, input.model)
        before, after = await asyncio.to_thread(
            lambda: (sum(counter.message_tokens(m) for m in turns), counter.message_tokens(summary)))
        log.info("context.compacted", previous_head=input.transcript.head, new_head=new_ref.head, start=start,
                 end=end, summarized=end - start, tokens_before=before, tokens_after=after,
                 summary=summary_ref.digest, model=input.model)
        return SummarizeContextResult(
            transcript=new_ref, previous=input.transcript, summary=summary_ref, start=start, end=end,
            summarized_messages=end - start, tokens_before=before, tokens_after=after, tokenizer=counter.name,
            model=input.model, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            cached_prompt_tokens=usage.cached_prompt_tokens, cost_usd=usage.cost_usd)
