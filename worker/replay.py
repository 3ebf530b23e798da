"""Replay recorded histories against the current workflow code.

    temporal workflow show -w RUN_ID --output json > run.json
    python -m worker.replay run.json [more.json ...]

Exit code 0 when every history replays; 1 with the nondeterminism error otherwise. Use it before
deploying a change to AgentRun: a history that no longer replays means running workflows would fail.
Histories recorded with encryption on replay with the same keys (AGENT_CODEC_KEYS / _FILE) set.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from pydantic import ValidationError
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from worker import cli
from worker.codec import project_data_converter
from worker.sandbox import workflow_runner
from workflows.agent_run import AgentRun


def history_workflow_id(text: str, default: str) -> str:
    """The run's own workflow id, from its started event (servers record it there). Workflow code may
    read it (a signed approval signal is checked against it), so a replay under another id could diverge."""
    try:
        started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    except (ValueError, KeyError, IndexError, TypeError):
        return default
    return started.get("workflowId") or default


async def replay(paths: list[Path]) -> int:
    replayer = Replayer(
        # The workflow alone, not worker.main: replaying needs no activity code or provider SDKs,
        # and importing them tripled the start-up time.
        workflows=[AgentRun],
        data_converter=project_data_converter(),  # decrypts histories recorded with the codec
        workflow_runner=workflow_runner(),
        workflow_failure_exception_types=[ValidationError],
    )
    failures = 0
    for path in paths:
        text = path.read_text()
        history = WorkflowHistory.from_json(history_workflow_id(text, path.stem), text)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is None:
            print(f"ok      {path}")
        else:
            failures += 1
            print(f"FAILED  {path}: {result.replay_failure}")
    return 1 if failures else 0


def main() -> None:
    parser = cli.parser("python -m worker.replay", __doc__.split("\n\n")[0])
    parser.add_argument("histories", nargs="+", type=Path, metavar="HISTORY.json",
                        help="histories as `temporal workflow show --output json` writes them")
    args = parser.parse_args()
    if missing := [str(p) for p in args.histories if not p.is_file()]:
        parser.error(f"no such file: {', '.join(missing)}")
    sys.exit(asyncio.run(replay(args.histories)))


if __name__ == "__main__":
    main()
