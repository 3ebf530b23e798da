"""The run API: an HTTP door to the same AgentRun workflows the `temporal` CLI drives.

Start, read, approve and follow runs with API keys or OIDC tokens; the web console (console.py) is
served beside it and calls these same routes with its session cookie. The service keeps no state of
its own: idempotency rides on Temporal's workflow-id uniqueness (the id is
derived from the tenant and the Idempotency-Key; the request's digest is in the run's memo), and the
event stream is the run's own Workflow Stream.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from activities.tools.workspaces import workspace_dir
from worker.api.artifacts import ArtifactError, file_response, list_files, proposed_memories
from worker.api.console import CONSOLE_HEADER, SESSION_COOKIE, mount_console
from worker.api.feeds import Feeds
from worker.api.identities import Identities
from worker.api.oidc import OidcUnavailable
from worker.api.roles import Identity
from worker.api.signer import ApiSigner
from worker.api.upstream import logged
from worker.evals.recorded import NotARun, read_run
from workflows.agent_run import AgentRun
from workflows.contracts import (
    ApproveInput,
    RejectInput,
    ResolveOutcomeInput,
    RunRequest,
    RunState,
    UserMessageInput,
    canonical_json,
)
from workflows.search_attributes import AGENT_STATUS, AGENT_TENANT, RUNNING

# How long a request retries Temporal before answering 503: a person waits on the other end, and the
# SDK's default (10 s) is longer than most HTTP clients wait.
TEMPORAL_RETRY = RetryConfig(max_elapsed_time_millis=3000, max_retries=5)
MAX_BODY_BYTES = 1 << 20  # a run request, a decision or a message; anything larger is a 413
# How long a request for a run's state waits for a worker to answer the query: long enough for a query
# to fall back from a dead worker's sticky queue to the shared one (5 s), short of Temporal's own 30 s.
STATE_QUERY_TIMEOUT = timedelta(seconds=10)
REQUEST_MEMO = "api_request_sha256"
TENANT_MEMO = "tenant"
LISTED_STATUSES = {RUNNING, "waiting_for_human", "paused", "completed", "failed", "cancelled", "budget_exceeded"}
# Fields the identity sets: a body that names them is refused, not silently overridden.
FROM_IDENTITY = {"tenant_id", "user_id", "carry"}
# A recorded world answers tool calls without policy or approval and scripts decisions: only operators
# (worker.evals fork, captured cases over the Temporal path) may give one, never an API caller.
OPERATORS_ONLY = {"world"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# How often an open event stream checks that its credentials still hold (revoked key, expired token),
# whether events flow or not.
AUTH_RECHECK_S = 30.0


def _quoted(value: str) -> str:
    """`value` inside a visibility query's double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


class UserText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20_000)


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["mark_done", "retry", "abandon"]
    comment: str | None = None
    data: Any = None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    comment: str | None = None
    arguments: dict[str, Any] | None = None


class BodyLimit:
    """Refuse a request body over `limit` bytes with a 413 before the app reads it. A body without a
    Content-Length is counted as it arrives and cut off at the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await JSONResponse({"detail": f"request body over {self.limit} bytes"}, 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, f"request body over {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


def _refusal(e: WorkflowUpdateFailedError) -> str:
    """The run's reason for refusing a decision, as its validator wrote it."""
    return getattr(e.cause, "message", None) or str(e.cause or e)


def _unavailable(what: str = "Temporal is unreachable") -> HTTPException:
    return HTTPException(503, what, headers={"Retry-After": "5"})


def create_app(client: Client, keys: Identities, task_queue: str, signer: ApiSigner | None = None,
               workspaces: Path | None = None, auth_recheck_s: float = AUTH_RECHECK_S) -> FastAPI:
    """The API over `client`; `signer` signs approvals for the people the approvers file lists under its
    key (without it, calls that need a signed approval cannot be approved here); `workspaces` is the
    local workspaces' root, where a run's files are read (None: files are not served)."""
    app = FastAPI(title="Durable agent runs", version="1")
    app.add_middleware(BodyLimit)
    bearer = HTTPBearer(auto_error=False)
    feeds = app.state.feeds = Feeds(client)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
        # Where and what, without echoing the input: it may be huge, or a number JSON cannot carry (Infinity).
        return JSONResponse({"detail": [{"loc": list(err.get("loc", ())), "msg": err.get("msg", ""),
                                         "type": err.get("type", "")} for err in e.errors()]}, 422)

    @app.exception_handler(WorkflowQueryFailedError)
    async def unreadable(_request: Request, e: WorkflowQueryFailedError) -> JSONResponse:
        # The worker could not rebuild the run's state to answer (docs/operating.md, Known issues).
        return JSONResponse({"detail": f"the run's state cannot be read now ({logged('api.query_failed', e)})"}, 502)

    @app.exception_handler(RPCError)
    async def temporal_refused(_request: Request, e: RPCError) -> JSONResponse:
        if e.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            # The run was found a moment earlier (every route checks that first): it has ended since.
            return JSONResponse({"detail": "the run has ended: nothing was sent to it"}, 409)
        # Whatever call reached Temporal and failed on the way: the client may retry, nothing was done twice
        # (starts are idempotent by key, decisions are refused when repeated).
        return JSONResponse({"detail": f"Temporal is unreachable ({logged('api.temporal_unreachable', e)})"}, 503,
                            headers={"Retry-After": "5"})

    async def caller(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Identity:
        secret = creds.credentials if creds is not None else request.cookies.get(SESSION_COOKIE)
        if secret is None:
            raise HTTPException(401, "missing credentials: send Authorization: Bearer <key>",
                                headers={"WWW-Authenticate": "Bearer"})
        if creds is None and request.method not in SAFE_METHODS and request.headers.get(CONSOLE_HEADER) != "1":
            # A cookie rides along on any request the browser sends, a forged cross-site form's too; a custom
            # header cannot be set cross-site without CORS, which this service never grants.
            raise HTTPException(403, f"a request authenticated by the console's cookie must send {CONSOLE_HEADER}: 1")
        request.state.credential = secret  # what a long-lived stream checks again (still_allowed)
        try:
            who = await keys.identify(secret)
        except OidcUnavailable as e:
            raise _unavailable(f"the identity provider cannot be reached ({logged('api.oidc_unavailable', e)})") from None
        if who is None:
            raise HTTPException(401, "unknown or revoked key, or a token that does not verify",
                                headers={"WWW-Authenticate": "Bearer"})
        return who

    def role(name: str) -> Callable[..., Identity]:
        def check(who: Identity = Depends(caller)) -> Identity:
            if not who.may(name):
                raise HTTPException(403, f"{who.name} may not {name} runs (roles: {sorted(who.roles)})")
            return who
        return check

    async def owned(run_id: str, who: Identity) -> WorkflowHandle:
        """The run, if it belongs to the caller's tenant; another tenant's run does not exist (404)."""
        handle = client.get_workflow_handle(run_id)
        try:
            desc = await handle.describe()
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise HTTPException(404, f"no run {run_id!r}") from None
            raise _unavailable() from None
        # The tenant the run was started for: by the API, from the identity (memo and search attribute at
        # start); by the `temporal` CLI, from its request (the search attribute, from its first step on).
        tenant = desc.typed_search_attributes.get(AGENT_TENANT) or await desc.memo_value(TENANT_MEMO, default=None)
        if tenant != who.tenant:
            raise HTTPException(404, f"no run {run_id!r}")
        return handle

    @app.get("/v1/me")
    async def me(who: Identity = Depends(caller)) -> dict[str, Any]:
        """Who the credentials are: what the console shows and which buttons it offers."""
        return {"name": who.name, "tenant": who.tenant, "roles": sorted(who.roles),
                "signs": bool(signer is not None and signer.signs_for(who))}

    @app.post("/v1/runs", status_code=201)
    async def start_run(body: RunRequest, who: Identity = Depends(role("start")),
                        idempotency_key: str | None = Header(default=None)) -> dict[str, str]:
        if named := sorted(OPERATORS_ONLY & body.model_fields_set):
            raise HTTPException(422, f"{', '.join(named)}: a recorded world is for operators' forks and eval cases, "
                                "not accepted through the API")
        if named := sorted(FROM_IDENTITY & body.model_fields_set):
            raise HTTPException(422, f"{', '.join(named)} come from your identity, not the request body")
        request = body.model_copy(update={"tenant_id": who.tenant, "user_id": who.name})
        digest = hashlib.sha256(canonical_json(request.model_dump(mode="json")).encode()).hexdigest()
        if idempotency_key:
            run_id = "api-" + hashlib.sha256(f"{who.tenant}\0{idempotency_key}".encode()).hexdigest()[:32]
        else:
            run_id = f"api-{uuid.uuid4().hex}"
        try:
            await client.start_workflow(
                AgentRun.run, request, id=run_id, task_queue=task_queue,
                memo={REQUEST_MEMO: digest, TENANT_MEMO: who.tenant},
                # Listed under its tenant from the start, not only once its first step publishes it.
                search_attributes=TypedSearchAttributes([SearchAttributePair(AGENT_TENANT, who.tenant)]),
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            pass  # the key's run already ended: the same answer as while it ran
        except RPCError:
            raise _unavailable() from None
        desc = await client.get_workflow_handle(run_id).describe()
        if await desc.memo_value(REQUEST_MEMO, default=None) != digest:
            raise HTTPException(409, "this Idempotency-Key was used for another request")
        return {"id": run_id}

    @app.get("/v1/runs")
    async def list_runs(who: Identity = Depends(role("view")), status: str | None = None,
                        page_size: int = Query(default=20, ge=1, le=200),
                        page_token: str | None = None) -> dict[str, Any]:
        """The caller's tenant's runs, newest first; `status` as the AgentStatus search attribute shows
        it (`running` for the busy statuses). Visibility lags a run's start by a moment."""
        if status is not None and status not in LISTED_STATUSES:
            raise HTTPException(422, f"status must be one of {sorted(LISTED_STATUSES)}")
        query = f'WorkflowType="AgentRun" AND {AGENT_TENANT.name}="{_quoted(who.tenant)}"'
        if status is not None:
            query += f' AND {AGENT_STATUS.name}="{status}"'
        try:
            token = base64.b64decode(page_token, altchars=b"-_", validate=True) if page_token else None
        except ValueError:
            raise HTTPException(422, "page_token is not one this API returned") from None
        pages = client.list_workflows(query, page_size=page_size, next_page_token=token)
        try:
            await pages.fetch_next_page()
        except RPCError:
            raise _unavailable() from None
        runs = [{"id": w.id, "status": w.typed_search_attributes.get(AGENT_STATUS), "started_at": w.start_time,
                 "closed_at": w.close_time} for w in pages.current_page or []]
        following = pages.next_page_token
        return {"runs": runs, "next_page_token": base64.urlsafe_b64encode(following).decode() if following else None}

    @app.get("/v1/runs/{run_id}")
    async def get_run(run_id: str, who: Identity = Depends(role("view"))) -> dict[str, Any]:
        handle = await owned(run_id, who)
        try:
            state = await handle.query(AgentRun.state, rpc_timeout=STATE_QUERY_TIMEOUT)
        except RPCError as e:
            # A query needs a worker of the run's task queue, even for an ended run. Temporal refuses it at
            # once when no worker has polled the queue lately, else holds it until our deadline.
            if e.status not in (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.DEADLINE_EXCEEDED,
                                RPCStatusCode.CANCELLED):
                raise
            raise HTTPException(503, f"no worker answered for run {run_id!r}: none polls its task queue, or "
                                f"none answered within {STATE_QUERY_TIMEOUT.seconds} s. Is a worker of its task "
                                "queue running? Its status in the run list needs none", headers={"Retry-After": "5"}) from None
        return state.model_dump(mode="json")

    async def approval_of(handle: WorkflowHandle, call_id: str, body: Decision, who: Identity) -> ApproveInput:
        """`who`'s approval, signed by the API where the approvers file lets it sign for them. A call that
        needs a signature and a person it may not sign for is a 403 here, before the run is asked."""
        state: RunState = await handle.query(AgentRun.state)
        pending = next((p for p in state.pending_approvals if p.tool_call_id == call_id), None)
        if pending is not None and signer is not None and signer.signs_for(who):
            return signer.approval(who, state.approval_scope or handle.id, pending, body.comment, body.arguments)
        if pending is not None and pending.signature_required:
            raise HTTPException(403, f"{pending.tool} ({call_id}, risk {pending.risk_level}) needs a signed approval, "
                                f"and the approvers file does not list {who.name!r} for the run API in tenant {who.tenant!r}; "
                                f"an admin adds them with: python -m worker.api approvers add {who.name} "
                                f"--tenant {who.tenant}")
        # Not pending (decided, expired, unknown): the run says why.
        return ApproveInput(tool_call_id=call_id, approver=who.name, comment=body.comment, arguments=body.arguments,
                            proof=who.proof)

    @app.post("/v1/runs/{run_id}/approvals/{call_id}")
    async def decide(run_id: str, call_id: str, body: Decision,
                     who: Identity = Depends(role("approve"))) -> dict[str, str]:
        handle = await owned(run_id, who)
        try:
            if body.decision == "approve":
                approval = await approval_of(handle, call_id, body, who)
                reply = await handle.execute_update(AgentRun.approve, approval)
            else:
                reply = await handle.execute_update(AgentRun.reject, RejectInput(
                    tool_call_id=call_id, approver=who.name, comment=body.comment, proof=who.proof))
        except WorkflowUpdateFailedError as e:
            raise HTTPException(409, _refusal(e)) from None
        return {"result": reply}

    @app.post("/v1/runs/{run_id}/outcomes/{call_id}")
    async def resolve(run_id: str, call_id: str, body: Outcome,
                      who: Identity = Depends(role("approve"))) -> dict[str, str]:
        handle = await owned(run_id, who)
        try:
            reply = await handle.execute_update(AgentRun.resolve_outcome, ResolveOutcomeInput(
                tool_call_id=call_id, decision=body.decision, by=who.name, comment=body.comment, data=body.data))
        except WorkflowUpdateFailedError as e:
            raise HTTPException(409, _refusal(e)) from None
        return {"result": reply}

    @app.post("/v1/runs/{run_id}/messages", status_code=202)
    async def message(run_id: str, body: UserText, who: Identity = Depends(role("start"))) -> dict[str, str]:
        handle = await owned(run_id, who)
        await handle.signal(AgentRun.user_message, UserMessageInput(text=body.text, user=who.name))
        return {"result": "sent"}

    @app.post("/v1/runs/{run_id}/{control}", status_code=202)
    async def control(run_id: str, control: Literal["pause", "resume", "cancel"],
                      who: Identity = Depends(role("start"))) -> dict[str, str]:
        handle = await owned(run_id, who)
        if control == "cancel":
            await handle.cancel()
        else:
            await handle.signal(control)
        return {"result": f"{control} sent"}

    @app.get("/v1/runs/{run_id}/files")
    async def files(run_id: str, who: Identity = Depends(role("view"))) -> dict[str, Any]:
        """The files the run's workspace holds now (path, size, kind), without the tools' own."""
        folder = await workspace_of(await owned(run_id, who))
        return {"files": [f.model_dump() for f in list_files(folder)]}

    @app.get("/v1/runs/{run_id}/files/{path:path}")
    async def file(run_id: str, path: str, download: bool = False, render: bool = False,
                   who: Identity = Depends(role("view"))) -> Response:
        """The file as it is; `download` as an attachment; `render` a Markdown file as HTML (raw HTML in it
        escaped, script links refused: markdown-it-py with html off)."""
        folder = await workspace_of(await owned(run_id, who))
        try:
            return file_response(folder, path, download, render)
        except ArtifactError as e:
            raise HTTPException(404, str(e)) from None

    @app.get("/v1/runs/{run_id}/memories")
    async def memories(run_id: str, who: Identity = Depends(role("view"))) -> dict[str, Any]:
        """The memory items the run proposed (the `remember` tool), with their scope and what became of them."""
        handle = await owned(run_id, who)
        try:
            recorded = await read_run(client, handle.id)
        except NotARun as e:
            raise HTTPException(404, str(e)) from None
        return {"memories": proposed_memories(recorded)}

    async def workspace_of(handle: WorkflowHandle) -> Path:
        if workspaces is None:
            raise HTTPException(404, "this API serves no workspace files (its workspaces are on other hosts)")
        desc = await handle.describe()
        first_run = desc.raw_description.workflow_execution_info.first_run_id or desc.run_id
        return workspace_dir(workspaces, f"{handle.id}/{first_run}")

    async def still_allowed(request: Request, who: Identity) -> bool:
        """Whether the credentials that opened a stream still identify someone who may view this tenant's
        runs: a stream outlives its request, and a key revoked or a token expired must end it."""
        try:
            now = await keys.identify(request.state.credential)
        except OidcUnavailable:
            return True  # the provider is down: not a reason to cut a reader off
        return now is not None and now.tenant == who.tenant and now.may("view")

    @app.get("/v1/runs/{run_id}/events")
    async def events(run_id: str, request: Request, who: Identity = Depends(role("view")),
                     last_event_id: str | None = Header(default=None),
                     after: int | None = Query(default=None, ge=-1)) -> EventSourceResponse:
        """The run's events from the start, or after `Last-Event-ID` (what EventSource sends when it
        reconnects by itself) or `after` (a new connection resuming; the later of the two wins)."""
        await owned(run_id, who)
        start = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 0
        if after is not None:
            start = max(start, after + 1)

        async def items() -> AsyncIterator[dict[str, Any]]:
            yield {"retry": 1000, "comment": "reconnect after 1 s"}  # EventSource's reconnect delay
            checked = time.monotonic()
            async with feeds.follow(run_id) as feed:
                async for item in feed.after(start, idle_s=auth_recheck_s):
                    if time.monotonic() - checked >= auth_recheck_s:  # quiet or busy, at this pace
                        if not await still_allowed(request, who):
                            return  # revoked or expired meanwhile: the client's reconnect gets the 401
                        checked = time.monotonic()
                    if item is None:
                        continue
                    offset, event = item
                    yield {"id": str(offset), "event": event.kind, "data": event.model_dump_json()}

        return EventSourceResponse(items(), ping=15)

    mount_console(app, keys)
    return app
