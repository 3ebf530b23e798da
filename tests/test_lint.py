"""Static checks that catch what tests might not reach: undefined names, unused imports, syntax."""

from __future__ import annotations

import subprocess
import sys

from worker.settings import REPO_ROOT


def test_no_undefined_names_or_unused_imports():
    """ruff's pyflakes rules pass on every package and the tests."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "F,E9", "--output-format", "concise",
         "workflows", "activities", "worker", "inference", "tests"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
