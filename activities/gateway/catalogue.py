"""The models file: every model the worker may call, its endpoint, key variable, window and prices.

Loaded once at worker start; a bad file stops the worker with the file, the key and the reason. The
workflow receives only the ModelInfo half (no URLs, no key names) through the `models.catalogue`
activity, so routing decisions are made, and recorded, in workflow code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from activities.config_errors import problems
from workflows.contracts import (
    DataClass,
    ModelCatalogue,
    ModelInfo,
    OutagePolicy,
    Price,
    ProviderKind,
    StepKind,
)

SELF_HOSTED_PROVIDERS = {"sglang", "vllm", "llamacpp"}


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    provider: ProviderKind
    base_url: str | None = Field(default=None, description="None means the vendor SDK's default endpoint")
    api_key_env: str | None = Field(default=None, description="NAME of the variable holding the key")
    remote_name: str | None = Field(default=None, description="model id sent to the server, if not `name`")
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    price_per_mtok: Price = Field(default_factory=Price)
    data_classes: list[DataClass]
    self_hosted: bool | None = Field(default=None, description="defaults from the provider kind")
    stream: bool = Field(default=False, description="stream tokens; heartbeats then report progress")
    schema_style: str = Field(default="json_schema", pattern="^(json_schema|json_object_schema)$")
    timeout_s: float = Field(default=120.0, gt=0)
    local_activity: bool = Field(
        default=False, description="call it as a local activity: one workflow task per step instead of two, for "
        "models that answer within seconds (a call past the workflow task timeout costs a task heartbeat)")
    tokenizer_file: Path | None = Field(
        default=None, description="a HF tokenizer.json for exact token counts (self-hosted models); else an estimate"
    )
    # The key's value, read by `load_models_file` from the environment the worker hands it; private, so it
    # never lands in a dump, a repr or the workflow's catalogue (only the variable's name does).
    _api_key: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _defaults(self) -> ModelConfig:
        if self.self_hosted is None:
            self.self_hosted = self.provider in SELF_HOSTED_PROVIDERS
        if "confidential" in self.data_classes and not self.self_hosted:
            raise ValueError("only self-hosted models may receive confidential data")
        return self

    @property
    def endpoint(self) -> str:
        """What a circuit breaker is keyed by: one breaker per provider endpoint."""
        return f"{self.provider}:{self.base_url or 'default'}"

    def api_key(self) -> str | None:
        return self._api_key

    def info(self) -> ModelInfo:
        missing_key = self.api_key_env is not None and not self._api_key
        return ModelInfo(
            name=self.name,
            provider=self.provider,
            self_hosted=bool(self.self_hosted),
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            price=self.price_per_mtok,
            data_classes=self.data_classes,
            available=not missing_key,
            unavailable_reason=f"environment variable {self.api_key_env} is not set" if missing_key else None,
            local_activity=self.local_activity,
        )


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelConfig] = Field(min_length=1)
    routes: dict[StepKind, list[str]]
    outage: OutagePolicy = Field(default_factory=OutagePolicy, description="how long runs wait out an outage")

    @model_validator(mode="after")
    def _consistent(self) -> ModelsFile:
        names = [m.name for m in self.models]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"model names must be unique; repeated: {duplicates}")
        for kind, route in self.routes.items():
            if unknown := [n for n in route if n not in names]:
                raise ValueError(f"route {kind!r} names unknown models {unknown}")
        for kind in ("plan", "act"):
            if not self.routes.get(kind):  # type: ignore[call-overload]
                raise ValueError(f"route {kind!r} is required and must list at least one model")
        return self

    def get(self, name: str) -> ModelConfig | None:
        return next((m for m in self.models if m.name == name), None)

    def catalogue(self) -> ModelCatalogue:
        return ModelCatalogue(models=[m.info() for m in self.models], routes=self.routes, outage=self.outage)


class ModelsFileError(ValueError):
    pass


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(value: Any, path: Path, environ: Mapping[str, str]) -> Any:
    """Expand ${VAR} and ${VAR:-default} in string values (not in comments)."""
    if isinstance(value, dict):
        return {k: _expand(v, path, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path, environ) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is None:
            raise ModelsFileError(f"{path}: environment variable {name} is not set and has no default")
        return default

    return _VARIABLE.sub(substitute, value)


def load_models_file(path: Path, environ: Mapping[str, str]) -> ModelsFile:
    """`environ` is the worker's environment (os.environ at worker start): it fills `${VAR}` and each
    model's `api_key_env`; this module never reads the process environment itself."""
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ModelsFileError(f"{path}: cannot read the models file: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ModelsFileError(f"{path}: not valid YAML: {e}") from e
    raw = _expand(raw, path, environ)
    try:
        models = ModelsFile.model_validate(raw)
    except ValidationError as e:
        raise ModelsFileError(f"{path}: {problems(e, whole='(file)')}") from e
    for model in models.models:
        model._api_key = environ.get(model.api_key_env) if model.api_key_env else None
    return models
