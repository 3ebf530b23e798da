"""The HTTP tools against servers on 127.0.0.1 that the tests start: allow-list, redirects, caps, writes."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.tools.http_fetch import HttpPolicy, build_http_tools
from activities.tools.registry import ToolRegistrationError
from activities.tools.workspaces import workspace_dir
from tests.tools.helpers import call_input, tool_activities
from tests.tools.http_server import LocalHttpServer
from worker.tool_settings import http_policy_from_env


@pytest.fixture
def servers():
    with LocalHttpServer() as inside, LocalHttpServer() as outside:
        inside.redirect_to = f"{outside.base}/hello"
        yield inside, outside


@pytest.fixture
def tools(tmp_path, servers):
    inside, _ = servers
    # The servers are on loopback, which the tools refuse unless it is allowed explicitly.
    policy = HttpPolicy(allowed_hosts=[f"http://127.0.0.1:{inside.port}"], max_bytes=256 * 1024,
                        timeout_s=1, max_redirects=3, preview_bytes=1024, allowed_networks=["127.0.0.1/32"])
    return tool_activities(tmp_path, *build_http_tools(policy))


async def get(tools, url: str, call_id: str = "call-1-1"):
    return await ActivityEnvironment().run(tools.execute, call_input("http_get", call_id=call_id, url=url))


async def test_get_on_an_allowed_host_returns_the_body(tools, servers):
    """A GET on the allow-list returns status, headers and body."""
    result = await get(tools, f"{servers[0].base}/hello")
    assert result.status == "ok" and result.data["status_code"] == 200 and result.data["body"] == "hello"
    assert result.data["headers"]["content-type"].startswith("text/plain")


async def test_hosts_off_the_list_are_never_contacted(tools, servers):
    """Another port, another scheme, or credentials in the URL are refused before any request."""
    _, outside = servers
    refused = await get(tools, f"{outside.base}/hello")
    assert (refused.status, refused.error_type) == ("error", "host_not_allowed")
    https = await get(tools, f"https://127.0.0.1:{servers[0].port}/hello", call_id="c2")
    assert https.error_type == "host_not_allowed"
    creds = await get(tools, f"http://user:pw@127.0.0.1:{servers[0].port}/hello", call_id="c3")
    assert creds.error_type == "invalid_arguments"
    assert outside.hits["/hello"] == 0


async def test_each_redirect_is_checked_against_the_allow_list(tools, servers):
    """A redirect inside the list is followed; one that leaves it is refused and never requested; loops end."""
    inside, outside = servers
    followed = await get(tools, f"{inside.base}/redirect-inside")
    assert followed.data["body"] == "hello" and followed.data["redirects"] == [f"{inside.base}/hello"]
    escaped = await get(tools, f"{inside.base}/redirect-outside", call_id="c2")
    assert escaped.error_type == "host_not_allowed" and outside.hits["/hello"] == 0
    loop = await get(tools, f"{inside.base}/loop", call_id="c3")
    assert loop.error_type == "too_many_redirects" and inside.hits["/loop"] == 4


async def test_an_endless_body_is_cut_at_the_cap_and_stored(tools, servers, tmp_path):
    """An endless body stops at max_bytes; the preview is short and the full capped body is stored by reference."""
    result = await get(tools, f"{servers[0].base}/big")
    assert result.data["truncated"] and result.data["bytes"] == 256 * 1024 and len(result.data["body"]) == 1024
    stored = workspace_dir(tmp_path / "workspaces", "run-1") / result.data["stored"]["path"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == result.data["stored"]["ref"]


async def test_a_server_that_never_answers_times_out(tools, servers):
    """A GET that gets no response ends with a timeout error, not a hung activity."""
    result = await get(tools, f"{servers[0].base}/hang")
    assert (result.status, result.error_type) == ("error", "timeout")


async def test_writes_carry_the_idempotency_key_and_do_not_follow_redirects(tools, servers):
    """POST sends its body once with the call's key; a 307 is reported, not re-sent elsewhere."""
    inside, _ = servers
    env = ActivityEnvironment()
    posted = await env.run(tools.execute, call_input("http_request", method="POST", url=f"{inside.base}/echo",
                                                     json_body={"amount": 42}))
    assert posted.data["status_code"] == 201 and inside.bodies == [("POST", b'{"amount":42}', "run-1/call-1-1")]
    again = await env.run(tools.execute, call_input("http_request", method="POST", url=f"{inside.base}/echo",
                                                    json_body={"amount": 42}))
    assert again.from_ledger and inside.hits["POST /echo"] == 1
    redirected = await env.run(tools.execute, call_input("http_request", call_id="c2", method="POST",
                                                         url=f"{inside.base}/redirect", body="x"))
    assert redirected.data["status_code"] == 307 and inside.hits["POST /echo"] == 1


async def test_a_write_whose_answer_is_lost_is_outcome_unknown(tools, servers):
    """A POST that reached the server but got no answer is outcome_unknown, and the ledger keeps it so."""
    inside, _ = servers
    env = ActivityEnvironment()
    args = {"method": "POST", "url": f"{inside.base}/hang", "body": "charge"}
    first = await env.run(tools.execute, call_input("http_request", **args))
    assert (first.status, first.error_type) == ("error", "outcome_unknown")
    retried = await env.run(tools.execute, call_input("http_request", **args))
    assert retried.from_ledger and retried.error_type == "outcome_unknown" and inside.hits["POST /hang"] == 1
    assert tools.ledger.receipt("run-1/call-1-1")["status"] == "outcome_unknown"


def test_policy_from_the_environment():
    """The allow-list comes from AGENT_HTTP_ALLOWLIST; an empty list or a bad number fails registration."""
    policy = http_policy_from_env({"AGENT_HTTP_ALLOWLIST": "api.example.com, *.corp.example, http://10.0.0.1:8080"})

    assert policy.allows(httpx.URL("https://api.example.com/x")) and policy.allows(httpx.URL("https://a.corp.example/"))
    assert policy.allows(httpx.URL("http://10.0.0.1:8080/")) and not policy.allows(httpx.URL("http://api.example.com/"))
    assert not policy.allows(httpx.URL("https://api.example.com.evil.test/"))
    with pytest.raises(ToolRegistrationError, match="ALLOWLIST is empty"):
        build_http_tools(http_policy_from_env({}))
    with pytest.raises(ToolRegistrationError, match="AGENT_HTTP_MAX_BYTES"):
        http_policy_from_env({"AGENT_HTTP_MAX_BYTES": "lots"})
