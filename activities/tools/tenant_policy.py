"""Per-tenant tool allow-lists, from a YAML file named by AGENT_TENANT_POLICY.

    tenants:
      acme:
        allowed_tools: [calculator, read_file]

The worker hands a tenant's list to each new run through `tools.list`, so the list a run obeys is in
its history; the workflow enforces it (workflows/policy.py). Tenants not in the file have no list.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from activities.config_errors import problems


class _TenantPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed_tools: list[str]


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenants: dict[str, _TenantPolicy]


class TenantPolicyError(ValueError):
    pass


def load_tenant_policy(path: Path) -> dict[str, list[str]]:
    try:
        raw = yaml.safe_load(path.read_text())
        parsed = _PolicyFile.model_validate(raw)
    except OSError as e:
        raise TenantPolicyError(f"{path}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise TenantPolicyError(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        raise TenantPolicyError(f"{path}: {problems(e)}") from e
    return {tenant: policy.allowed_tools for tenant, policy in parsed.tenants.items()}
