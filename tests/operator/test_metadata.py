"""What an operator sees of a run in the CLI (and the Web UI, which reads the same user metadata):
the static summary, live Markdown details with the commands that decide an approval, and a summary
on every activity and timer; bounded, secret-free, and encrypted like any payload under the codec."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import Payload

from activities.keyring import load_keyring
from tests.conftest import eventually, make_worker
from tests.processes import WorkerProcess, temporal, temporal_json
from tests.scripted import ScriptedModel, call, final
from tests.wire_server import ModelWireServer, tool_then_answer
from worker.codec import ENCODING, data_converter
from workflows import summaries
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, PendingApproval, RunRequest, RunUsage

_COMMANDS = ("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", "EVENT_TYPE_TIMER_STARTED")


def _summaries(history: dict) -> list[str | None]:
    """The summary of every activity and timer in a `temporal workflow show -o json` history (None: none)."""
    found = []
    for event in history["events"]:
        if event["eventType"] in _COMMANDS:
            summary = (event.get("userMetadata") or {}).get("summary")
            found.append(_text(summary) if summary else None)
    return found


def _text(payload: object) -> str:
    """The CLI's JSON output shows a json/plain payload decoded; older forms carry base64 data."""
    return payload if isinstance(payload, str) else json.loads(base64.b64decode(payload["data"]))


async def test_cli_shows_summary_details_and_a_summary_on_every_activity(dev_server, tmp_path):
    """Started with --static-summary, a run waiting for approval shows its details with the exact
    approve command; after it ends, every activity and the approval timer carry a summary."""
    address = dev_server.config.address
    queue, run_id = f"tq-{uuid.uuid4()}", f"meta-{uuid.uuid4()}"
    responder = tool_then_answer("write_file", {"path": "hello.txt", "content": "hi"}, "hello.txt written")
    with ModelWireServer(responder) as model, WorkerProcess(address, queue, tmp_path / "data", model.base_url):
        temporal(address, "workflow", "start", "--type", "AgentRun", "--task-queue", queue, "-w", run_id,
                 "--static-summary", summaries.run_summary("write hi to hello.txt", "acme"),
                 "--input", json.dumps({"goal": "write hi to hello.txt", "tenant_id": "acme"}))

        async def waiting() -> bool:
            return "Waiting for approval" in temporal(address, "workflow", "metadata", "-w", run_id).stdout

        await eventually(waiting, timeout_s=60, what="details that show the pending approval")
        shown = temporal(address, "workflow", "metadata", "-w", run_id).stdout
        assert 'StaticSummary  "write hi to hello.txt · tenant acme"' in temporal(
            address, "workflow", "describe", "-w", run_id).stdout
        assert "waiting_for_human" in shown and "`write_file` call-1-1 · risk 2" in shown
        assert (f"temporal workflow update execute -w {run_id} --name approve --input "
                f"'{{\"tool_call_id\": \"call-1-1\", \"approver\": \"YOU\"}}'") in shown
        temporal(address, "workflow", "update", "execute", "-w", run_id, "--name", "approve",
                 "--input", json.dumps({"tool_call_id": "call-1-1", "approver": "alice"}))
        temporal(address, "workflow", "result", "-w", run_id)
        described = temporal_json(address, "workflow", "describe", "-w", run_id)
        history = temporal_json(address, "workflow", "show", "-w", run_id)
        after = temporal(address, "workflow", "metadata", "-w", run_id).stdout
    static = described["executionConfig"]["userMetadata"]["summary"]
    assert _text(static) == "write hi to hello.txt · tenant acme"
    assert "**Status:** completed" in after and "1 tool calls" in after
    shown_summaries = _summaries(history)
    assert len(shown_summaries) == 12 and None not in shown_summaries, shown_summaries
    assert "bind the run to this worker's stores" in shown_summaries
    assert "write_file hello.txt · call-1-1" in shown_summaries
    assert "approval of write_file call-1-1 expires after 1 d" in shown_summaries
    assert any(s.startswith("step 1 · ") for s in shown_summaries)
    assert any(s.startswith("step 2 · ") for s in shown_summaries)


async def test_summaries_are_encrypted_under_the_codec(dev_server, settings):
    """With encryption keys, the run's static summary and every activity summary are `binary/encrypted`
    payloads in history (no plain text of them on the server); the project's client still reads them."""
    keys = load_keyring("k1:" + base64.b64encode(b"k" * 32).decode(), None)
    from temporalio.client import Client

    client = await Client.connect(dev_server.config.address, data_converter=data_converter(keys))
    model = ScriptedModel(call("calculator", expression="2+2"), final("4"))
    request = RunRequest(goal="add 2 and 2, password hunter2", tenant_id="acme")
    async with make_worker(client, settings, model):
        handle = await client.start_workflow(AgentRun.run, request, id=f"enc-{uuid.uuid4()}",
                                             task_queue=settings.task_queue, **summaries.start_metadata(request))
        await handle.result()
        description = await handle.describe()
        raw = [e async for e in client.get_workflow_handle(handle.id).fetch_history_events()]
    assert await description.static_summary() == "add 2 and 2, password hunter2 · tenant acme"
    summaries_seen = [e.user_metadata.summary for e in raw if e.HasField("user_metadata")
                      and e.user_metadata.HasField("summary")]
    assert summaries_seen, "no summaries in history"
    assert all(p.metadata["encoding"] == ENCODING for p in summaries_seen)
    assert all(b"calculator" not in p.data and b"step" not in p.data for p in summaries_seen)
    texts = await client.data_converter.decode(summaries_seen)
    assert "calculator 2+2 · call-1-1" in texts


def test_summaries_are_one_bounded_line_without_secrets():
    """A long goal, newlines and a credential argument never reach a summary or the details."""
    assert summaries.one_line("a\nb   c") == "a b c"
    assert len(summaries.run_summary("x" * 5000, "t")) == summaries.SUMMARY_LIMIT
    line = summaries.tool_call("http_post", {"api_key": "sk-live-123", "url": "https://x.example/" + "p" * 300},
                               "call-3-1")
    assert "sk-live" not in line and line.startswith("http_post https://x.example/") and "\n" not in line
    now = datetime(2026, 1, 1, tzinfo=UTC)
    pending = [PendingApproval(tool_call_id=f"call-1-{i}", tool="write_file",
                               arguments={"path": "a.txt", "content": "y" * 10_000, "token": "secret-token"},
                               arguments_hash="h", risk_level=2, reason="risk 2", requested_at=now,
                               expires_at=now + timedelta(days=1)) for i in range(40)]
    details = summaries.current_details(run_id="r", status="waiting_for_human", step=1, last_action="z" * 9000,
                                        usage=RunUsage(), budgets=Budgets(), pending=pending, unresolved=[],
                                        question=None, continued_runs=0, now=now)
    assert len(details) <= summaries.DETAILS_LIMIT and "secret-token" not in details
    assert "call-1-0" in details and "…and 35 more" in details


def test_payload_type_is_the_one_the_cli_decodes():
    """Summaries are plain JSON strings before the codec: what `temporal workflow show` decodes."""
    payload: Payload = data_converter(None).payload_converter.to_payload("step 1 · m → plan")
    assert payload.metadata["encoding"] == b"json/plain"
