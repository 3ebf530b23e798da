"""The two commands of the README.

    python3 -m worker.dev up     install what is missing, start the dev cluster, model and worker, run the demo
    python3 -m worker.dev test   install what is missing, run the whole test suite

Runs first under the system Python (standard library only) to set up ./.venv, then re-executes
itself inside it.
"""

from __future__ import annotations

import os
import sys

from worker import bootstrap

USAGE = "usage: python3 -m worker.dev {up|test} [args...]"


# The suite waits on servers and child processes about as much as it computes, so two test processes
# (pytest-xdist, each with its own dev server and model server) share 2 cores well: 20 minutes
# instead of 35 on this project's 2-core machines. `-n 0` runs one process, `-n N` another count.
TEST_PROCESSES = "2"


def with_test_processes(args: list[str]) -> list[str]:
    chosen = any(a == "-n" or (a.startswith("-n") and not a.startswith("--")) or a.startswith("--numprocesses")
                 or a == "no:xdist" for a in args)
    return args if chosen else ["-n", TEST_PROCESSES, *args]


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(f"{USAGE}\n\n{__doc__.strip()}")
        return 0
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] not in ("up", "test"):
        print(f"python3 -m worker.dev: unknown command {argv[0]!r}: use up or test (see python3 -m worker.dev --help)",
              file=sys.stderr)
        return 2
    if not bootstrap.in_venv():
        bootstrap.ensure_all(argv[0])
        if argv[0] == "test":
            bootstrap.ensure_test_services()
        python = str(bootstrap.venv_python())
        os.execv(python, [python, "-m", "worker.dev", *argv])
    command, rest = argv[0], argv[1:]
    if command == "test":
        import pytest

        from inference.embedded_model import ensure_model

        ensure_model()  # the real-model and tokenizer tests need the joined GGUF
        os.chdir(bootstrap.REPO)
        return pytest.main(with_test_processes(rest))
    from worker.demo import up

    return up(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
