"""Upstream failures, told to the operator in full and to the caller by reference only.

An error from Temporal or the identity provider can name internal addresses, the worker's stack or
another tenant's run; the caller of the API gets what happened and a reference, and the API's log
holds the upstream text under the same reference.
"""

from __future__ import annotations

import uuid

import structlog

log = structlog.get_logger(__name__)


def logged(event: str, error: BaseException) -> str:
    """Log `error` under a new reference and return the words the caller sees instead of its text."""
    reference = uuid.uuid4().hex[:12]
    log.warning(event, reference=reference, error=str(error))
    return f"reference {reference}: the API's log has the details"
