"""Every command-line entry point, as a user first meets it: `--help` prints its usage and exits 0, and a
bad argument is refused in one line that says what is wrong and where to look (exit 2), never with a
traceback. Nothing here needs a server: `--help` must answer before anything is started or reached."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from worker.settings import REPO_ROOT

COMMANDS = ["worker", "worker.dev", "worker.replay", "worker.read", "worker.approve", "worker.knowledge_cli",
            "worker.evals", "worker.api", "worker.agent_cli", "worker.watch", "worker.screenshot",
            "worker.codec_server"]


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TEMPORAL_ADDRESS": "127.0.0.1:9"}  # nothing listens there
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("module", COMMANDS)
def test_help_prints_the_usage(module: str) -> None:
    done = run(module, "--help")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "usage:" in done.stdout and "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("module", COMMANDS)
def test_a_bad_argument_is_one_line(module: str) -> None:
    done = run(module, "--no-such-option")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    # What is wrong: the unknown option, or the arguments still missing (argparse checks those first).
    assert len(lines) == 1 and "--help" in lines[0], done.stderr
    assert "--no-such-option" in lines[0] or "arguments are required" in lines[0], lines
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(("given", "passed"), [
    ([], ["-n", "2"]),
    (["tests/api", "-x"], ["-n", "2", "tests/api", "-x"]),
    (["-n", "0", "tests/api"], ["-n", "0", "tests/api"]),
    (["-n4"], ["-n4"]),
    (["--numprocesses=3"], ["--numprocesses=3"]),
    (["-p", "no:xdist"], ["-p", "no:xdist"]),
    (["--no-header", "-k", "name"], ["-n", "2", "--no-header", "-k", "name"]),
])
def test_the_test_command_runs_two_processes_unless_told_otherwise(given: list[str], passed: list[str]) -> None:
    from worker.dev import with_test_processes

    assert with_test_processes(given) == passed
