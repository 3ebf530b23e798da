"""A history this project's workflow wrote and the SDK cannot replay: a known upstream bug, pinned here.

How it was made (tests/api/test_console.py, the unknown-outcome test): a worker was SIGKILLed while a
not-idempotent tool ran; the next worker's retry found the effect without a receipt (outcome unknown).
The workflow task that followed went to the dead worker's sticky queue and timed out (events 66-67).
The new worker then took a task that carried both the activity's completion and two updates (a
person's `resolve_outcome` from the console and a Workflow Streams poll). Live, sdk-core applied the
completion first and delivered the updates after it, so the history records the patch marker and the
status upserts before the updates were accepted. On replay, sdk-core folds the timed-out task into the
next and delivers the completion and the updates in one activation; the Python SDK runs update
handlers first, the commands come in another order, and replay fails with a nondeterminism error.

The run itself completed on the worker that had it cached, with one effect. What breaks is every later
replay: a query on the closed run (the console and `temporal workflow query` show "cannot be read"),
or, for a run still open, the next worker that must rebuild it. docs/operating.md, Known issues, says
what an operator does about it.

Upstream: temporalio/sdk-rust pull request 1597 ("preserve WFT boundaries required by Update
sequencing", open); temporalio/sdk-python issue 1591. When an SDK upgrade makes this history replay,
this test fails: move the history to tests/histories/ (it must replay from then on) and delete this file
and the known issue.
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory

from tests.test_replay import replayer
from worker.main import WORKFLOWS

HISTORY = Path(__file__).with_name("update_after_sticky_timeout.json")


async def test_the_sdk_still_cannot_replay_an_update_after_a_sticky_timeout():
    history = WorkflowHistory.from_json("update-after-sticky-timeout", json.loads(HISTORY.read_text()))
    result = await replayer(WORKFLOWS).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None, "the SDK replays it now: see this module's docstring"
    assert "Nondeterminism error: Non-deprecated patch marker encountered for change outcome-resolution" in str(
        result.replay_failure)
