"""Large tool outputs by reference: a 5 MB output round-trips; small ones stay inline; the read CLI prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from activities.context.references import is_reference, prompt_text, reference_if_large, resolve
from workflows.contracts import ToolResult


def test_small_output_stays_inline(store) -> None:
    """A result under the threshold comes back unchanged and stores nothing."""
    result = ToolResult(status="ok", data={"value": 42})
    same, ref = reference_if_large(store, result)
    assert same == result and ref is None
    assert not store.root.exists()


def test_5mb_output_round_trips_by_reference(store) -> None:
    """A 5 MB output becomes a few hundred bytes of reference and resolves to the identical content."""
    lines = [{"line": i, "text": f"row {i} " + "z" * 40} for i in range(100_000)]
    result = ToolResult(status="ok", data={"rows": lines})
    small, ref = reference_if_large(store, result)
    assert ref is not None and ref.size > 5_000_000
    assert is_reference(small.data) and small.data["$ref"] == ref.digest
    assert len(small.model_dump_json()) < 600
    assert ToolResult.model_validate_json(small.model_dump_json()) == small
    assert resolve(store, small.data) == {"rows": lines}
    assert reference_if_large(store, small)[1] is None  # never references a reference
    assert prompt_text(small.data).startswith(f"[stored output {ref.digest}, {ref.size} bytes")


def test_large_text_output_keeps_its_media_type(store) -> None:
    """A plain-text output is stored as text and resolves to the same string."""
    text = "log line\n" * 5000
    small, ref = reference_if_large(store, ToolResult(status="ok", data=text), threshold_bytes=1000)
    assert ref.media_type.startswith("text/plain")
    assert resolve(store, small.data) == text


def test_read_cli_prints_blob_and_transcript(store, tmp_path) -> None:
    """`python -m worker.read` prints a blob's bytes and a chain's messages; unknown is exit 1."""
    from activities.context import transcript
    from workflows.contracts import Message

    digest = store.put_text("stored content ✓")
    head = transcript.append(store, None, [Message(role="user", content="hello")])
    run = lambda *args: subprocess.run([sys.executable, "-m", "worker.read", *args,  # noqa: E731
                                        "--store", str(store.root)], capture_output=True, text=True, timeout=60)
    assert run(digest).stdout == "stored content ✓"
    assert run(head, "--transcript").stdout.strip() == '{"role": "user", "content": "hello"}'
    missing = run("sha256:" + "0" * 64)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no blob")


def test_read_cli_reads_the_workers_store_from_elsewhere_and_reports_s3_failures(tmp_path) -> None:
    """With no --store, run from another directory, it reads where the worker writes (AGENT_DATA_DIR);
    a broken S3 store is an error line and exit 1, not a traceback."""
    from activities.context.blobs import LocalBlobStore

    data_dir = tmp_path / "data"
    digest = LocalBlobStore(data_dir / "blobs").put_text("the worker wrote this")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "AWS_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "worker.read", *args], capture_output=True,
                              text=True, timeout=60, cwd=elsewhere, env={**env, **extra})

    assert run(digest, AGENT_DATA_DIR=str(data_dir)).stdout == "the worker wrote this"
    s3 = "s3://bucket/prefix?endpoint=http://127.0.0.1:9"
    no_keys = run(digest, "--store", s3)
    assert no_keys.returncode == 1 and no_keys.stderr.startswith("error: ") and "Traceback" not in no_keys.stderr
    unreachable = run(digest, "--store", s3, AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s")
    assert unreachable.returncode == 1 and unreachable.stderr.startswith("error: ")
    assert "Traceback" not in unreachable.stderr
