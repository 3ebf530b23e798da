"""A test-only tool whose output is far over Temporal's 2 MB payload limit."""

from __future__ import annotations

from pydantic import BaseModel

from activities.tools.registry import ToolContext, tool

SIZE = 5 * 1024 * 1024


class DumpArgs(BaseModel):
    fill: str = "x"


@tool(name="dump_log", description="Return a very large log.", risk_level=0, idempotency="idempotent")
def dump_log(ctx: ToolContext, args: DumpArgs) -> str:
    return args.fill * SIZE


TOOLS = [dump_log]
