"""What the command sandbox allows: executables, limits, isolation. Read once, validated at worker start.

The worker reads it from AGENT_COMMAND_* variables (worker/tool_settings.py); nothing here reads the
environment.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

# The PATH commands see, and where allow-listed names are looked up: system directories only, so a
# virtualenv or a user's ~/bin never shadows what the operator allowed.
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
# What the namespaces sandbox mounts read-only; an allowed executable must live below one of these.
VISIBLE_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib64")

class SandboxConfigError(ValueError):
    """Bad command-sandbox configuration: raised at worker start with the variable's name."""


class SandboxConfig(BaseModel):
    allowed_executables: list[str] = Field(
        default_factory=lambda: ["cat", "ls", "head", "tail", "wc", "grep", "sort", "python3"],
        description="AGENT_COMMAND_ALLOWLIST: comma-separated names (looked up on SANDBOX_PATH) or absolute paths",
    )
    isolation: Literal["namespaces", "rlimits"] = Field(
        "namespaces",
        description="AGENT_COMMAND_ISOLATION: 'namespaces' (Linux, root: private mount/net/pid namespaces, chroot "
        "to the workspace) or 'rlimits' (limits and a scrubbed environment only; weaker, opt-in)",
    )
    risk_level: int = Field(2, ge=0, le=4, description="AGENT_COMMAND_RISK_LEVEL")
    cpu_s: int = Field(30, ge=1, description="AGENT_COMMAND_CPU_S: CPU seconds per process (RLIMIT_CPU)")
    memory_mb: int = Field(1024, ge=16, description="AGENT_COMMAND_MEMORY_MB: address space per process")
    file_size_mb: int = Field(16, ge=1, description="AGENT_COMMAND_FILE_SIZE_MB: largest file written, output included")
    max_processes: int = Field(32, ge=1, description="AGENT_COMMAND_MAX_PROCESSES: per sandbox uid (RLIMIT_NPROC)")
    max_open_files: int = Field(256, ge=16)
    wall_time_s: float = Field(60, gt=0, description="AGENT_COMMAND_WALL_TIME_S: default and maximum per call")
    tmp_size_mb: int = Field(64, ge=1, description="size of the private /tmp (tmpfs)")
    uid_base: int = Field(
        200_000, ge=1000,
        description="AGENT_COMMAND_UID_BASE: each run gets its own uid in [base, base + 50000), so one run's "
        "processes never count against (or signal) another's",
    )
    preview_bytes: int = Field(8192, ge=256, description="stdout/stderr bytes kept in the result, head and tail")

    def resolve_executables(self) -> dict[str, str]:
        """Allowed name -> absolute path, resolved once; a missing or unreachable executable is an error."""
        resolved: dict[str, str] = {}
        for entry in self.allowed_executables:
            path = entry if os.path.isabs(entry) else shutil.which(entry, path=SANDBOX_PATH)
            if path is None or not os.access(path, os.X_OK):
                raise SandboxConfigError(f"AGENT_COMMAND_ALLOWLIST: {entry!r} is not an executable on {SANDBOX_PATH}")
            real = os.path.realpath(path)
            if self.isolation == "namespaces" and not real.startswith(tuple(r + "/" for r in VISIBLE_ROOTS)):
                raise SandboxConfigError(
                    f"AGENT_COMMAND_ALLOWLIST: {entry!r} resolves to {real}, outside what the sandbox mounts "
                    f"({', '.join(VISIBLE_ROOTS)})"
                )
            resolved[Path(entry).name] = path
        return resolved

    def check_isolation(self) -> str:
        """The unshare binary for 'namespaces' mode, or '' for 'rlimits'; refuse what this host cannot do."""
        if self.isolation == "rlimits":
            return ""
        unshare = shutil.which("unshare", path=SANDBOX_PATH + ":/usr/sbin:/sbin")
        if not sys.platform.startswith("linux") or os.geteuid() != 0 or unshare is None:
            raise SandboxConfigError(
                "AGENT_COMMAND_ISOLATION=namespaces needs Linux, a worker running as root and util-linux's "
                "unshare; run the worker so, or set AGENT_COMMAND_ISOLATION=rlimits to accept weaker isolation "
                "(no filesystem or network confinement)"
            )
        return unshare
