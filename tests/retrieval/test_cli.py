"""The knowledge CLI end to end on a real local store: ingest, search, and the memory commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.retrieval.conftest import CORPUS
from worker.knowledge_cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """Run the CLI in-process against a fresh data dir; returns (exit code, parsed --json stdout)."""
    monkeypatch.setenv("AGENT_DATA_DIR", str(tmp_path / "data"))
    for var in ("AGENT_QDRANT_URL", "AGENT_EMBEDDINGS", "AGENT_QDRANT_PATH", "AGENT_EMBEDDING_CACHE"):
        monkeypatch.delenv(var, raising=False)

    def run(*argv: str) -> tuple[int, object]:
        code = main(["--json", *argv])
        out = capsys.readouterr().out
        return code, json.loads(out) if code == 0 else None

    return run


def test_ingest_search_and_memory_commands(cli) -> None:
    """Ingest twice (second is a no-op), search as a user, then add, correct, pin, list and delete a memory."""
    code, first = cli("ingest", str(CORPUS), "--tenant", "acme")
    assert code == 0 and first["added"] == first["chunks"] > 0
    code, second = cli("ingest", str(CORPUS), "--tenant", "acme")
    assert (second["added"], second["embedded"]) == (0, 0)

    code, hits = cli("search", "what does risk level 4 mean?", "--tenant", "acme", "--user", "alice", "--limit", "3")
    assert code == 0 and hits[0]["source"] == "corpus/approvals.md"
    assert cli("search", "risk level", "--tenant", "globex", "--user", "alice")[1] == []

    _, added = cli("memory", "add", "Alice reads reports on mobile.", "--tenant", "acme", "--scope", "user",
                   "--id", "alice", "--type", "preference", "--by", "bob")
    mid = added["memory_id"]
    _, fixed = cli("memory", "correct", mid, "Alice reads reports on a tablet.", "--tenant", "acme", "--by", "alice")
    assert fixed["content"] == "Alice reads reports on a tablet." and fixed["corrected_by"] == "alice"
    _, pinned = cli("memory", "pin", mid, "--tenant", "acme", "--by", "alice")
    assert pinned["pinned"] is True
    _, listed = cli("memory", "list", "--tenant", "acme", "--subject", "user:alice")
    assert [m["memory_id"] for m in listed] == [mid]
    assert cli("memory", "delete", mid, "--tenant", "acme", "--by", "alice") == (0, {"deleted": mid})
    assert cli("memory", "list", "--tenant", "acme")[1] == []
    assert cli("memory", "show", mid, "--tenant", "acme") == (1, None)


@pytest.mark.parametrize("var", ["AGENT_EMBEDDING_BATCH", "AGENT_BREAKER_MIN_CALLS"])
def test_invalid_settings_exit_1_with_the_reason(cli, var: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    """A bad AGENT_* value (retrieval's or the worker's) is an error line and exit status 1, not a traceback."""
    monkeypatch.setenv(var, "abc")
    assert main(["memory", "list", "--tenant", "acme"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid") and var in err
