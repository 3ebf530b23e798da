"""Worker settings, read once from the environment; every field has a default that runs locally."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from temporalio.service import TLSConfig

from activities.config_errors import problems
from activities.keyring import KeyRing, KeyRingError, load_keyring
from worker.tls import TLSSettingsError, load_tls_config
from workflows.contracts import TASK_QUEUE

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOOL_MODULES = ("activities.tools.calculator", "activities.tools.workspace_files", "activities.tools.knowledge")


class Settings(BaseModel):
    temporal_address: str = Field("localhost:7233", description="TEMPORAL_ADDRESS")
    namespace: str = Field("default", description="TEMPORAL_NAMESPACE")
    task_queue: str = Field(TASK_QUEUE, description="AGENT_TASK_QUEUE")
    data_dir: Path = Field(REPO_ROOT / ".data", description="AGENT_DATA_DIR: ledger, workspaces, logs")
    models_file: Path = Field(REPO_ROOT / "worker" / "models.yaml", description="AGENT_MODELS_FILE")
    breaker_failure_rate: float = Field(0.5, gt=0, le=1, description="AGENT_BREAKER_FAILURE_RATE: share of failed "
                                        "calls in the window that opens it")
    breaker_min_calls: int = Field(20, ge=1, description="AGENT_BREAKER_MIN_CALLS: calls the window must hold first")
    breaker_window_s: float = Field(30.0, gt=0, description="AGENT_BREAKER_WINDOW_S: how long a call's outcome counts")
    breaker_cooldown_s: float = Field(5.0, gt=0, description="AGENT_BREAKER_COOLDOWN_S: open time before a probe")
    metrics_address: str | None = Field(None, description="AGENT_METRICS_ADDRESS: host:port for Prometheus")
    ledger_url: str | None = Field(None, description="AGENT_LEDGER_URL: postgresql://...; empty = SQLite in data_dir")
    mcp_config: Path | None = Field(None, description="AGENT_MCP_CONFIG: MCP servers file (YAML)")
    blob_store: str | None = Field(None, description="AGENT_BLOB_STORE: s3://bucket/prefix?endpoint=...; empty = data_dir/blobs")
    tenant_policy: Path | None = Field(None, description="AGENT_TENANT_POLICY: per-tenant tool allow-lists (YAML)")
    tool_lease_s: float = Field(15.0, gt=0, description="AGENT_TOOL_LEASE_S: how long a dead worker's tool "
                                "attempt blocks the next one (renewed while the attempt runs)")
    approvers_file: Path | None = Field(None, description="AGENT_APPROVERS_FILE: approvers' keys (YAML); empty = data_dir/approvers.yaml")
    # The run API (worker/api/): who may call it, and the key it signs approvals with (shared by replicas).
    api_oidc_file: Path | None = Field(None, description="AGENT_API_OIDC_FILE: the OIDC identity provider (YAML); "
                                       "empty = data_dir/api-oidc.yaml (keys are in the ledger)")
    api_url: str = Field("http://127.0.0.1:8700", description="AGENT_API_URL: where `up` serves the run API "
                         "and where the agent CLI looks for it")
    api_signing_key: Path | None = Field(None, description="AGENT_API_SIGNING_KEY: the API's Ed25519 approver key "
                                         "(PEM, made if missing); empty = data_dir/api-signing-key.pem")
    tool_modules: list[str] = Field(list(DEFAULT_TOOL_MODULES), description="AGENT_TOOL_MODULES, comma-separated")
    log_level: str = Field("info", description="AGENT_LOG_LEVEL")
    # Encryption of payloads and blobs (activities/keyring.py, worker/codec.py). SecretStr: never in a repr or log.
    codec_keys: SecretStr | None = Field(None, description="AGENT_CODEC_KEYS: `kid:base64key,...`, first active")
    codec_keys_file: Path | None = Field(None, description="AGENT_CODEC_KEYS_FILE: one `kid: base64key` a line")
    # A real cluster or Temporal Cloud (worker/tls.py); the names are the temporal CLI's environment variables.
    tls: bool = Field(False, description="TEMPORAL_TLS: TLS with the system's roots (implied by the files below)")
    tls_ca: Path | None = Field(None, description="TEMPORAL_TLS_CA: CA certificate(s) that sign the server's")
    tls_cert: Path | None = Field(None, description="TEMPORAL_TLS_CERT: client certificate (mutual TLS)")
    tls_key: Path | None = Field(None, description="TEMPORAL_TLS_KEY: the client certificate's private key")
    tls_server_name: str | None = Field(None, description="TEMPORAL_TLS_SERVER_NAME: name to verify the server as")
    api_key: SecretStr | None = Field(None, description="TEMPORAL_API_KEY: Temporal Cloud API key (implies TLS)")
    # Worker Deployment Versioning (docs/operating.md, Rolling out a new build): both set, or neither.
    deployment_name: str | None = Field(None, description="AGENT_DEPLOYMENT_NAME: the Worker Deployment")
    build_id: str | None = Field(None, description="AGENT_BUILD_ID: this build's id within the deployment")
    versioning_behavior: Literal["pinned", "auto_upgrade"] = Field(
        "pinned", description="AGENT_VERSIONING_BEHAVIOR: pinned (a run finishes on the build it started on) "
        "or auto_upgrade (a run moves to the current build at its next workflow task)")
    # Many hosts (docs/operating.md, Multi-host profile): `multi-host` refuses to start on per-host stores.
    profile: Literal["single-host", "multi-host"] = Field("single-host", description="AGENT_PROFILE")
    workspace_store: Literal["local", "shared"] | None = Field(
        None, description="AGENT_WORKSPACE_STORE: local (a directory) or shared (blob store + ledger); "
        "default local, shared in the multi-host profile")
    workspaces_dir: Path | None = Field(None, description="AGENT_WORKSPACES_DIR: local workspaces' root "
                                        "(a shared filesystem path serves many hosts); empty = data_dir/workspaces")
    retrieval: bool = Field(True, description="AGENT_RETRIEVAL: serve the knowledge base and memory (Qdrant)")
    bind_unshared_stores: bool = Field(
        False, description="AGENT_BIND_UNSHARED_STORES: bind new runs to this worker's stores even when other "
        "workers on its task queue serve and none shares them (per-host stores on purpose)")

    @property
    def workspace_kind(self) -> str:
        return self.workspace_store or ("shared" if self.profile == "multi-host" else "local")

    @model_validator(mode="after")
    def _deployment_needs_both(self) -> Settings:
        if bool(self.deployment_name) != bool(self.build_id):
            raise ValueError("Worker Deployment Versioning needs both AGENT_DEPLOYMENT_NAME and AGENT_BUILD_ID")
        return self

    @model_validator(mode="after")
    def _multi_host_needs_shared_stores(self) -> Settings:
        if self.profile != "multi-host":
            return self
        missing = []
        if not (self.ledger_url or "").startswith(("postgresql://", "postgres://")):
            missing.append("AGENT_LEDGER_URL=postgresql://... (a ledger every host shares)")
        if not (self.blob_store or "").startswith("s3://"):
            missing.append("AGENT_BLOB_STORE=s3://... (a blob store every host shares)")
        if self.workspace_kind == "local" and self.workspaces_dir is None:
            missing.append("AGENT_WORKSPACE_STORE=shared or AGENT_WORKSPACES_DIR on a shared filesystem")
        if missing:
            raise ValueError("the multi-host profile needs " + "; ".join(missing))
        return self

    def temporal_tls(self) -> TLSConfig | None:
        """TLS for the client; an API key implies TLS (Temporal Cloud refuses plaintext)."""
        return load_tls_config(enabled=self.tls or self.api_key is not None, ca=self.tls_ca, cert=self.tls_cert,
                               key=self.tls_key, server_name=self.tls_server_name)

    def keyring(self) -> KeyRing | None:
        """The encryption keys, or None when encryption is off."""
        return load_keyring(self.codec_keys.get_secret_value() if self.codec_keys else None, self.codec_keys_file)

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def approvers_path(self) -> Path:
        return self.approvers_file or self.data_dir / "approvers.yaml"

    @property
    def api_oidc_path(self) -> Path:
        return self.api_oidc_file or self.data_dir / "api-oidc.yaml"

    @property
    def api_signing_key_path(self) -> Path:
        return self.api_signing_key or self.data_dir / "api-signing-key.pem"

    @property
    def workspaces(self) -> Path:
        return self.workspaces_dir or self.data_dir / "workspaces"


_ENV = {
    "temporal_address": "TEMPORAL_ADDRESS",
    "namespace": "TEMPORAL_NAMESPACE",
    "task_queue": "AGENT_TASK_QUEUE",
    "data_dir": "AGENT_DATA_DIR",
    "models_file": "AGENT_MODELS_FILE",
    "breaker_failure_rate": "AGENT_BREAKER_FAILURE_RATE",
    "breaker_min_calls": "AGENT_BREAKER_MIN_CALLS",
    "breaker_window_s": "AGENT_BREAKER_WINDOW_S",
    "breaker_cooldown_s": "AGENT_BREAKER_COOLDOWN_S",
    "metrics_address": "AGENT_METRICS_ADDRESS",
    "ledger_url": "AGENT_LEDGER_URL",
    "mcp_config": "AGENT_MCP_CONFIG",
    "tenant_policy": "AGENT_TENANT_POLICY",
    "approvers_file": "AGENT_APPROVERS_FILE",
    "api_oidc_file": "AGENT_API_OIDC_FILE",
    "api_signing_key": "AGENT_API_SIGNING_KEY",
    "api_url": "AGENT_API_URL",
    "blob_store": "AGENT_BLOB_STORE",
    "tool_lease_s": "AGENT_TOOL_LEASE_S",
    "tool_modules": "AGENT_TOOL_MODULES",
    "log_level": "AGENT_LOG_LEVEL",
    "codec_keys": "AGENT_CODEC_KEYS",
    "codec_keys_file": "AGENT_CODEC_KEYS_FILE",
    "tls": "TEMPORAL_TLS",
    "tls_ca": "TEMPORAL_TLS_CA",
    "tls_cert": "TEMPORAL_TLS_CERT",
    "tls_key": "TEMPORAL_TLS_KEY",
    "tls_server_name": "TEMPORAL_TLS_SERVER_NAME",
    "api_key": "TEMPORAL_API_KEY",
    "deployment_name": "AGENT_DEPLOYMENT_NAME",
    "build_id": "AGENT_BUILD_ID",
    "versioning_behavior": "AGENT_VERSIONING_BEHAVIOR",
    "profile": "AGENT_PROFILE",
    "workspace_store": "AGENT_WORKSPACE_STORE",
    "workspaces_dir": "AGENT_WORKSPACES_DIR",
    "retrieval": "AGENT_RETRIEVAL",
    "bind_unshared_stores": "AGENT_BIND_UNSHARED_STORES",
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
        settings = Settings.model_validate(values)
    except ValidationError as e:
        raise SettingsError(f"invalid worker settings: {problems(e, _ENV, whole='environment')}") from e
    try:
        settings.keyring()  # a bad key file stops the process at start, not at its first payload
    except KeyRingError as e:
        raise SettingsError(f"invalid worker settings: {e}") from e
    try:
        settings.temporal_tls()  # a bad certificate or key stops the process at start, in one line
    except TLSSettingsError as e:
        raise SettingsError(f"invalid worker settings: {e}") from e
    return settings
