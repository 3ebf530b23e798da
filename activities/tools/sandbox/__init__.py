"""The command sandbox: configuration, the runner, and output storage by reference."""

from activities.tools.sandbox.config import SandboxConfig, SandboxConfigError
from activities.tools.sandbox.outputs import store_output
from activities.tools.sandbox.runner import SandboxRun, run_sandboxed

__all__ = ["SandboxConfig", "SandboxConfigError", "SandboxRun", "run_sandboxed", "store_output"]
