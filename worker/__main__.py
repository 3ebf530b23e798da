"""python -m worker: a worker that serves agent runs on a task queue; configured only by environment
variables (docs/operating.md, Worker settings), so it takes no arguments besides --help."""

import sys

from worker import cli

if len(sys.argv) > 1:
    from worker.settings import _ENV

    names = ", ".join(sorted(set(_ENV.values())))
    cli.parser("python -m worker", __doc__, epilog=f"environment: {names}").parse_args()

from worker.main import main  # noqa: E402 (after --help, which must answer without starting anything)

main()
