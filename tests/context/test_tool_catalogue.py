"""The tool catalogue by reference: stored once, read back whole, and a clear error when it is gone."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.context.tool_catalogue import load_tools, resolve_decide, store_tools
from tests.conftest import registry_with
from workflows.contracts import DecideInput, TranscriptRef
from workflows.contracts.context import ContextBudget, DecideWithContextInput


def test_catalogue_round_trips_under_a_stable_digest(store) -> None:
    """The same tools give the same digest (so a retried store is a no-op) and load back equal."""
    tools = registry_with().specs()
    digest = store_tools(store, tools)
    assert store_tools(store, list(tools)) == digest
    assert load_tools(store, digest) == tools
    assert store_tools(store, tools[:1]) != digest


def test_resolve_fills_in_the_referenced_tools_only_when_referenced(store) -> None:
    tools = registry_with().specs()
    base = DecideWithContextInput(decide=DecideInput(messages=[], tools=[]), pinned=[], transcript=TranscriptRef(),
                                  budget=ContextBudget(context_window=4096, reserved_output=256))
    assert resolve_decide(store, base).tools == []
    by_ref = base.model_copy(update={"tools_ref": store_tools(store, tools)})
    assert resolve_decide(store, by_ref).tools == tools


def test_missing_or_foreign_catalogue_fails_the_call_with_a_reason(store) -> None:
    """A digest the store lacks, or a blob that is not a tool list, is non-retryable and says which."""
    missing = "sha256:" + "0" * 64
    with pytest.raises(ApplicationError) as e:
        load_tools(store, missing)
    assert e.value.non_retryable and e.value.type == "ContextUnavailable"
    assert missing in str(e.value) and "AGENT_BLOB_STORE" in str(e.value)
    other = store.put_text('{"not": "tools"}')
    with pytest.raises(ApplicationError, match="not a list of tool specs"):
        load_tools(store, other)
