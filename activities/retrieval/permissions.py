"""The permission filter: the caller's tenant and scopes as a Qdrant filter, applied inside every query.

Authorization happens before retrieval, never after: there is no way in this package to search without
an Access, and the filter built here is passed to every prefetch and to the fused query itself, so
nothing outside the caller's tenant and scopes is ever scored, let alone returned.
"""

from __future__ import annotations

from qdrant_client import models

from workflows.contracts.retrieval import Access

TENANT_KEY = "tenant"
SCOPE_KEY = "scope"


def access_filter(access: Access, *extra_must: models.Condition) -> models.Filter:
    return models.Filter(
        must=[
            models.FieldCondition(key=TENANT_KEY, match=models.MatchValue(value=access.tenant_id)),
            models.FieldCondition(key=SCOPE_KEY, match=models.MatchAny(any=access.scope_keys())),
            *extra_must,
        ]
    )


def exact_scope_filter(tenant_id: str, scope: str, *extra_must: models.Condition) -> models.Filter:
    """One tenant and one scope key: for writes and administration, not for reads on a run's behalf."""
    return models.Filter(
        must=[
            models.FieldCondition(key=TENANT_KEY, match=models.MatchValue(value=tenant_id)),
            models.FieldCondition(key=SCOPE_KEY, match=models.MatchValue(value=scope)),
            *extra_must,
        ]
    )
