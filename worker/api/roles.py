"""Who a caller is once proven: a name, the tenant everything they do belongs to, and their roles."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("start", "view", "approve", "admin")


@dataclass(frozen=True)
class Identity:
    name: str
    tenant: str
    roles: frozenset[str]
    proof: str = ""  # how it was proven, for the audit trail: "API key 'ci-bot'", "OIDC token of ..."

    def may(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles
