"""Store identity, the second-line store check, shared workspaces and the multi-host settings, on real
SQLite / PostgreSQL ledgers and a real blob store, without a Temporal server."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment

from activities.context.blobs import LocalBlobStore
from activities.ledger import Ledger, ManifestConflict, open_ledger
from activities.stores import StoreIdentity, StoreMismatch
from activities.tools.execute import ToolActivities
from activities.tools.workspace_store import LocalWorkspaces, SharedWorkspaces
from tests.conftest import registry_with
from tests.tools.helpers import call_input
from worker.settings import SettingsError, load_settings


def test_a_ledger_keeps_its_identity_and_a_copy_has_another(tmp_path):
    """The id is made once and kept in the ledger: reopened, the same; another ledger, another."""
    first = Ledger(tmp_path / "a.sqlite").store_id()
    assert Ledger(tmp_path / "a.sqlite").store_id() == first
    assert Ledger(tmp_path / "b.sqlite").store_id() != first


def test_workers_sharing_a_postgres_ledger_read_one_identity(postgres_url):
    """Two workers opening the same PostgreSQL ledger compute the same id, hence the same store queue."""
    assert open_ledger(postgres_url).store_id() == open_ledger(postgres_url).store_id()


def test_the_store_queue_follows_every_store():
    """Change any one store and the queue changes: a run bound to one set never reaches another."""
    base = StoreIdentity("ledger-1", "ws-1", "blobs-1", "off")
    others = [StoreIdentity("ledger-2", "ws-1", "blobs-1", "off"), StoreIdentity("ledger-1", "ws-2", "blobs-1", "off"),
              StoreIdentity("ledger-1", "ws-1", "blobs-2", "off"), StoreIdentity("ledger-1", "ws-1", "blobs-1", "url:q")]
    assert len({base.task_queue("agents"), *(o.task_queue("agents") for o in others)}) == 5
    assert base.task_queue("agents") == StoreIdentity("ledger-1", "ws-1", "blobs-1", "off").task_queue("agents")


async def test_a_worker_with_other_stores_refuses_before_touching_its_ledger(tmp_path):
    """A call bound to other stores is refused retryably (StoreMismatch), and this ledger records nothing."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    tools = ToolActivities(registry_with(), ledger, tmp_path / "workspaces", store_id="stores-mine")
    call = call_input("append_file", path="log.txt", line="paid").model_copy(update={"store_id": "stores-theirs"})
    with pytest.raises(StoreMismatch) as refused:
        await ActivityEnvironment().run(tools.execute, call)
    assert not refused.value.non_retryable and "stores-theirs" in str(refused.value)
    assert ledger.receipt(call.idempotency_key) is None
    ok = await ActivityEnvironment().run(tools.execute, call.model_copy(update={"store_id": "stores-mine"}))
    assert ok.status == "ok"


async def test_shared_workspace_files_follow_the_run_to_another_worker(tmp_path):
    """Worker 1 appends; worker 2 (its own cache dir, same ledger and blob store) appends after it and reads
    both lines; a file deleted on one worker is gone on the other."""
    ledger, blobs = Ledger(tmp_path / "ledger.sqlite"), LocalBlobStore(tmp_path / "blobs")
    workers = [ToolActivities(registry_with(), ledger, SharedWorkspaces(ledger, blobs, tmp_path / f"cache-{n}", "b"))
               for n in range(2)]
    env = ActivityEnvironment()
    await env.run(workers[0].execute, call_input("append_file", "call-1-1", path="notes.txt", line="one"))
    await env.run(workers[1].execute, call_input("append_file", "call-2-1", path="notes.txt", line="two"))
    read = await env.run(workers[0].execute, call_input("read_file", "call-3-1", path="notes.txt"))
    assert read.status == "ok" and read.data["content"] == "one\ntwo\n"
    store = workers[1].workspaces
    with store.checkout("run-1") as path:
        (path / "notes.txt").unlink()
    missing = await env.run(workers[0].execute, call_input("read_file", "call-4-1", path="notes.txt"))
    assert missing.status == "error"
    assert ledger.workspace_manifest(next((tmp_path / "cache-0").iterdir()).name)[1] == {}


def test_a_stale_manifest_write_is_refused(tmp_path):
    """Version check: a writer that read version 0 after someone wrote version 1 cannot overwrite it."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    assert ledger.save_workspace_manifest("w", 0, {"a": "sha256:" + "0" * 64}) == 1
    with pytest.raises(ManifestConflict):
        ledger.save_workspace_manifest("w", 0, {})


def test_symlinks_are_not_published_from_a_shared_workspace(tmp_path):
    """A tool that plants a symlink to a file outside cannot make the store upload that file."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    ledger, blobs = Ledger(tmp_path / "ledger.sqlite"), LocalBlobStore(tmp_path / "blobs")
    store = SharedWorkspaces(ledger, blobs, tmp_path / "cache", "b")
    with store.checkout("run-1") as path:
        (path / "link.txt").symlink_to(secret)
        (path / "real.txt").write_text("mine")
    with SharedWorkspaces(ledger, blobs, tmp_path / "cache-2", "b").checkout("run-1") as path:
        assert sorted(p.name for p in path.iterdir()) == ["real.txt"]
    with store.checkout("run-1") as path:  # the worker that planted it sees what every other one sees
        assert sorted(p.name for p in path.iterdir()) == ["real.txt"]


def test_local_workspaces_have_a_marker_identity(tmp_path):
    assert LocalWorkspaces(tmp_path / "w").store_id() == LocalWorkspaces(tmp_path / "w").store_id()
    assert LocalWorkspaces(tmp_path / "w").store_id() != LocalWorkspaces(tmp_path / "v").store_id()


def test_the_multi_host_profile_refuses_per_host_stores():
    """One line naming every missing shared store, before the worker connects to anything."""
    with pytest.raises(SettingsError) as refused:
        load_settings({"AGENT_PROFILE": "multi-host"})
    message = str(refused.value)
    assert "AGENT_LEDGER_URL" in message and "AGENT_BLOB_STORE" in message and "\n" not in message
    settings = load_settings({"AGENT_PROFILE": "multi-host", "AGENT_LEDGER_URL": "postgresql://db/ledger",
                              "AGENT_BLOB_STORE": "s3://bucket/agent?endpoint=http://s3:9000"})
    assert settings.workspace_kind == "shared"
