"""The run API's keys in the ledger's database, on SQLite and PostgreSQL alike: a key made through one
replica's ledger connection is known to another's, revoking it is seen by both, and only the digest is
kept."""

from __future__ import annotations

import pytest

from activities.ledger import open_ledger
from worker.api.identities import Identities, IdentitiesError, digest


async def test_keys_are_shared_by_replicas_and_revoked_for_all(ledger_target):
    one, other = Identities(open_ledger(ledger_target)), Identities(open_ledger(ledger_target))
    key = one.add("ci-bot", "acme", ["start", "view"])
    twin = one.add("ci-bot", "acme", ["view"])  # a second key of the same identity (rotation)
    seen = await other.identify(key)
    assert seen is not None and (seen.name, seen.tenant, seen.roles) == ("ci-bot", "acme", frozenset({"start", "view"}))
    assert seen.proof == "API key 'ci-bot'"
    assert other.ledger.api_key(digest(key)) == ("ci-bot", "acme", ["start", "view"])
    assert other.revoke("ci-bot") == 2
    assert await one.identify(key) is None and await one.identify(twin) is None
    assert other.revoke("nobody") == 0


def test_unknown_roles_and_blank_names_are_refused(tmp_path):
    keys = Identities(open_ledger(tmp_path / "ledger.sqlite"))
    with pytest.raises(IdentitiesError, match="unknown roles"):
        keys.add("x", "acme", ["superuser"])
    with pytest.raises(IdentitiesError, match="name and a tenant"):
        keys.add(" ", "acme", ["view"])
