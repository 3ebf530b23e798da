"""`run_command`: one allow-listed executable, arguments as a list (never a shell string), in the sandbox.

The tool is built from a `SandboxConfig` at worker start (`build_command_tool`); the worker reads the
config from the environment when its registry loads this module (worker/tool_settings.py), so an
unknown executable or a host that cannot isolate fails the worker's start, never a run. A command may change the workspace in ways
no reconcile can recognise, so it is `not_idempotent`: an interrupted call becomes outcome_unknown.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, create_model, field_validator

from activities.tools.registry import Tool, ToolArgs, ToolContext, ToolError, ToolRegistrationError, tool
from activities.tools.sandbox import SandboxConfig, SandboxConfigError, run_sandboxed, store_output


class _CommandArgsBase(ToolArgs):
    args: list[str] = Field(default_factory=list, max_length=256,
                            description="arguments, one list item each; no shell parses them")
    timeout_s: float | None = Field(default=None, gt=0, description="wall time; at most the configured limit")

    @field_validator("args")
    @classmethod
    def _no_nul(cls, args: list[str]) -> list[str]:
        if any("\x00" in a or len(a) > 8192 for a in args):
            raise ValueError("arguments may not contain NUL bytes or exceed 8192 characters")
        return args


# What the model is told about its confinement: literally true for each mode (docs/tools.md).
_ISOLATION = {
    "namespaces": "isolated: no network, only the workspace (at /workspace) and system directories visible",
    "rlimits": "NOT isolated: it has the host's network and can read host files outside the workspace",
}


def _preview(path: Path, limit: int) -> dict[str, Any]:
    """The head and tail of an output (the end of a compiler's output is where its errors are)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        if size <= limit:
            return {"text": f.read().decode(errors="replace"), "bytes": size, "truncated": False}
        head = f.read(limit // 2)
        f.seek(size - limit // 2)
        tail = f.read()
    text = f"{head.decode(errors='replace')}\n...[{size - len(head) - len(tail)} bytes omitted]...\n" \
           f"{tail.decode(errors='replace')}"
    return {"text": text, "bytes": size, "truncated": True}


def build_command_tool(config: SandboxConfig, name: str = "run_command") -> Tool:
    """The tool for this config; raises ToolRegistrationError on what it cannot honour."""
    try:
        unshare = config.check_isolation()
        executables = config.resolve_executables()
    except SandboxConfigError as e:
        raise ToolRegistrationError(f"tool {name!r}: {e}") from e
    if not executables:
        raise ToolRegistrationError(f"tool {name!r}: AGENT_COMMAND_ALLOWLIST is empty")
    # A Literal of the allow-list, built at run time: no static type can name it, so it is typed Any.
    executable: Any = Literal[tuple(sorted(executables))]
    args_model = create_model(
        "RunCommandArgs",
        __base__=_CommandArgsBase,
        executable=(executable, Field(description="one of the allowed executables")),
    )

    def run_command(ctx: ToolContext, args: Any) -> dict:
        wall = min(args.timeout_s or config.wall_time_s, config.wall_time_s)
        with tempfile.TemporaryDirectory(prefix="agent-capture-") as capture:
            run = run_sandboxed(config, unshare, ctx.workspace, ctx.run_id, executables[args.executable],
                                args.executable, list(args.args), wall, Path(capture))
            outputs = {}
            for stream, path in (("stdout", run.stdout), ("stderr", run.stderr)):
                outputs[stream] = _preview(path, config.preview_bytes)
                if outputs[stream]["truncated"]:
                    outputs[stream]["stored"] = store_output(ctx.workspace, path)
        if run.exit_code in (125, 126) and outputs["stderr"]["text"].startswith("sandbox:"):
            raise ToolError(outputs["stderr"]["text"].strip(), "sandbox_error")
        return {
            "command": [args.executable, *args.args],
            "exit_code": run.exit_code,
            "signal": run.signal,
            "timed_out": run.timed_out,
            "duration_ms": run.duration_ms,
            **outputs,
            "files_changed": run.files_changed,
            "isolation": config.isolation,
        }

    run_command.__annotations__["args"] = args_model
    allowed = ", ".join(sorted(executables))
    return tool(
        name=name,
        description=f"Run one program ({allowed}) with a list of arguments in the run's workspace, "
        f"{_ISOLATION[config.isolation]}, under CPU, memory, file-size and time limits; processes it starts "
        "in the background are killed when it ends. Returns exit code, output and changed files.",
        risk_level=config.risk_level,
        idempotency="not_idempotent",
        timeout_s=config.wall_time_s + 30,
        heartbeat_timeout_s=30,
    )(run_command)


def __getattr__(attribute: str) -> list[Tool]:
    # Built when the registry asks (worker start), not at import: probing the host is a side effect that
    # has no place in an import. The SandboxConfig comes from the worker, which reads AGENT_COMMAND_*
    # (worker/tool_settings.py); a registry loading this module without the worker's builders says so.
    if attribute == "TOOLS":
        raise ToolRegistrationError(f"{__name__} is built from the worker's settings: load it with "
                                    "worker.tool_settings.load_tool_registry")
    raise AttributeError(attribute)
