"""A test-only tool module, loaded into a real worker with AGENT_TOOL_MODULES.

`gated_append` performs the real append_file effect, then signals that the effect happened (a marker
file) and blocks until the test releases it, so the test can SIGKILL the worker at a known point.
"""

from __future__ import annotations

import time

from activities.tools.registry import ToolContext, tool
from activities.tools.workspace_files import AppendFileArgs, append_file

EFFECT_MARKER = "effect-applied"
RELEASE_FILE = "release"


def _gated(ctx: ToolContext, args: AppendFileArgs) -> dict:
    result = append_file.handler(ctx, args)
    (ctx.workspace / EFFECT_MARKER).touch()
    deadline = time.monotonic() + 120
    while not (ctx.workspace / RELEASE_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # waiting on the test, inside the tool; the test itself never sleeps
    return result


gated_append = tool(
    name="gated_append",
    description="append_file that waits for the test's release file after applying its effect",
    risk_level=1,
    idempotency="keyed",
    heartbeat_timeout_s=2,
    reconcile=append_file.reconcile,
)(_gated)



def _gate(ctx: ToolContext, name: str) -> None:
    (ctx.workspace / f"waiting-{name}").touch()
    deadline = time.monotonic() + 120
    while not (ctx.workspace / name).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _before(ctx: ToolContext, args: AppendFileArgs) -> dict:
    _gate(ctx, RELEASE_BEFORE)  # killed here, nothing has happened yet
    return append_file.handler(ctx, args)


def _payment(ctx: ToolContext, args: AppendFileArgs) -> dict:
    result = append_file.handler(ctx, args)
    (ctx.workspace / EFFECT_MARKER).touch()
    _gate(ctx, RELEASE_FILE)
    return result


RELEASE_BEFORE = "release-before"

gated_before_append = tool(
    name="gated_before_append",
    description="append_file that waits for the test's release file before acting",
    risk_level=1,
    idempotency="keyed",
    heartbeat_timeout_s=2,
    reconcile=append_file.reconcile,
)(_before)

gated_payment = tool(
    name="gated_payment",
    description="a non-idempotent append that waits after acting: its interruption is outcome_unknown",
    risk_level=1,
    idempotency="not_idempotent",
    heartbeat_timeout_s=2,
)(_payment)

TOOLS = [gated_append, gated_before_append, gated_payment]
