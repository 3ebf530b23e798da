"""The run's tool catalogue (and its pinned block) by reference: stored once per run, named by digest
in every model call.

A catalogue is the largest fixed part of a model call's input (MCP servers alone can list dozens of
tools with full JSON schemas). Sent by value it lands in history once per step; stored here it lands
once per run (the `context.store_tools` input), and each `model.decide_with_context` carries 71
characters. The workflow keeps its own copy of the specs for policy; only the activity input shrinks.
"""

from __future__ import annotations

import asyncio
import json

from pydantic import TypeAdapter, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context.blobs import BlobNotFound, BlobStore
from workflows.contracts import DecideInput, Message, StoreToolsResult, ToolSpec, canonical_json
from workflows.contracts.context import DecideWithContextInput, StoreToolsInput
from workflows.contracts.prompt import pinned_json

MEDIA_TYPE = "application/vnd.agent.tools+json"
_SPECS = TypeAdapter(list[ToolSpec])
# Raised by the activities when the reference cannot be followed: retrying cannot bring a blob back.
CONTEXT_UNAVAILABLE = "ContextUnavailable"


def store_tools(blobs: BlobStore, tools: list[ToolSpec]) -> str:
    """Store the catalogue as canonical JSON; the same tools always give the same digest."""
    return blobs.put_text(canonical_json(_SPECS.dump_python(tools, mode="json")))


def load_tools(blobs: BlobStore, digest: str) -> list[ToolSpec]:
    """The catalogue stored under `digest`, or an ApplicationError that says which and where. Read on
    every call: a cache of it saved nothing measurable per step (docs/performance.md)."""
    try:
        return _SPECS.validate_python(json.loads(blobs.get(digest)))
    except BlobNotFound as e:
        raise ApplicationError(f"tool catalogue {digest} is not in the blob store {blobs.url}: was the store "
                               "wiped, or does this worker use a different AGENT_BLOB_STORE?",
                               type=CONTEXT_UNAVAILABLE, non_retryable=True) from e
    except (ValueError, ValidationError) as e:
        raise ApplicationError(f"tool catalogue {digest} in {blobs.url} is not a list of tool specs: {e}",
                               type=CONTEXT_UNAVAILABLE, non_retryable=True) from e


def resolve_decide(blobs: BlobStore, input: DecideWithContextInput) -> DecideInput:
    """The call's DecideInput with the referenced catalogue filled in (unchanged for by-value tools)."""
    if input.tools_ref is None:
        return input.decide
    return input.decide.model_copy(update={"tools": load_tools(blobs, input.tools_ref)})


class ToolCatalogueActivities:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @activity.defn(name="context.store_tools")
    async def store(self, input: StoreToolsInput) -> StoreToolsResult:
        return StoreToolsResult(await asyncio.to_thread(store_tools, self.blobs, input.tools))


def resolve_pinned(blobs: BlobStore, input: DecideWithContextInput) -> tuple[list[Message], str]:
    """The call's pinned messages and their digest: stored now when they came inline (the workflow
    then names them by digest from its next call on), loaded when they came by reference."""
    if input.pinned_ref is not None:
        return [Message.model_validate(m) for m in json.loads(blobs.get(input.pinned_ref))], input.pinned_ref
    return list(input.pinned), blobs.put_text(pinned_json(input.pinned))
