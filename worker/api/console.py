"""The web console: pages for the people around a run, served by the run API's own process.

The pages are committed HTML, CSS and plain JavaScript (worker/api/console_static/): no build step,
nothing fetched from elsewhere. They hold no state: every figure comes from the API's /v1 routes and
every change goes through them, so closing a tab changes nothing for the run.

Signing in stores the caller's API key (or OIDC token) in an HttpOnly, SameSite=Strict cookie after
checking it; the /v1 routes accept that cookie as they accept the bearer header. A request that
changes something and is authenticated by the cookie must also send `X-Agent-Console: 1` (app.py),
which a cross-site form or image cannot. Every page is sent with a Content-Security-Policy that allows
only this origin's scripts and styles, so text from a run (answers, tool arguments, files) can never
run as code even if it were ever inserted as HTML.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.staticfiles import StaticFiles

from worker.api.identities import Identities
from worker.api.oidc import OidcUnavailable
from worker.api.upstream import logged

SESSION_COOKIE = "agent_session"
CONSOLE_HEADER = "X-Agent-Console"
SESSION_S = 12 * 3600
STATIC = Path(__file__).parent / "console_static"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=8192, description="an API key or an OIDC token")


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers=PAGE_HEADERS)


def mount_console(app: FastAPI, keys: Identities) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console", 303)

    @app.get("/console", include_in_schema=False)
    async def runs_page() -> FileResponse:
        return _page("runs.html")

    @app.get("/console/runs/{run_id}", include_in_schema=False)
    async def run_page(run_id: str) -> FileResponse:
        return _page("run.html")

    @app.get("/console/login", include_in_schema=False)
    async def login_page() -> FileResponse:
        return _page("login.html")

    @app.post("/console/session", include_in_schema=False)
    async def sign_in(body: SignIn, request: Request) -> JSONResponse:
        if request.headers.get(CONSOLE_HEADER) != "1":
            raise HTTPException(403, f"send {CONSOLE_HEADER}: 1")  # no login CSRF
        try:
            who = await keys.identify(body.key)
        except OidcUnavailable as e:
            raise HTTPException(503, f"the identity provider cannot be reached ({logged('api.oidc_unavailable', e)})") from None
        if who is None:
            raise HTTPException(401, "unknown or revoked key, or a token that does not verify")
        response = JSONResponse({"name": who.name, "tenant": who.tenant, "roles": sorted(who.roles)})
        response.set_cookie(SESSION_COOKIE, body.key, max_age=SESSION_S, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    @app.delete("/console/session", include_in_schema=False)
    async def sign_out() -> JSONResponse:
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response
