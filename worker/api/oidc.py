"""OIDC/JWT bearer tokens: an identity provider's signed token names the person, their tenant and roles.

Verification uses PyJWT against the provider's JWKS (fetched over HTTPS, cached, refetched once when a
token names a key id it has not seen, which is how providers rotate keys; at most every 30 s). A token must be signed with
one of the configured algorithms (never `none`, never an HMAC that would make the public key a secret),
by the configured issuer, for the configured audience, and be inside its lifetime.

    # AGENT_API_OIDC_FILE (default <data dir>/api-oidc.yaml)
    oidc:
      issuer: https://login.example.com/
      audience: agent-api
      jwks_url: https://login.example.com/.well-known/jwks.json
      tenant_claim: tenant        # defaults shown
      roles_claim: roles          # a list, or a space-separated string
      name_claim: sub
      algorithms: [RS256, ES256, EdDSA]
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field

from worker.api.roles import ROLES, Identity

LEEWAY_S = 30  # clock skew between the provider and this host
# A token naming a key id the cached keys lack makes the keys be fetched again (a provider rotating
# its keys), but at most this often: otherwise every request with a made-up key id would be a fetch
# from the provider, made on the caller's behalf.
REFETCH_MIN_S = 30.0


class OidcUnavailable(Exception):
    """The provider's JWKS could not be fetched: no token can be verified now (a 503, not a 401)."""


class OidcConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    jwks_url: str = Field(min_length=1)
    tenant_claim: str = "tenant"
    roles_claim: str = "roles"
    name_claim: str = "sub"
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])

    def model_post_init(self, _context: Any) -> None:
        if weak := sorted(a for a in self.algorithms if a.lower() == "none" or a.upper().startswith("HS")):
            raise ValueError(f"oidc.algorithms: {weak} cannot be verified with a provider's public key")


class OidcVerifier:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._keys = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300, timeout=5)
        self._refetched_at = float("-inf")
        self._lock = threading.Lock()

    def _signing_key(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        if found := self._key(kid, refresh=False):
            return found
        with self._lock:
            if time.monotonic() - self._refetched_at < REFETCH_MIN_S:
                raise jwt.PyJWKClientError(f"no signing key with id {kid!r}")
            self._refetched_at = time.monotonic()
        if found := self._key(kid, refresh=True):
            return found
        raise jwt.PyJWKClientError(f"no signing key with id {kid!r}")

    def _key(self, kid: str | None, refresh: bool) -> jwt.PyJWK | None:
        return next((k for k in self._keys.get_signing_keys(refresh=refresh) if k.key_id == kid), None)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            key = self._signing_key(token)
        except jwt.PyJWKClientConnectionError as e:
            raise OidcUnavailable(f"cannot fetch the identity provider's keys: {e}") from None
        return jwt.decode(token, key, algorithms=self.config.algorithms, audience=self.config.audience,
                          issuer=self.config.issuer, leeway=LEEWAY_S,
                          options={"require": ["exp", "iss", "aud", self.config.name_claim]})

    async def identify(self, token: str) -> Identity | None:
        """The token's identity, or None when it does not verify or lacks a tenant (a 401)."""
        try:
            claims = await asyncio.to_thread(self._verify, token)
        except (jwt.PyJWTError, ValueError):
            return None
        tenant = claims.get(self.config.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            return None
        raw_roles = claims.get(self.config.roles_claim) or []
        named = raw_roles.split() if isinstance(raw_roles, str) else raw_roles
        roles = frozenset(r for r in named if isinstance(r, str) and r in ROLES)
        name = str(claims[self.config.name_claim])
        return Identity(name, tenant, roles, proof=f"OIDC token of {self.config.issuer} (subject {claims.get('sub')})")
