"""What a run produced, for the people around it: the files in its workspace and the memories it proposed.

Files are read from the local workspaces' root (the one the worker writes, `AGENT_DATA_DIR/workspaces`
or `AGENT_WORKSPACES_DIR`). A path from a request is hostile until proven otherwise: it must name a
regular file inside the run's own workspace, reached without a symbolic link, and never one of the
tools' own files (`.outputs/`, dot-files). A file is sent as what it is: text as text/plain, a raster
image as itself, anything else (SVG and HTML included, which a browser would run) as a download.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi.responses import Response
from markdown_it import MarkdownIt
from pydantic import BaseModel

from worker.evals.recorded import RecordedRun

# CommonMark with raw HTML off: HTML in a file shows as text, and markdown-it refuses javascript: links.
MARKDOWN = MarkdownIt("commonmark", {"html": False})
MAX_FILES = 500
MAX_BYTES = 5 << 20  # served whole; a bigger file is listed but not sent
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
TEXT = {".txt", ".md", ".markdown", ".json", ".csv", ".log", ".py", ".yaml", ".yml", ".toml", ".ini", ".sql", ".sh"}


class ArtifactError(ValueError):
    pass


class FileInfo(BaseModel):
    path: str
    size: int
    kind: Literal["markdown", "text", "image", "other"]


def kind_of(path: str) -> Literal["markdown", "text", "image", "other"]:
    suffix = Path(path).suffix.lower()
    if suffix in (".md", ".markdown"):
        return "markdown"
    if suffix in IMAGES:
        return "image"
    return "text" if suffix in TEXT or not suffix else "other"


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def list_files(folder: Path) -> list[FileInfo]:
    if not folder.is_dir():
        return []  # nothing written yet
    found: list[FileInfo] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            relative = path.relative_to(folder)
            if _hidden(relative) or path.is_symlink() or not path.is_file():
                continue
            found.append(FileInfo(path=relative.as_posix(), size=path.stat().st_size, kind=kind_of(name)))
            if len(found) >= MAX_FILES:
                return found
    return found


def resolve(folder: Path, path: str) -> Path:
    """`path` inside `folder`, or ArtifactError: no '..', no absolute path, no link anywhere on the way."""
    relative = Path(path)
    if not path or "\0" in path or relative.is_absolute() or ".." in relative.parts or _hidden(relative):
        raise ArtifactError(f"no file {path!r} in the run's workspace")
    current = folder
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            raise ArtifactError(f"no file {path!r} in the run's workspace")
    if not current.is_file():
        raise ArtifactError(f"no file {path!r} in the run's workspace")
    return current


def file_response(folder: Path, path: str, download: bool, render: bool = False) -> Response:
    target = resolve(folder, path)
    if target.stat().st_size > MAX_BYTES:
        raise ArtifactError(f"{path} is larger than {MAX_BYTES >> 20} MiB: read it on the worker's host")
    kind = kind_of(target.name)
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
               "Cache-Control": "no-store"}
    if render and kind == "markdown" and not download:
        html = MARKDOWN.render(target.read_text(errors="replace"))
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    if kind == "image":
        media = IMAGES[target.suffix.lower()]
    elif kind in ("text", "markdown"):
        media = "text/plain; charset=utf-8"
    else:
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        download = True  # never rendered by the browser (HTML, SVG, PDF, ...)
    if download:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(target.name, safe='')}"
    return Response(target.read_bytes(), media_type=media, headers=headers)


def proposed_memories(recorded: RecordedRun) -> list[dict[str, Any]]:
    """Each `remember` call that ran: what it proposed (type, content, scope) and what the store said."""
    items = []
    for call in recorded.calls:
        if call.tool != "remember":
            continue
        data = call.result.data if isinstance(call.result.data, dict) else {}
        items.append({"call_id": call.id, "step": call.step, "type": call.arguments.get("type", "fact"),
                      "content": call.arguments.get("content"), "scope": call.arguments.get("scope", "user"),
                      "outcome": data.get("outcome") or call.result.status,
                      "reason": data.get("reason") or call.result.message})
    return items
