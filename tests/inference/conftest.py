"""Fixtures for the inference tests: Triton's CPU interpreter and its cast shim.

Without a CUDA device the kernels run under ``TRITON_INTERPRET=1``, which must be set
before anything imports triton, hence at the top of this conftest. The interpreter has
known rounding bugs in float downcasts (fp32 -> fp8 carries are dropped, triton PR #11897;
fp32 -> bf16 truncates instead of rounding). The shim below routes those casts through
torch, and it is applied only when the package's self-check
(``inference.kernels.interpreter_check``) shows the installed interpreter is wrong, so a
fixed Triton runs unshimmed. The shim is test-only; product code that runs on CPU (the
checkpoint converter) uses the same check to fall back to the torch reference instead.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np
import pytest
import triton.language as tl

from inference.kernels import interpreter_check

_TL_TO_TORCH = {
    tl.float8e4nv: torch.float8_e4m3fn,
    tl.float8e5: torch.float8_e5m2,
    tl.bfloat16: torch.bfloat16,
    tl.float16: torch.float16,
    tl.float32: torch.float32,
}
# How the interpreter stores each dtype in numpy (fp8 as uint8, bf16 as uint16).
_STORAGE = {torch.float8_e4m3fn: torch.uint8, torch.float8_e5m2: torch.uint8, torch.bfloat16: torch.int16}


def _to_torch(data: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(data))
    return t.view(dtype) if dtype in _STORAGE else t.to(dtype)


def _torch_downcast(fallback):
    """Wrap an interpreter cast so float downcasts to fp8/bf16 round like torch (and the GPU)."""
    from triton._C.libtriton import ir
    from triton.runtime.interpreter import TensorHandle, _get_np_dtype

    def cast(self, handle, dst, *args):
        src_t, dst_t = _TL_TO_TORCH.get(handle.dtype.scalar), _TL_TO_TORCH.get(dst.scalar)
        # Only round-to-nearest-even is rerouted; an explicit RTZ request keeps Triton's path.
        rtz = bool(args) and args[0] == ir.ROUNDING_MODE.RTZ
        if src_t is None or dst_t not in _STORAGE or rtz:
            return fallback(self, handle, dst, *args)
        out = _to_torch(handle.data, src_t).to(dst_t)
        data = out.view(_STORAGE[dst_t]).numpy().view(_get_np_dtype(dst))
        return TensorHandle(data.reshape(handle.data.shape), dst.scalar)

    return cast


def _apply_cast_shim() -> None:
    from triton.runtime.interpreter import InterpreterBuilder

    InterpreterBuilder.create_fp_to_fp = _torch_downcast(InterpreterBuilder.create_fp_to_fp)
    InterpreterBuilder.cast_impl = _torch_downcast(InterpreterBuilder.cast_impl)


INTERPRETER = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
CAST_SHIM_APPLIED = False
if INTERPRETER and not interpreter_check.interpreter_casts_exact():
    _apply_cast_shim()
    interpreter_check.interpreter_casts_exact.cache_clear()
    CAST_SHIM_APPLIED = True


@pytest.fixture(name="device")
def device_fixture() -> torch.device:
    """Where kernel tests allocate: the GPU when there is one, else CPU under the interpreter."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(name="interpreter_casts")
def interpreter_casts_fixture():
    """The cast self-check, for the test that proves the shim (if any) made the interpreter exact."""
    interpreter_check.interpreter_casts_exact.cache_clear()
    return interpreter_check.interpreter_casts_exact


FIXTURES = Path(__file__).parent / "fixtures"


class FakeSGLang:
    """A local HTTP server speaking SGLang's wire formats from recorded fixtures.

    It stands in for the GPU-only server in probe, metrics and client tests; it records
    each chat request body so tests can check what the client put on the wire.
    """

    def __init__(self) -> None:
        self.unhealthy_responses = 0  # /health answers 503 this many times first (model loading)
        self.health_calls = 0
        self.metrics_enabled = True
        self.chat_fixture = "sglang_chat_completion.json"
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/health":
                    fake.health_calls += 1
                    if fake.health_calls <= fake.unhealthy_responses:
                        return self._send(503, "")
                    return self._send(200, "")
                if self.path == "/v1/models":
                    return self._send(200, (FIXTURES / "sglang_models.json").read_text())
                if self.path == "/metrics" and fake.metrics_enabled:
                    return self._send(
                        200, (FIXTURES / "sglang_metrics.txt").read_text(), "text/plain; version=0.0.4"
                    )
                return self._send(404, '{"detail": "Not Found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                if self.path != "/v1/chat/completions":
                    return self._send(404, '{"detail": "Not Found"}')
                fake.requests.append(json.loads(self.rfile.read(length)))
                return self._send(200, (FIXTURES / fake.chat_fixture).read_text())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(name="fake_sglang")
def fake_sglang_fixture():
    """A fresh fake SGLang server per test."""
    server = FakeSGLang()
    yield server
    server.close()
