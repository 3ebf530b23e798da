"""The SGLang readiness probe against a local server speaking SGLang's endpoints."""

from __future__ import annotations

import socket

import pytest

from inference.sglang import probe, wait_until_ready

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


async def test_ready_server_lists_its_model(fake_sglang) -> None:
    """A healthy server with the model listed is ready; the /v1 suffix on the URL is tolerated."""
    status = await probe(fake_sglang.root + "/v1", expect_model=MODEL)
    assert status.ready and status.models == (MODEL,)


async def test_loading_server_and_wrong_model_are_not_ready(fake_sglang) -> None:
    """/health 503 (still loading) and a missing model both report not ready, with the reason."""
    fake_sglang.unhealthy_responses = 1
    status = await probe(fake_sglang.root)
    assert not status.ready and "503" in status.detail
    status = await probe(fake_sglang.root, expect_model="other")
    assert not status.ready and "not served" in status.detail


async def test_refused_connection_is_reported_not_raised() -> None:
    """Nothing listening on the port reads as not ready with a transport error, not an exception."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = await probe(f"http://127.0.0.1:{port}")
    assert not status.ready and "ConnectError" in status.detail


async def test_wait_until_ready_polls_through_loading(fake_sglang) -> None:
    """wait_until_ready keeps polling while /health is 503 and returns once the server is up."""
    fake_sglang.unhealthy_responses = 3
    status = await wait_until_ready(fake_sglang.root, timeout_s=60, interval_s=0.01, expect_model=MODEL)
    assert status.ready and fake_sglang.health_calls == 4


async def test_wait_until_ready_times_out_with_last_reason(fake_sglang) -> None:
    """A server that never becomes healthy raises TimeoutError naming the last failure."""
    fake_sglang.unhealthy_responses = 10**9
    with pytest.raises(TimeoutError, match="503"):
        await wait_until_ready(fake_sglang.root, timeout_s=0.05, interval_s=0.01)
