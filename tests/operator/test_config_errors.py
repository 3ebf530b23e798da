"""A worker with a mistake in its configuration says what and where in one line, without a traceback,
before it connects: Temporal may be down too, and the person still sees the mistake they can fix."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from worker.devserver import free_port
from worker.settings import REPO_ROOT


def run_worker(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """`python -m worker` against a port where nothing listens (Temporal is down)."""
    environ = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "AGENT_DATA_DIR": str(tmp_path / "data"),
               "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run([sys.executable, "-m", "worker"], env=environ, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_a_bad_models_file_is_named_while_temporal_is_down(tmp_path):
    """The models file's path, key and reason; not the connection error."""
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  - name: m\n    provider: nosuch\n")
    line = one_line_error(run_worker(tmp_path, AGENT_MODELS_FILE=str(models)))
    assert line.startswith("worker: configuration error: ") and str(models) in line and "provider" in line
    assert "connect" not in line


@pytest.mark.parametrize(("env", "expected"), [
    ({"AGENT_TOOL_MODULES": "no_such_tools_module"}, "tool module no_such_tools_module: cannot import"),
    ({"AGENT_BREAKER_MIN_CALLS": "zero"}, "AGENT_BREAKER_MIN_CALLS: "),
    ({"AGENT_METRICS_ADDRESS": "9464"}, "AGENT_METRICS_ADDRESS: '9464' is not host:port"),
])
def test_a_bad_tool_module_or_setting_is_one_line(tmp_path, env, expected):
    """Each kind of mistake names its source: the module, the environment variable."""
    assert expected in one_line_error(run_worker(tmp_path, **env))


def test_temporal_down_with_a_good_configuration_is_one_line(tmp_path):
    """Past the checks, an unreachable server is named with the variable that sets its address."""
    line = one_line_error(run_worker(tmp_path))
    assert line.startswith("worker: cannot connect to Temporal at 127.0.0.1:") and "(TEMPORAL_ADDRESS; plaintext)" in line
