"""Per-tenant tool allow-lists, from a YAML file named by AGENT_TENANT_POLICY.

    tenants:
      acme:
        allowed_tools: [calculator, read_file]

The worker hands a tenant's list to each new run through `tools.list`, so the list a run obeys is in
its history; the workflow enforces it (workflows/policy.py). Tenants not in the file have no list.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from activities.config_errors import load_yaml_model


class _TenantPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed_tools: list[str]


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenants: dict[str, _TenantPolicy]


class TenantPolicyError(ValueError):
    pass


def load_tenant_policy(path: Path) -> dict[str, list[str]]:
    parsed = load_yaml_model(path, _PolicyFile, TenantPolicyError)
    return {tenant: policy.allowed_tools for tenant, policy in parsed.tenants.items()}
