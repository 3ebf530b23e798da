"""The Grafana dashboard in docs/ queries only metrics the engine emits, under their exposed names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from worker.settings import REPO_ROOT

EMITTERS = ["workflows/telemetry.py", "worker/activity_telemetry.py", "activities/gateway/metrics.py"]


def test_every_dashboard_metric_is_emitted():
    """A renamed metric breaks this test, not a dashboard panel in production."""
    dashboard = json.loads((REPO_ROOT / "docs" / "grafana-agent.json").read_text())
    queried = {re.sub(r"_(bucket|count|sum)$", "", name)
               for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bagent_[a-z_]+", target["expr"])}
    code = "".join(Path(REPO_ROOT / path).read_text() for path in EMITTERS)
    created = set(re.findall(r'create_[a-z_]+\(\s*"(agent_[a-z_]+)"', code))
    assert queried and queried <= created, queried - created
    expected = {"agent_runs_started", "agent_runs_finished", "agent_steps", "agent_tokens", "agent_cost_microusd",
                "agent_tool_calls", "agent_approval_wait_seconds", "agent_outcome_unknown", "agent_budget_stops",
                "agent_provider_circuit_state"}
    assert expected <= queried
