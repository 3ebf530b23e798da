"""The GPU benchmark script runs end to end in --smoke mode on CPU under the Triton interpreter."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_smoke_runs_and_checks_every_shape(tmp_path) -> None:
    """--smoke times every tiny shape, finds the kernel correct at each, and writes complete JSON."""
    out = tmp_path / "bench.json"
    # As a user runs it: the script itself must switch on the interpreter, not this test run.
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.fp8_kernels", "--smoke", "--json", str(out)],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert results["meta"]["smoke"] is True
    shapes = {(r["m"], r["n"], r["k"]) for r in results["gemm"]}
    assert shapes == {(m, n, k) for m in (1, 16, 37) for n, k in ((256, 256), (128, 384))}
    for row in results["gemm"]:
        assert row["ok"] is True and row["rel_err"] < 1e-2
        assert all(math.isfinite(t) and t > 0 for t in (row["tflops"]["block_fp8"], row["tflops"]["bf16"]))
        assert row["vs_bf16"] is not None
    assert results["copy_gbps"] > 0
    assert len(results["quant"]) == 4 and all(q["gbps"] > 0 for q in results["quant"])
    assert "| M | N | K |" in proc.stdout
    assert results["meta"]["interpreter"] is True
    ragged = {(r["m"], r["n"], r["k"]): r for r in results["ragged"]}
    assert set(ragged) == {(37, 300, 272), (1, 4100, 4112), (129, 513, 1040)}
    for row in ragged.values():
        assert row["ok"] is True, row["checks"]
        assert set(row["checks"]) >= {"act_quant", "weight_quant", "dequant", "gemm_vs_fp32"}
