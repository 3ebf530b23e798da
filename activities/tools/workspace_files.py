"""File tools confined to the run's workspace (a directory per run under the data dir).

The workspace is shared with people: what the agent writes there is read by others, so writes are
risk level 2 and wait for approval under the default policy. Writes are keyed: each saves enough
state before it acts to recognise its own effect after a crash, so a retry never applies it twice.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import Field

from activities.tools.registry import ToolArgs, ToolContext, ToolError, tool

_MAX_READ = 64 * 1024


def resolve_in_workspace(workspace: Path, relative: str) -> Path:
    """Resolve `relative` inside `workspace`; anything that escapes it is refused."""
    root = workspace.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ToolError(f"path {relative!r} is outside the run's workspace", "invalid_arguments")
    return target


class ListFilesArgs(ToolArgs):
    directory: str = Field(default=".", description="directory relative to the workspace")


class ReadFileArgs(ToolArgs):
    path: str = Field(description="file path relative to the workspace")


class WriteFileArgs(ToolArgs):
    path: str = Field(min_length=1, description="file path relative to the workspace")
    content: str = Field(max_length=1_000_000)


class AppendFileArgs(ToolArgs):
    path: str = Field(min_length=1, description="file path relative to the workspace")
    line: str = Field(max_length=10_000, description="text appended as one line")


@tool(
    name="list_files",
    description="List the files in the run's workspace.",
    risk_level=0,
    idempotency="idempotent",
)
def list_files(ctx: ToolContext, args: ListFilesArgs) -> dict:
    directory = resolve_in_workspace(ctx.workspace, args.directory)
    if not directory.is_dir():
        return {"files": []}
    # Never through a link: a planted symlink to a directory would list what lies outside.
    files = [
        str((Path(top) / name).relative_to(directory))
        for top, _, names in os.walk(directory, followlinks=False)
        for name in names
        if (Path(top) / name).is_file() and not (Path(top) / name).is_symlink()
    ]
    return {"files": sorted(files)}


@tool(
    name="read_file",
    description="Read a text file from the run's workspace (first 64 KiB).",
    risk_level=0,
    idempotency="idempotent",
)
def read_file(ctx: ToolContext, args: ReadFileArgs) -> dict:
    path = resolve_in_workspace(ctx.workspace, args.path)
    if not path.is_file():
        raise ToolError(f"no file {args.path!r} in the workspace", "not_found")
    data, size = _read_private(path, args.path)
    return {"path": args.path, "content": data.decode(errors="replace"), "bytes": size}


def _read_private(path: Path, shown: str) -> tuple[bytes, int]:
    """Read a workspace file that is the workspace's own: never through a symlink swapped in after
    the check (O_NOFOLLOW), never a hard link to a file that also lives outside (link count > 1)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise ToolError(f"cannot read {shown!r}: {e.strerror}", "not_found") from e
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if info.st_nlink > 1:
            raise ToolError(f"{shown!r} is a hard link to a file outside the workspace; not read", "invalid_arguments")
        return f.read(_MAX_READ), info.st_size


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_file(ctx: ToolContext, args: WriteFileArgs) -> dict:
    path = resolve_in_workspace(ctx.workspace, args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = args.content.encode()
    # Write then rename, so a crash leaves the old file or the new one, never half of each.
    tmp = path.with_name(f".{path.name}.{ctx.tool_call_id}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return {"path": args.path, "bytes": len(data), "sha256": _digest(data)}


def _write_file_reconcile(ctx: ToolContext, args: WriteFileArgs, pre_state: dict) -> dict | None:
    path = resolve_in_workspace(ctx.workspace, args.path)
    data = args.content.encode()
    if path.is_file() and _digest(path.read_bytes()) == _digest(data):
        return {"path": args.path, "bytes": len(data), "sha256": _digest(data)}
    return None


def _append_file(ctx: ToolContext, args: AppendFileArgs) -> dict:
    path = resolve_in_workspace(ctx.workspace, args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (args.line + "\n").encode()
    offset = path.stat().st_size if path.exists() else 0
    ctx.save_pre_state({"offset": offset})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "ab") as f:
        if os.fstat(f.fileno()).st_nlink > 1:
            raise ToolError(f"{args.path!r} is a hard link to a file outside the workspace; not changed",
                            "invalid_arguments")
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return {"path": args.path, "offset": offset, "bytes": len(line)}


def _append_file_reconcile(ctx: ToolContext, args: AppendFileArgs, pre_state: dict) -> dict | None:
    if "offset" not in pre_state:
        return None  # interrupted before it saved its offset, so before it wrote anything
    path = resolve_in_workspace(ctx.workspace, args.path)
    line = (args.line + "\n").encode()
    offset = pre_state["offset"]
    if path.is_file():
        with path.open("rb") as f:
            f.seek(offset)
            if f.read(len(line)) == line:
                return {"path": args.path, "offset": offset, "bytes": len(line)}
    return None


write_file = tool(
    name="write_file",
    description="Write a text file into the run's shared workspace (replaces an existing file).",
    risk_level=2,
    idempotency="keyed",
    reconcile=_write_file_reconcile,
)(_write_file)

append_file = tool(
    name="append_file",
    description="Append one line of text to a file in the run's shared workspace.",
    risk_level=2,
    idempotency="keyed",
    reconcile=_append_file_reconcile,
)(_append_file)

TOOLS = [list_files, read_file, write_file, append_file]
