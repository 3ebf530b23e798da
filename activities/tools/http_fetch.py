"""HTTP tools under a domain allow-list: `http_get` (read-only, risk 0) and `http_request` (writes, by risk).

Every URL, and every redirect hop, must match the allow-list (`AGENT_HTTP_ALLOWLIST`: `host`,
`host:port`, `*.domain`, or `scheme://host[:port]`; https unless an entry names http). Redirects are
followed by hand, never by the client, so each hop is checked before it is requested. Bodies are read
as a stream and cut at `AGENT_HTTP_MAX_BYTES`. The client ignores proxy variables and carries no
credentials. Writes are `not_idempotent`: a write whose request may have reached the server (a read
timeout, a dropped connection) is `outcome_unknown`, never retried blindly; each carries the call's
idempotency key in an `Idempotency-Key` header for servers that deduplicate on it.

Names are not addresses: every connection resolves its host once, refuses loopback, link-local,
private and other non-public addresses unless `AGENT_HTTP_ALLOW_NETWORKS` lists them, and connects to
the address it checked (http_address.py). `http_get` is risk 0, so text the model read can make it
request an allowed URL that carries data in its path or query: `AGENT_HTTP_READ_MODE` (and per tenant
`AGENT_HTTP_TENANT_READ_MODES`) can refuse query strings, and `AGENT_HTTP_GET_APPROVAL=always` puts
every GET before a person (docs/tools.md weighs the trade-off).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import httpx
from pydantic import BaseModel, Field, field_validator

from activities.tools.http_address import (
    AddressGuard,
    AddressRefused,
    Resolver,
    parse_networks,
    pinned_transport,
)
from activities.tools.registry import Tool, ToolArgs, ToolContext, ToolError, ToolRegistrationError, tool
from activities.tools.sandbox.outputs import store_output

_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"}
_KEPT_HEADERS = ("content-type", "content-length", "location", "etag", "last-modified")
# open: any URL on the allow-list; no_query: URLs with a query string are refused (a fragment is never sent).
ReadMode = Literal["open", "no_query"]


class HttpPolicy(BaseModel):
    allowed_hosts: list[str] = Field(default_factory=list, description="AGENT_HTTP_ALLOWLIST, comma-separated")
    max_bytes: int = Field(1024 * 1024, ge=1, description="AGENT_HTTP_MAX_BYTES: body bytes read at most")
    timeout_s: float = Field(15, gt=0, description="AGENT_HTTP_TIMEOUT_S: connect/read/write/pool timeout")
    max_redirects: int = Field(5, ge=0, description="AGENT_HTTP_MAX_REDIRECTS (http_get only)")
    write_risk_level: int = Field(3, ge=1, le=4, description="AGENT_HTTP_WRITE_RISK_LEVEL: risk of http_request")
    preview_bytes: int = Field(16 * 1024, ge=256, description="body bytes kept in the result")
    allowed_networks: list[str] = Field(
        default_factory=list, description="AGENT_HTTP_ALLOW_NETWORKS: non-public CIDRs the tools may reach")
    read_mode: ReadMode = Field("open", description="AGENT_HTTP_READ_MODE: open | no_query, for http_get")
    tenant_read_modes: dict[str, ReadMode] = Field(
        default_factory=dict, description="AGENT_HTTP_TENANT_READ_MODES: tenant=mode,... overriding read_mode")
    get_approval: Literal["by_risk", "always"] = Field(
        "by_risk", description="AGENT_HTTP_GET_APPROVAL: always = every http_get waits for a person")

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, entries: list[str]) -> list[str]:
        parse_networks(entries)  # a ValueError names the bad entry
        return entries

    def guard(self, resolver: Resolver | None = None) -> AddressGuard:
        networks = parse_networks(self.allowed_networks)
        return AddressGuard(networks, resolver) if resolver else AddressGuard(networks)

    def read_mode_for(self, tenant_id: str) -> ReadMode:
        return self.tenant_read_modes.get(tenant_id, self.read_mode)

    def allows(self, url: httpx.URL) -> bool:
        port = url.port or _default_port(url.scheme)
        name = (url.host or "").lower()
        for entry in self.allowed_hosts:
            scheme, host, entry_port = _parse_entry(entry)
            if url.scheme != scheme or port != (entry_port or _default_port(scheme)):
                continue
            if name == host or host.startswith("*.") and name.endswith(host[1:]):
                return True
        return False


def _parse_entry(entry: str) -> tuple[str, str, int | None]:
    """`[scheme://]host[:port]` -> (scheme, lower-case host, port or None); https by default."""
    scheme, sep, rest = entry.partition("://")
    if not sep:
        scheme, rest = "https", entry
    host, sep, port = rest.rpartition(":")
    if not (sep and port.isdigit()):
        host, port = rest, ""
    return scheme.lower(), host.strip("[]").lower(), int(port) if port else None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class _HttpArgs(ToolArgs):
    url: str = Field(min_length=1, max_length=8192)
    headers: dict[str, str] = Field(default_factory=dict, max_length=32)

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        bad = sorted(h for h in headers if h.lower() in _FORBIDDEN_HEADERS)
        if bad:
            raise ValueError(f"headers {bad} are set by the tool, not by the caller")
        return headers


class HttpGetArgs(_HttpArgs):
    pass


class HttpRequestArgs(_HttpArgs):
    method: Literal["POST", "PUT", "PATCH", "DELETE"]
    body: str | None = Field(default=None, max_length=1_000_000, description="raw body")
    json_body: Any = Field(default=None, description="a JSON body (instead of body)")


def _checked(policy: HttpPolicy, raw: str) -> httpx.URL:
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL as e:
        raise ToolError(f"invalid URL {raw!r}: {e}", "invalid_arguments") from e
    if url.userinfo:
        raise ToolError("URLs with credentials are refused", "invalid_arguments")
    if not policy.allows(url):
        raise ToolError(f"{url.scheme}://{url.netloc.decode()} is not on the HTTP allow-list", "host_not_allowed")
    return url


def _client(policy: HttpPolicy, guard: AddressGuard) -> httpx.Client:
    # trust_env=False: proxy variables and .netrc of the worker never apply to the agent's requests.
    return httpx.Client(follow_redirects=False, trust_env=False, timeout=policy.timeout_s,
                        transport=pinned_transport(guard))


def _read(ctx: ToolContext, policy: HttpPolicy, response: httpx.Response, redirects: list[str]) -> dict:
    """Stream the body up to the cap; keep a preview in the result and the rest by reference."""
    with tempfile.TemporaryDirectory(prefix="agent-http-") as tmp:
        path, size, truncated = Path(tmp) / "body", 0, False
        with path.open("wb") as f:
            for chunk in response.iter_bytes():
                room = policy.max_bytes - size
                if len(chunk) > room:
                    f.write(chunk[:room])
                    size, truncated = policy.max_bytes, True
                    break  # closing the stream drops the rest unread
                f.write(chunk)
                size += len(chunk)
        data = path.read_bytes()[: policy.preview_bytes]
        stored = store_output(ctx.workspace, path) if size > policy.preview_bytes else None
    return {
        "url": str(response.url),
        "status_code": response.status_code,
        "headers": {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers},
        "body": data.decode(response.encoding or "utf-8", errors="replace"),
        "bytes": size,
        "truncated": truncated,
        "preview_truncated": size > policy.preview_bytes,
        "stored": stored,
        "redirects": redirects,
    }


def build_http_tools(policy: HttpPolicy, resolver: Resolver | None = None) -> list[Tool]:
    """The two tools; `resolver` replaces getaddrinfo (tests simulate DNS answers with it)."""
    if not policy.allowed_hosts:
        raise ToolRegistrationError("HTTP tools: AGENT_HTTP_ALLOWLIST is empty; list the hosts the agent may reach")
    guard = policy.guard(resolver)

    def http_get(ctx: ToolContext, args: HttpGetArgs) -> dict:
        url, redirects = _checked(policy, args.url), list[str]()
        if policy.read_mode_for(ctx.tenant_id) == "no_query" and url.query:
            raise ToolError("this tenant's reads may not carry a query string (AGENT_HTTP_READ_MODE)",
                            "query_not_allowed")
        with _client(policy, guard) as client:
            while True:
                try:
                    with client.stream("GET", url, headers=args.headers) as response:
                        if not response.is_redirect:
                            return _read(ctx, policy, response, redirects)
                        location = response.headers["location"]
                except AddressRefused as e:
                    raise ToolError(str(e), "address_not_allowed") from e
                except httpx.TimeoutException as e:
                    raise ToolError(f"GET {url} timed out after {policy.timeout_s} s", "timeout") from e
                except httpx.TransportError as e:
                    raise ToolError(f"GET {url} failed: {e}", "connection_error") from e
                if len(redirects) >= policy.max_redirects:
                    raise ToolError(f"more than {policy.max_redirects} redirects from {args.url}", "too_many_redirects")
                # Each hop is checked against the allow-list before it is requested.
                url = _checked(policy, urljoin(str(url), location))
                redirects.append(str(url))

    def http_request(ctx: ToolContext, args: HttpRequestArgs) -> dict:
        url = _checked(policy, args.url)
        headers = {**args.headers, "Idempotency-Key": ctx.idempotency_key}
        content = args.body.encode() if args.body is not None else None
        with _client(policy, guard) as client:
            try:
                # Redirects are not followed for writes: re-sending a body elsewhere is a new side effect.
                with client.stream(args.method, url, headers=headers, content=content,
                                   json=args.json_body if content is None else None) as response:
                    return _read(ctx, policy, response, [])
            except AddressRefused as e:
                raise ToolError(f"{args.method} {url} was not sent: {e}", "address_not_allowed") from e
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
                raise ToolError(f"{args.method} {url} was not sent: {e}", "connection_error") from e
            except httpx.TransportError as e:
                raise ToolError(
                    f"{args.method} {url} may or may not have reached the server ({type(e).__name__}); "
                    "a person must decide whether to retry", "outcome_unknown") from e

    hosts = ", ".join(policy.allowed_hosts)
    return [
        tool(name="http_get", description=f"HTTP GET a URL on an allowed host ({hosts}); read-only.",
             risk_level=0, idempotency="idempotent", timeout_s=policy.timeout_s * (policy.max_redirects + 2),
             approval=policy.get_approval)(http_get),
        tool(name="http_request", description=f"Send a POST, PUT, PATCH or DELETE to an allowed host ({hosts}).",
             risk_level=policy.write_risk_level, idempotency="not_idempotent",
             timeout_s=policy.timeout_s * 2)(http_request),
    ]


def __getattr__(attribute: str) -> list[Tool]:
    # The tools need an HttpPolicy, which the worker reads from AGENT_HTTP_* (worker/tool_settings.py) and
    # builds them with; a registry loading this module without the worker's builders says so.
    if attribute == "TOOLS":
        raise ToolRegistrationError(f"{__name__} is built from the worker's settings: load it with "
                                    "worker.tool_settings.load_tool_registry")
    raise AttributeError(attribute)
