"""Reading activity failures in workflow code."""

from __future__ import annotations

import asyncio

from temporalio.exceptions import ActivityError, CancelledError


def raise_if_cancelled(e: ActivityError) -> None:
    """An activity cancelled because the run was cancelled ends the run as cancelled, not failed."""
    if isinstance(e.cause, CancelledError):
        raise asyncio.CancelledError(str(e.cause)) from e


def cause_of(e: BaseException) -> str:
    """The innermost message: an ActivityError's own text only says 'Activity task failed'."""
    while e.__cause__ is not None:
        e = e.__cause__
    return str(e)
