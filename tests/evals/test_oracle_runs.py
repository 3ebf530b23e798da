"""The starter suite's CI subset on the real worker (`python -m worker`) and the dev server, with the
oracle as its model: the perfect oracle passes every case (the checks are sound), and a broken one
that answers at once without its tools is named a regression by compare (the checks are sensitive).
docs/evals.md has the full-suite figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from worker.client import connect
from worker.evals.__main__ import main
from worker.evals.compare import compare
from worker.evals.results import SuiteResult, collect
from worker.evals.runner import Target, run_cases
from worker.evals.stack import Stack
from worker.settings import REPO_ROOT

STARTER = REPO_ROOT / "evals" / "starter.yaml"


async def test_the_oracle_passes_and_a_broken_oracle_is_a_regression(dev_server, tmp_path: Path) -> None:
    """Every CI case passes with the perfect oracle; with the no-tools oracle each fails, and compare
    names the suite-level drop and exits 1."""
    address = dev_server.config.address
    with Stack(STARTER, address, tmp_path / "stack", oracle="perfect") as stack:
        client = await connect(address)
        await stack.wait_ready(client)
        target = Target(client, stack.task_queue, stack.data_dir / "workspaces")
        cases = stack.suite.select(["ci"])

        async def evaluate(label: str) -> SuiteResult:
            started = datetime.now(UTC)
            outcomes = await run_cases(stack.suite, cases, target, concurrency=4)
            return SuiteResult(suite=stack.suite.name, label=label, started_at=started, finished_at=datetime.now(UTC),
                               cases=collect(cases, outcomes))

        good = await evaluate("oracle:perfect")
        assert stack.oracle is not None
        stack.oracle.mode = "no_tools"  # the same server and worker; the model now skips its tools
        broken = await evaluate("oracle:no_tools")

    failed = {c.id: [f"{x.check}: {x.detail}" for r in c.records for x in r.failures] for c in good.cases}
    assert good.passed == good.runs == len(cases), {k: v for k, v in failed.items() if v}
    runs = {c.id: c.records[0].outcome for c in good.cases}
    # What the runner saw and did: arguments from history, decisions it took, files, questions.
    assert [(c.tool, c.arguments, c.ran) for c in runs["calc-product"].tool_calls] == [
        ("calculator", {"expression": "37*43"}, True)]
    assert runs["calc-product"].models == ["oracle"] and runs["calc-product"].cost_usd > 0
    assert [(d.kind, d.tool) for d in runs["rejected-write"].decisions] == [("reject", "write_file")]
    assert runs["rejected-write"].tool_calls[0].approval == "rejected" and not runs["rejected-write"].tool_calls[0].ran
    assert runs["write-greeting"].files == {"greeting.txt": "hello, evals"}
    assert runs["ask-filename"].questions == ["Which file name should I use?"]
    assert runs["http-status-json"].tool_calls[0].arguments["url"].endswith("/status.json")
    # The rubric check was judged by the worker's gateway (the oracle model, as a judge), through JudgeAnswer.
    assert [(v.model, v.grade) for v in runs["kb-refund-window"].judged.values()] == [("oracle", 5)]

    assert broken.passed == 0 and broken.runs == len(cases)
    comparison = compare(good, broken)
    assert comparison.suite_regressed and comparison.regressions[0].startswith(
        f"suite: {len(cases)}/{len(cases)} -> 0/{len(cases)}")
    good.write(tmp_path / "good.json")
    broken.write(tmp_path / "broken.json")
    assert main(["compare", str(tmp_path / "good.json"), str(tmp_path / "broken.json")]) == 1


def test_the_command_runs_cases_and_writes_json_and_junit(dev_server, tmp_path: Path) -> None:
    """`run --oracle` starts what it needs, shows progress on stderr, prints the table and writes both
    files; --fail-under 100 passes when every run passed."""
    out, junit = tmp_path / "results.json", tmp_path / "results.xml"
    done = subprocess.run(
        [sys.executable, "-m", "worker.evals", "run", str(STARTER), "--oracle", "--cases", "calc-product",
         "http-status-json", "--address", dev_server.config.address, "--out", str(out), "--junit", str(junit),
         "--fail-under", "100"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[2/2]" in done.stderr and "pass (completed" in done.stderr
    assert "SUITE starter" in done.stdout and "2/2" in done.stdout
    results = json.loads(out.read_text())
    assert results["passed"] == results["runs"] == 2 and results["label"] == "oracle:perfect"
    assert [c["id"] for c in results["cases"]] == ["calc-product", "http-status-json"]
    testcases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert [t.get("name") for t in testcases] == ["calc-product", "http-status-json"]
