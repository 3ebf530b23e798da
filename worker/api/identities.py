"""Who may use the run API: API keys, stored as SHA-256 digests, each with a tenant and roles.

A key file (YAML) lists `keys: [{name, tenant, roles, sha256}]`; the key itself is shown once when it
is made (`python -m worker.api keys add NAME --tenant T --roles start,view,approve`) and never stored.
The tenant of everything an identity does comes from here, never from a request body.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

ROLES = ("start", "view", "approve", "admin")
KEY_PREFIX = "dak_"


class KeyFileError(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    name: str
    tenant: str
    roles: frozenset[str]

    def may(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_digest: dict[str, Identity] = {}
        self.reload()

    def reload(self) -> None:
        if not self.path.exists():
            self._by_digest = {}
            return
        raw = yaml.safe_load(self.path.read_text()) or {}
        found: dict[str, Identity] = {}
        for i, entry in enumerate(raw.get("keys") or []):
            where = f"{self.path}: keys.{i}"
            if not isinstance(entry, dict) or not {"name", "tenant", "roles", "sha256"} <= set(entry):
                raise KeyFileError(f"{where}: needs name, tenant, roles and sha256")
            roles = frozenset(entry["roles"])
            if unknown := sorted(roles - set(ROLES)):
                raise KeyFileError(f"{where}: unknown roles {unknown}; known: {list(ROLES)}")
            found[str(entry["sha256"])] = Identity(str(entry["name"]), str(entry["tenant"]), roles)
        self._by_digest = found

    def identify(self, key: str) -> Identity | None:
        return self._by_digest.get(digest(key))

    def add(self, name: str, tenant: str, roles: list[str]) -> str:
        """Make a key for `name`, store its digest, return the key (shown once)."""
        if unknown := sorted(set(roles) - set(ROLES)):
            raise KeyFileError(f"unknown roles {unknown}; known: {list(ROLES)}")
        key = new_key()
        raw = yaml.safe_load(self.path.read_text()) if self.path.exists() else None
        entries = list((raw or {}).get("keys") or [])
        entries.append({"name": name, "tenant": tenant, "roles": sorted(roles), "sha256": digest(key)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(yaml.safe_dump({"keys": entries}, sort_keys=False))
        self.path.chmod(0o600)
        self.reload()
        return key
