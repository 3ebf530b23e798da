"""Run the embedded model behind llama.cpp's OpenAI-compatible server, in its own process.

A separate process, not an in-worker model: the worker then talks to every model the same way (HTTP,
OpenAI wire format), and llama.cpp keeps the previous prompt's KV state, so a run whose context is
append-only re-evaluates only the new tokens each step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class LlamaServerConfig:
    model_path: Path
    model_alias: str
    host: str = "127.0.0.1"
    port: int = 8081
    n_ctx: int = 4096
    n_threads: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", self.model_alias,
            "--host", self.host,
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
        ]


def start_llama_server(config: LlamaServerConfig, log_path: Path, timeout_s: float = 120,
                       preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen:
    """Start the server and return once it answers /v1/models; raise with its log tail otherwise.

    `preexec_fn` runs in the child before exec (`up` passes worker.lifetime.die_with_parent())."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    proc = subprocess.Popen(
        config.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn
    )
    try:
        wait_until_ready(config.base_url, timeout_s, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def wait_until_ready(base_url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"model server exited with code {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"model server at {base_url} not ready after {timeout_s:.0f} s")
        time.sleep(0.2)
