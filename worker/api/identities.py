"""Who may use the run API: API keys, stored as SHA-256 digests in the ledger's database, and OIDC/JWT
bearer tokens from an identity provider.

Keys live in the ledger (SQLite, or PostgreSQL with AGENT_LEDGER_URL) beside the tool receipts, so every
replica that shares the ledger knows every key, and a revoked key is refused by all of them at the next
request. A key is shown once when it is made (`python -m worker.api keys add NAME --tenant T --roles
start,view,approve`); only its digest is stored. The OIDC settings are a small YAML file
(AGENT_API_OIDC_FILE, worker/api/oidc.py). The tenant of everything an identity does comes from here or
from the token, never from a request body.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from pathlib import Path

import yaml
from pydantic import ValidationError

from activities.ledger import LedgerBackend
from worker.api.oidc import OidcConfig, OidcVerifier
from worker.api.roles import ROLES, Identity

KEY_PREFIX = "dak_"


class IdentitiesError(ValueError):
    pass


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def load_oidc(path: Path | None) -> OidcVerifier | None:
    """The verifier the file configures (its `oidc:` section), None without a file or section."""
    if path is None or not path.exists():
        return None
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return OidcVerifier(OidcConfig.model_validate(raw["oidc"])) if raw.get("oidc") else None
    except (yaml.YAMLError, ValidationError, ValueError, TypeError) as e:
        raise IdentitiesError(f"{path}: oidc: {e}") from None


class Identities:
    def __init__(self, ledger: LedgerBackend, oidc: OidcVerifier | None = None) -> None:
        self.ledger, self.oidc = ledger, oidc

    async def identify(self, credential: str) -> Identity | None:
        """An API key's identity, or else an OIDC token's (when configured); None: a 401.
        Raises OidcUnavailable when a token could only be checked against an unreachable provider."""
        if credential.startswith(KEY_PREFIX) or self.oidc is None:
            found = await asyncio.to_thread(self.ledger.api_key, digest(credential))
            if found is None:
                return None
            name, tenant, roles = found
            return Identity(name, tenant, frozenset(roles), proof=f"API key {name!r}")
        return await self.oidc.identify(credential)

    def add(self, name: str, tenant: str, roles: list[str]) -> str:
        """Make a key for `name`, store its digest, return the key (shown once)."""
        if unknown := sorted(set(roles) - set(ROLES)):
            raise IdentitiesError(f"unknown roles {unknown}; known: {list(ROLES)}")
        if not name.strip() or not tenant.strip():
            raise IdentitiesError("a key needs a name and a tenant")
        key = new_key()
        self.ledger.add_api_key(digest(key), name, tenant, roles)
        return key

    def knows(self, key: str) -> bool:
        return self.ledger.api_key(digest(key)) is not None

    def revoke(self, name: str) -> int:
        """Remove every key of `name`; how many there were."""
        return self.ledger.revoke_api_keys(name)
