"""A failed run becomes an eval case: its goal, its starting files, its settings, and the tool answers it
saw as a recorded world, plus the checks a person names.

    python -m worker.evals capture RUN_ID --check '{answer_contains: "1591"}' --out evals/captured/calc.yaml

writes a one-case suite (`calc.yaml`) and its recorded world beside it (`calc.world.json`). Run, the
case's agent decides afresh, and every tool call equal to one the original made (tool and argument
hash) is answered from the recording, without acting: the case tests the agent's choices in the world
the failed run saw, and runs anywhere, with no access to what the original touched.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from worker.evals.recorded import RecordedRun


class CaptureError(ValueError):
    pass


def parse_checks(texts: list[str]) -> list[Any]:
    """Each `--check` as YAML (`{answer_contains: "x"}`); at least one."""
    if not texts:
        raise CaptureError("name at least one check, e.g. --check '{answer_contains: \"1591\"}' (docs/evals.md)")
    checks = []
    for text in texts:
        try:
            checks.append(yaml.safe_load(text))
        except yaml.YAMLError as e:
            raise CaptureError(f"--check {text!r} is not YAML: {e}") from None
    return checks


def case_of(run: RecordedRun, checks: list[Any], world_file: str) -> dict[str, Any]:
    request = run.request
    case: dict[str, Any] = {
        "id": re.sub(r"[^A-Za-z0-9_.-]", "-", f"captured-{run.workflow_id}").strip("-"),
        "description": f"captured from run {run.workflow_id} ({run.status or 'unknown status'}, "
                       f"{len(run.decisions)} steps, {len(run.calls)} tool calls recorded)",
        "goal": request.goal,
        "checks": checks,
        "world": world_file,
        "approval_risk_level": request.approval_risk_level,
        "budgets": request.budgets.model_dump(mode="json"),
    }
    if request.files:
        case["files"] = dict(request.files)
    if request.allowed_tools is not None:
        case["allowed_tools"] = list(request.allowed_tools)
    return case


def write_capture(run: RecordedRun, checks: list[Any], out: Path) -> tuple[Path, Path]:
    """The suite file and its world file, beside each other; refuses to overwrite either."""
    world_path = out.with_name(out.stem + ".world.json")
    for path in (out, world_path):
        if path.exists():
            raise CaptureError(f"{path} exists; choose another --out")
    suite = {"name": re.sub(r"[^A-Za-z0-9_.-]", "-", out.stem),
             "description": f"a case captured from run {run.workflow_id}",
             "defaults": {"tenant_id": run.request.tenant_id, "user_id": run.request.user_id},
             "cases": [case_of(run, checks, world_path.name)]}
    out.parent.mkdir(parents=True, exist_ok=True)
    world_path.write_text(run.world().model_dump_json(indent=1))
    out.write_text(yaml.safe_dump(suite, sort_keys=False, allow_unicode=True))
    return out, world_path
