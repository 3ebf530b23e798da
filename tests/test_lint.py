"""Static checks that catch what tests might not reach: undefined names, unused imports, syntax, and the
direction of dependencies (activities and workflows never import the worker nor read the environment)."""

from __future__ import annotations

import ast
import subprocess
import sys

from worker.settings import REPO_ROOT


def test_ruff_passes():
    """ruff, with the rules pyproject.toml selects (pyflakes, import order, pyupgrade, style errors), on
    every package and the tests."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise",
         "workflows", "activities", "worker", "inference", "tests"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_passes():
    """The type checker passes on the product's four packages (settings in pyproject.toml): wire types,
    activity stubs and the run's state are checked where they are used."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "workflows", "activities", "worker", "inference"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr


def _modules(*folders: str) -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(REPO_ROOT)), ast.parse(path.read_text(), str(path)))
            for folder in folders for path in sorted((REPO_ROOT / folder).rglob("*.py"))]


def _imported(tree: ast.Module) -> list[tuple[int, str]]:
    """Every module an import statement names (relative imports resolve inside the package, never to worker)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_activities_and_workflows_never_import_worker():
    """Settings reach activities from the worker's wiring; the dependency points one way only."""
    offenders = [f"{name}:{line}: imports {module}" for name, tree in _modules("activities", "workflows")
                 for line, module in _imported(tree) if module == "worker" or module.startswith("worker.")]
    assert not offenders, "\n".join(offenders)


# Modules under activities/ that may read the process environment, each with the reason. Keep it empty:
# the worker reads settings (worker/settings.py, worker/*_settings.py, worker/blobs.py) and passes values in.
ENVIRONMENT_READERS: dict[str, str] = {}


def _environment_reads(tree: ast.Module) -> list[tuple[int, str]]:
    """`os.environ` in any use (`[...]`, `.get`, passed along), `os.getenv(...)`, and both imported by name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("environ", "environb", "getenv", "getenvb"):
            found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, f"from os import {a.name}") for a in node.names
                      if a.name in ("environ", "environb", "getenv", "getenvb")]
    return found


def test_activities_never_read_the_environment():
    """No module under activities/ reads os.environ or os.getenv: configuration arrives as arguments."""
    offenders = [f"{name}:{line}: {what}" for name, tree in _modules("activities")
                 if name not in ENVIRONMENT_READERS for line, what in _environment_reads(tree)]
    assert not offenders, "\n".join(offenders)


def test_the_checks_see_what_they_look_for():
    """The two checks above find a worker import and an environment read when there is one."""
    tree = ast.parse("import os\nfrom worker.settings import load_settings\nx = os.environ.get('A')\n"
                     "y = os.getenv('B')\nfrom os import environ\n")
    assert [m for _, m in _imported(tree) if m.startswith("worker")] == ["worker.settings"]
    assert sorted(w for _, w in _environment_reads(tree)) == ["from os import environ", "os.environ", "os.getenv"]
