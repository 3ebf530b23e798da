"""What the multi-host tests share: a four-step script any worker can answer, and the shared stores."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import psycopg

from worker.blobs import open_blob_store

TOOL_MODULES = "tests.multihost_tools"
STEPS = 4  # note a, ship, note b, read_note; then the answer


def goal(label: str) -> str:
    return f"multihost run={label}"


def respond(body: dict[str, Any]) -> str:
    """The model: what to do next follows from the run's label and how many tool results it has seen,
    so every worker's model call gets the same answer for the same transcript."""
    texts = [_text(m.get("content")) for m in body.get("messages", [])]
    label = next(m.group(1) for t in texts if (m := re.search(r"multihost run=(\S+)", t)))
    results = [t for t in texts if t.startswith("Result of tool")]
    plan = [("note", {"path": "notes.txt", "line": f"{label} a"}), ("ship", {"label": label}),
            ("note", {"path": "notes.txt", "line": f"{label} b"}), ("read_note", {"path": "notes.txt"})]
    if len(results) < len(plan):
        tool, arguments = plan[len(results)]
        return json.dumps({"action": "call_tool", "tool": tool, "arguments": arguments})
    return json.dumps({"action": "final_answer", "answer": f"notes: {results[-1]}"})


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))



def shared_stores_env(postgres_url: str, s3_endpoint: str, monkeypatch: Any) -> dict[str, str]:
    """A fresh PostgreSQL ledger and S3 bucket, and the settings of a worker in the multi-host profile on them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    database = f"ledger_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {database}")
    blob_url = f"s3://mh-{uuid.uuid4().hex[:8]}/agent?endpoint={s3_endpoint}"
    open_blob_store(blob_url).create_bucket()
    return {"AGENT_PROFILE": "multi-host", "AGENT_LEDGER_URL": postgres_url.rsplit("/", 1)[0] + f"/{database}",
            "AGENT_BLOB_STORE": blob_url, "AGENT_RETRIEVAL": "false"}
