"""Who may use the run API: API keys, stored as SHA-256 digests, and OIDC/JWT bearer tokens.

The identities file (YAML, AGENT_API_KEYS_FILE) lists `keys: [{name, tenant, roles, sha256}]` and,
optionally, an `oidc:` section (worker/api/oidc.py). A key is shown once when it is made
(`python -m worker.api keys add NAME --tenant T --roles start,view,approve`) and never stored.
The tenant of everything an identity does comes from here or from the token, never from a request body.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import yaml
from pydantic import ValidationError

from worker.api.oidc import OidcConfig, OidcVerifier
from worker.api.roles import ROLES, Identity

KEY_PREFIX = "dak_"


class KeyFileError(ValueError):
    pass


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_digest: dict[str, Identity] = {}
        self.oidc: OidcVerifier | None = None
        self._stamp: tuple[int, int] | None = None
        self.reload()

    def _changed(self) -> bool:
        """Whether the file changed since it was read: a revoked or added key counts at once, in every
        replica, without a restart."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return self._stamp is not None
        return (stat.st_mtime_ns, stat.st_size) != self._stamp

    def reload(self) -> None:
        stat = self.path.stat() if self.path.exists() else None
        self._stamp = (stat.st_mtime_ns, stat.st_size) if stat else None
        if not self.path.exists():
            self._by_digest, self.oidc = {}, None
            return
        raw = yaml.safe_load(self.path.read_text()) or {}
        try:
            self.oidc = OidcVerifier(OidcConfig.model_validate(raw["oidc"])) if raw.get("oidc") else None
        except (ValidationError, ValueError) as e:
            raise KeyFileError(f"{self.path}: oidc: {e}") from None
        found: dict[str, Identity] = {}
        for i, entry in enumerate(raw.get("keys") or []):
            where = f"{self.path}: keys.{i}"
            if not isinstance(entry, dict) or not {"name", "tenant", "roles", "sha256"} <= set(entry):
                raise KeyFileError(f"{where}: needs name, tenant, roles and sha256")
            roles = frozenset(entry["roles"])
            if unknown := sorted(roles - set(ROLES)):
                raise KeyFileError(f"{where}: unknown roles {unknown}; known: {list(ROLES)}")
            name = str(entry["name"])
            found[str(entry["sha256"])] = Identity(name, str(entry["tenant"]), roles, proof=f"API key {name!r}")
        self._by_digest = found

    async def identify(self, credential: str) -> Identity | None:
        """An API key's identity, or else an OIDC token's (when configured); None: a 401.
        Raises OidcUnavailable when a token could only be checked against an unreachable provider."""
        if self._changed():
            self.reload()
        if credential.startswith(KEY_PREFIX) or self.oidc is None:
            return self._by_digest.get(digest(credential))
        return await self.oidc.identify(credential)

    def revoke(self, name: str) -> int:
        """Remove every key of `name`; how many there were."""
        raw = (yaml.safe_load(self.path.read_text()) if self.path.exists() else None) or {}
        entries = list(raw.get("keys") or [])
        kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
        self.path.write_text(yaml.safe_dump({**raw, "keys": kept}, sort_keys=False))
        self.reload()
        return len(entries) - len(kept)

    def add(self, name: str, tenant: str, roles: list[str]) -> str:
        """Make a key for `name`, store its digest, return the key (shown once)."""
        if unknown := sorted(set(roles) - set(ROLES)):
            raise KeyFileError(f"unknown roles {unknown}; known: {list(ROLES)}")
        key = new_key()
        raw = (yaml.safe_load(self.path.read_text()) if self.path.exists() else None) or {}
        entries = list(raw.get("keys") or [])
        entries.append({"name": name, "tenant": tenant, "roles": sorted(roles), "sha256": digest(key)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(yaml.safe_dump({**raw, "keys": entries}, sort_keys=False))
        self.path.chmod(0o600)
        self.reload()
        return key
