"""`python -m worker.agent_cli ...`: the same as the `agent` console script."""

import sys

from worker.agent_cli.main import main

sys.exit(main())
