"""Readiness probe for an SGLang server: ``GET /health`` then ``GET /v1/models``.

``/health`` answers 200 once the scheduler runs a forward pass; ``/v1/models`` confirms the
OpenAI router is up and names the served model. A server is ready only when both succeed
(and, if asked, the expected model is listed). :func:`probe` is one attempt, for a Temporal
activity whose retry policy does the waiting; :func:`wait_until_ready` loops, for scripts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

__all__ = ["Readiness", "probe", "wait_until_ready"]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    models: tuple[str, ...] = ()
    detail: str = ""


async def probe(
    base_url: str,
    expect_model: str | None = None,
    api_key: str | None = None,
    client: httpx.AsyncClient | None = None,
    timeout: float = 5.0,
) -> Readiness:
    """One readiness check; never raises for a down or starting server, it reports why instead."""
    root = base_url.rstrip("/").removesuffix("/v1")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    http = client or httpx.AsyncClient(timeout=timeout)
    try:
        health = await http.get(f"{root}/health", headers=headers)
        if health.status_code != 200:
            return Readiness(False, detail=f"/health returned {health.status_code}")
        resp = await http.get(f"{root}/v1/models", headers=headers)
        if resp.status_code != 200:
            return Readiness(False, detail=f"/v1/models returned {resp.status_code}")
        data = resp.json().get("data")
        if not isinstance(data, list):
            return Readiness(False, detail="/v1/models has no 'data' list")
        models = tuple(str(m.get("id")) for m in data if isinstance(m, dict))
        if expect_model is not None and expect_model not in models:
            return Readiness(False, models, f"model {expect_model!r} not served (serving {list(models)})")
        return Readiness(True, models, "ok")
    except (httpx.TransportError, ValueError) as e:  # refused, reset, timeout, or a non-JSON body
        return Readiness(False, detail=f"{type(e).__name__}: {e}")
    finally:
        if client is None:
            await http.aclose()


async def wait_until_ready(
    base_url: str,
    timeout_s: float = 600.0,
    interval_s: float = 2.0,
    expect_model: str | None = None,
    api_key: str | None = None,
) -> Readiness:
    """Poll :func:`probe` until ready; raise ``TimeoutError`` with the last reason after ``timeout_s``.

    Loading a large FP8 checkpoint and capturing CUDA graphs takes minutes, hence the default.
    """
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=min(5.0, max(timeout_s, 0.1))) as http:
        while True:
            status = await probe(base_url, expect_model, api_key, client=http)
            if status.ready:
                return status
            if time.monotonic() >= deadline:
                raise TimeoutError(f"SGLang at {base_url} not ready after {timeout_s:.0f}s: {status.detail}")
            await asyncio.sleep(interval_s)
