"""temporal-dev.yaml -> `temporal server start-dev` flags, and a process that waits until healthy.

The YAML file is the one place the dev cluster is configured; tests start their own servers from the
same file with a few fields overridden (ports, database file), so they run what users run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.config_errors import problems
from worker.binaries import find_binary
from worker.settings import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "temporal-dev.yaml"
SearchAttributeType = Literal["Text", "Keyword", "Int", "Double", "Bool", "Datetime", "KeywordList"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSection(_Strict):
    ip: str = "127.0.0.1"
    grpc_port: int = Field(7233, ge=0, le=65535)
    ui_port: int = Field(8233, ge=0, le=65535)
    headless: bool = False
    log_level: Literal["debug", "info", "warn", "error", "never"] = "warn"
    db_filename: str | None = None
    sqlite_pragmas: dict[str, str] = Field(default_factory=dict)
    ui_codec_endpoint: str | None = None  # the Web UI decrypts payloads through it (worker/codec_server.py)


class DevServerConfig(_Strict):
    server: ServerSection = Field(default_factory=lambda: ServerSection.model_validate({}))
    namespaces: list[str] = Field(default_factory=lambda: ["default"])
    search_attributes: dict[str, SearchAttributeType] = Field(default_factory=dict)
    dynamic_config: dict[str, Any] = Field(default_factory=dict)
    base_dir: Path = Field(default=REPO_ROOT, exclude=True)

    @property
    def address(self) -> str:
        return f"{self.server.ip}:{self.server.grpc_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.server.ip}:{self.server.ui_port}"

    def db_path(self) -> Path | None:
        if self.server.db_filename is None:
            return None
        path = Path(self.server.db_filename)
        return path if path.is_absolute() else self.base_dir / path

    def args(self) -> list[str]:
        """The exact `temporal server start-dev` arguments this config means."""
        s = self.server
        args = ["server", "start-dev", "--ip", s.ip, "--port", str(s.grpc_port), "--log-level", s.log_level]
        if s.headless:
            args.append("--headless")
        else:
            args += ["--ui-port", str(s.ui_port)]
            if s.ui_codec_endpoint:
                args += ["--ui-codec-endpoint", s.ui_codec_endpoint]
        if (db := self.db_path()) is not None:
            args += ["--db-filename", str(db)]
            for pragma, value in s.sqlite_pragmas.items():
                args += ["--sqlite-pragma", f"{pragma}={value}"]
        for namespace in self.namespaces:
            if namespace != "default":  # always created by the server
                args += ["--namespace", namespace]
        for name, kind in self.search_attributes.items():
            args += ["--search-attribute", f"{name}={kind}"]
        for key, value in self.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return args


class DevConfigError(ValueError):
    pass


def load_dev_config(path: Path = DEFAULT_CONFIG, **overrides: Any) -> DevServerConfig:
    """Parse and validate the file; errors name the file and the offending key."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DevConfigError(f"{path}: not valid YAML: {e}") from e
    except OSError as e:
        raise DevConfigError(f"{path}: cannot read: {e.strerror}") from e
    if not isinstance(raw, dict):
        raise DevConfigError(f"{path}: the top level must be a mapping of sections")
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    try:
        return DevServerConfig(**raw, base_dir=path.parent)
    except ValidationError as e:
        raise DevConfigError(f"{path}: {problems(e)}") from e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class DevServer:
    """A running `temporal server start-dev` process."""

    def __init__(self, config: DevServerConfig, log_path: Path | None = None,
                 preexec_fn: Callable[[], None] | None = None) -> None:
        self.config = config
        self.log_path = log_path
        self.preexec_fn = preexec_fn  # e.g. worker.lifetime.die_with_parent()
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30) -> DevServer:
        binary = find_binary("temporal")
        if (db := self.config.db_path()) is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [binary, *self.config.args()], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=self.preexec_fn,
        )
        try:
            self._wait_healthy(binary, timeout_s)
        except BaseException:  # a Ctrl-C while it starts must not leave it running
            self.stop()
            raise
        return self

    def _wait_healthy(self, binary: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with code {self.process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            # `operator cluster health` checks the frontend answers, not just that the port is bound.
            probe = subprocess.run(
                [binary, "operator", "cluster", "health", "--address", self.config.address],
                capture_output=True,
                text=True,
            )
            if probe.returncode == 0 and "SERVING" in probe.stdout:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"temporal dev server at {self.config.address} not healthy after {timeout_s:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
