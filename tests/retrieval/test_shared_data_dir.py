"""One data directory, many processes: beside a running worker (the one `up` starts), a second worker and
the knowledge CLI use the same embedded stores through it, and an ingestion from the CLI while runs
retrieve loses nothing. Real processes, the real dev server, the real MiniLM and Qdrant Edge."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from activities.memory.store import MemoryNotFound
from activities.retrieval.shared import KnowledgeHostUnavailable
from tests.conftest import eventually
from tests.processes import WorkerProcess
from tests.retrieval.conftest import CORPUS
from tests.wire_server import ModelWireServer
from worker.settings import REPO_ROOT
from workflows.contracts import RunRequest, RunResult, RunStatus

NEW_DOCUMENTS = 30


def _texts(body: dict[str, Any]) -> list[str]:
    out = []
    for m in body.get("messages", []):
        content = m.get("content")
        out.append(content if isinstance(content, str) else "".join(
            p.get("text", "") for p in content or [] if isinstance(p, dict)))
    return out


def searches_then_answers(body: dict[str, Any]) -> str:
    """The model: asks the knowledge base once, then answers with what the tool returned."""
    results = [t for t in _texts(body) if t.startswith("Result of tool")]
    if results:
        return json.dumps({"action": "final_answer", "answer": results[-1][:2000]})
    return json.dumps({"action": "call_tool", "tool": "search_knowledge",
                       "arguments": {"query": "what happens when an approval expires?"}})


def knowledge_cli(data: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AGENT_DATA_DIR": str(data), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "worker.knowledge_cli", "--json", *argv], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


async def holder_then_joiner(first: WorkerProcess, second: WorkerProcess, data: Path) -> None:
    """Start `first` until it serves the data directory's stores, then `second` until it uses them."""
    first.start()

    async def serving() -> bool:
        return (data / "knowledge.sock").exists()

    await eventually(serving, timeout_s=120, what="the first worker to serve its stores")
    second.start()

    async def joined() -> bool:
        return second.log_path.exists() and "retrieval.host_joined" in second.log_path.read_text()

    await eventually(joined, timeout_s=120, what="the second worker to use the first one's stores")


async def test_a_second_worker_and_the_cli_share_the_running_workers_data_directory(dev_client, dev_server,
                                                                                    tmp_path):
    address = dev_server.config.address
    data = tmp_path / "d"
    first_queue, second_queue = f"tq-{uuid.uuid4()}", f"tq-{uuid.uuid4()}"
    new_docs = tmp_path / "new-policies"
    new_docs.mkdir()
    for n in range(NEW_DOCUMENTS):
        (new_docs / f"policy-{n:02}.md").write_text(
            f"# Policy {n}\n\nThe quokka{n} rule: requests of this kind are answered within {n + 1} days.\n")

    with ModelWireServer(searches_then_answers) as model:
        first = WorkerProcess(address, first_queue, data, model.base_url)
        # The second worker serves its own queue here, so every run below is provably its own.
        second = WorkerProcess(address, second_queue, data, model.base_url)
        second.log_path = tmp_path / "second.log"
        try:
            await holder_then_joiner(first, second, data)
            assert (data / "knowledge.sock").stat().st_mode & 0o777 == 0o600, "only its user may use the socket"

            loaded = knowledge_cli(data, "ingest", str(CORPUS), "--tenant", "acme")
            assert loaded.returncode == 0, loaded.stderr[-2000:]
            assert json.loads(loaded.stdout)["added"] > 0

            handles = [await dev_client.start_workflow(
                "AgentRun", RunRequest(goal=f"approval expiry {n}", tenant_id="acme", user_id="alice"),
                id=f"shared-{n}-{uuid.uuid4().hex[:6]}", task_queue=second_queue, result_type=RunResult)
                for n in range(6)]
            # The CLI ingests while the second worker's runs search through the first worker.
            ingest = asyncio.create_task(asyncio.to_thread(knowledge_cli, data, "ingest", str(new_docs),
                                                           "--tenant", "acme"))
            results = [await h.result() for h in handles]
            added = await ingest
        finally:
            second.stop()
            first.stop()

    assert added.returncode == 0, added.stderr[-2000:]
    summary = json.loads(added.stdout)
    assert summary["files"] == NEW_DOCUMENTS and summary["added"] == summary["chunks"] >= NEW_DOCUMENTS
    assert [r.status for r in results] == [RunStatus.COMPLETED] * len(handles)
    for result in results:  # each run's search went through the first worker and found the corpus
        assert "corpus/approvals.md" in result.answer, result.answer[:500]
    assert "retrieval.host_joined" in second.log_path.read_text()
    assert not (data / "knowledge.sock").exists(), "the holder removes its socket when it stops"

    # Nothing lost: with no worker running, the CLI opens the stores itself and finds every new document.
    query = " ".join(f"quokka{n}" for n in range(NEW_DOCUMENTS))
    found = knowledge_cli(data, "search", query, "--tenant", "acme", "--user", "alice", "--limit", "50",
                          "--by-document")
    assert found.returncode == 0, found.stderr[-2000:]
    sources = {p["source"] for p in json.loads(found.stdout)}
    assert {f"new-policies/policy-{n:02}.md" for n in range(NEW_DOCUMENTS)} <= sources


def test_the_socket_refuses_hostile_requests_and_keeps_serving(kb, tmp_path):
    """Malformed, oversized and unknown requests get an error answer, never a crash; the next one is served."""
    import socket as sockets

    from activities.retrieval.shared import MAX_REQUEST, KnowledgeHost, RemoteKnowledgeBase

    host = KnowledgeHost(kb, tmp_path)
    try:
        def raw(payload: bytes) -> dict:
            with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as conn:
                conn.connect(str(host.path))
                conn.sendall(payload)
                return json.loads(conn.makefile("rb").readline())

        assert raw(b"{not json\n")["error"]["type"] == "JSONDecodeError"
        assert "unknown operation" in raw(b'{"op": "__class__"}\n')["error"]["message"]
        assert raw(b'{"op": "get", "args": {"tenant_id": "t", "memory_id": "m", "extra": 1}}\n')["error"]["type"] == "TypeError"
        assert "over" in raw(b"x" * (MAX_REQUEST + 10) + b"\n")["error"]["message"]
        remote = RemoteKnowledgeBase(host.path)
        assert remote.memory.list("acme") == []
        with pytest.raises(MemoryNotFound):
            remote.memory.get("acme", "no-such-memory")
    finally:
        host.close()
    assert not host.path.exists()
    with pytest.raises(KnowledgeHostUnavailable):
        RemoteKnowledgeBase(host.path).memory.list("acme")


async def test_a_run_searching_while_the_holder_is_down_retries_until_it_is_back(dev_client, dev_server, tmp_path):
    """The worker that holds the stores is killed: a second worker's run that searches meanwhile is not
    failed; its search is retried (the pending activity says why) and answers once the holder is back."""
    address = dev_server.config.address
    data = tmp_path / "d"
    first_queue, second_queue = f"tq-{uuid.uuid4()}", f"tq-{uuid.uuid4()}"
    with ModelWireServer(searches_then_answers) as model:
        first = WorkerProcess(address, first_queue, data, model.base_url)
        second = WorkerProcess(address, second_queue, data, model.base_url)
        second.log_path = tmp_path / "second.log"
        try:
            await holder_then_joiner(first, second, data)
            loaded = knowledge_cli(data, "ingest", str(CORPUS), "--tenant", "acme")
            assert loaded.returncode == 0, loaded.stderr[-2000:]
            first.kill()  # a crash: its socket file stays behind, nobody answers on it

            handle = await dev_client.start_workflow(
                "AgentRun", RunRequest(goal="approval expiry", tenant_id="acme", user_id="alice"),
                id=f"holder-down-{uuid.uuid4().hex[:6]}", task_queue=second_queue, result_type=RunResult)

            async def retrying() -> bool:
                pending = (await handle.describe()).raw_description.pending_activities
                return any(p.attempt >= 2 and "knowledge stores" in p.last_failure.message for p in pending)

            await eventually(retrying, timeout_s=120, what="the run's search to be retried")
            failure = next(p.last_failure.message for p in (await handle.describe()).raw_description.pending_activities
                           if p.attempt >= 2)
            first.start()  # the host comes back on the same data directory
            result = await handle.result()
        finally:
            second.stop()
            first.stop()

    assert result.status == RunStatus.COMPLETED, result
    assert "corpus/approvals.md" in result.answer, result.answer[:500]
    assert "knowledge.sock" in failure, failure
