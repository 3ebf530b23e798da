"""A test-only tool module, loaded into a real worker with AGENT_TOOL_MODULES.

Each tool performs the real append_file effect and blocks on a release file the test controls, either
before acting or after (with a marker that the effect happened), so the test can SIGKILL the worker
at a known boundary.
"""

from __future__ import annotations

import time

from activities.tools.registry import ToolContext, tool
from activities.tools.workspace_files import AppendFileArgs, append_file

EFFECT_MARKER = "effect-applied"
RELEASE_FILE = "release"
RELEASE_BEFORE = "release-before"


def _gate(ctx: ToolContext, name: str) -> None:
    (ctx.workspace / f"waiting-{name}").touch()
    deadline = time.monotonic() + 120
    while not (ctx.workspace / name).exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # waiting on the test, inside the tool; the test itself never sleeps


def _after(ctx: ToolContext, args: AppendFileArgs) -> dict:
    result = append_file.handler(ctx, args)
    (ctx.workspace / EFFECT_MARKER).touch()
    _gate(ctx, RELEASE_FILE)
    return result


def _before(ctx: ToolContext, args: AppendFileArgs) -> dict:
    _gate(ctx, RELEASE_BEFORE)  # killed here, nothing has happened yet
    return append_file.handler(ctx, args)


gated_append = tool(name="gated_append", description="append_file, then wait for the test", risk_level=1,
                    idempotency="keyed", heartbeat_timeout_s=2, reconcile=append_file.reconcile)(_after)
gated_before_append = tool(name="gated_before_append", description="wait for the test, then append_file",
                           risk_level=1, idempotency="keyed", heartbeat_timeout_s=2,
                           reconcile=append_file.reconcile)(_before)
# Not idempotent: an interruption after acting must end as outcome_unknown, for a person to decide.
gated_payment = tool(name="gated_payment", description="a not-idempotent append, then wait for the test",
                     risk_level=1, idempotency="not_idempotent", heartbeat_timeout_s=2)(_after)

TOOLS = [gated_append, gated_before_append, gated_payment]
