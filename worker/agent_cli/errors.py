"""What can go wrong, as exceptions that carry the exit code a script can branch on.

Factored out of `client.py` so `main.py` and `render.py` can name them without importing httpx's
side of things. The codes are documented in docs/cli.md; change them only with it.
"""

from __future__ import annotations

from typing import Any

import httpx

OK = 0
RUN_NOT_COMPLETED = 1  # watch: the run ended failed, cancelled or over budget; also an unexpected answer
USAGE = 2  # argparse's own code: a bad flag, or a flag's value that is not what it should be
UNREACHABLE = 3
# One code per refusal a script may want to tell apart; 413 and 422 are both "the request is wrong".
BY_STATUS = {401: 4, 403: 5, 404: 6, 409: 7, 413: 8, 422: 8, 503: 9}


class CliError(Exception):
    """A one-line message for stderr and the process's exit code."""

    exit_code = RUN_NOT_COMPLETED


class UsageError(CliError):
    exit_code = USAGE


class MissingKey(CliError):
    """No key to send: the API would answer 401, so say so before asking it."""

    exit_code = BY_STATUS[401]

    def __init__(self) -> None:
        super().__init__("no API key: set AGENT_API_KEY or pass --key (make one with "
                         "`python -m worker.api keys add NAME --tenant T --roles start,view,approve`)")


class Unreachable(CliError):
    """No HTTP answer at all: refused, timed out, a name that does not resolve, a dropped connection."""

    exit_code = UNREACHABLE

    def __init__(self, url: str, cause: Exception) -> None:
        self.url = url
        self.why = "connection refused" if isinstance(cause, httpx.ConnectError) and "refused" in str(cause).lower() \
            else " ".join(str(cause).split()) or type(cause).__name__
        super().__init__(f"the API is not reachable at {url} ({self.why}); is `python -m worker.api` running "
                         "there? (set AGENT_API_URL or pass --url)")


class ApiError(CliError):
    """The API answered with an error: its `detail`, which names what to fix."""

    def __init__(self, status: int, detail: str, retry_after: str | None = None) -> None:
        self.status, self.detail = status, detail
        self.exit_code = BY_STATUS.get(status, RUN_NOT_COMPLETED)
        later = f"; try again in {retry_after} s" if retry_after else ""
        super().__init__(f"{detail} (HTTP {status}{later})")

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            detail: Any = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if isinstance(detail, list):  # FastAPI's validation errors: one per field
            detail = "; ".join(_field_error(d) for d in detail)
        if not detail:
            detail = response.text.strip()[:500] or response.reason_phrase
        return cls(response.status_code, str(detail), response.headers.get("retry-after"))


def _field_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    where = ".".join(str(p) for p in error.get("loc", [])[1:])  # loc[0] is "body" or "query"
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", error))
