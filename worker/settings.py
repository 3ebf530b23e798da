"""Worker settings, read once from the environment; every field has a default that runs locally."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from workflows.contracts import TASK_QUEUE

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOOL_MODULES = ("activities.tools.calculator", "activities.tools.workspace_files")


class Settings(BaseModel):
    temporal_address: str = Field("localhost:7233", description="TEMPORAL_ADDRESS")
    namespace: str = Field("default", description="TEMPORAL_NAMESPACE")
    task_queue: str = Field(TASK_QUEUE, description="AGENT_TASK_QUEUE")
    data_dir: Path = Field(REPO_ROOT / ".data", description="AGENT_DATA_DIR: ledger, workspaces, logs")
    model_provider: str = Field("embedded", description="AGENT_MODEL_PROVIDER: the name history records")
    model_base_url: str = Field("http://127.0.0.1:8081/v1", description="AGENT_MODEL_BASE_URL")
    model_name: str = Field("qwen2.5-coder-0.5b-instruct", description="AGENT_MODEL_NAME")
    model_api_key_env: str = Field(
        "AGENT_MODEL_API_KEY", description="AGENT_MODEL_API_KEY_ENV: NAME of the variable holding the key"
    )
    model_schema_style: str = Field("json_object_schema", description="AGENT_MODEL_SCHEMA_STYLE")
    model_timeout_s: float = Field(240.0, description="AGENT_MODEL_TIMEOUT_S")
    tool_modules: list[str] = Field(list(DEFAULT_TOOL_MODULES), description="AGENT_TOOL_MODULES, comma-separated")
    log_level: str = Field("info", description="AGENT_LOG_LEVEL")

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def workspaces(self) -> Path:
        return self.data_dir / "workspaces"

    def model_api_key(self) -> str:
        # The key itself never lands in settings dumps, payloads or history: only its variable's name.
        return os.environ.get(self.model_api_key_env, "not-needed")


_ENV = {
    "temporal_address": "TEMPORAL_ADDRESS",
    "namespace": "TEMPORAL_NAMESPACE",
    "task_queue": "AGENT_TASK_QUEUE",
    "data_dir": "AGENT_DATA_DIR",
    "model_provider": "AGENT_MODEL_PROVIDER",
    "model_base_url": "AGENT_MODEL_BASE_URL",
    "model_name": "AGENT_MODEL_NAME",
    "model_api_key_env": "AGENT_MODEL_API_KEY_ENV",
    "model_schema_style": "AGENT_MODEL_SCHEMA_STYLE",
    "model_timeout_s": "AGENT_MODEL_TIMEOUT_S",
    "tool_modules": "AGENT_TOOL_MODULES",
    "log_level": "AGENT_LOG_LEVEL",
}


class SettingsError(ValueError):
    pass


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field, var in _ENV.items():
        if (raw := env.get(var)) is not None and raw != "":
            values[field] = [m.strip() for m in raw.split(",") if m.strip()] if field == "tool_modules" else raw
    try:
        return Settings(**values)
    except ValidationError as e:
        problems = "; ".join(f"{_ENV[str(err['loc'][0])]}: {err['msg']}" for err in e.errors())
        raise SettingsError(f"invalid worker settings: {problems}") from e
