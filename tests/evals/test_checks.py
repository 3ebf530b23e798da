"""Each check kind passes on an outcome that meets it and fails, with a detail that says why, on one
that does not. Outcomes are crafted: no worker, no model."""

from __future__ import annotations

import pytest

from worker.evals.checks import CHECKS, parse_check
from worker.evals.outcome import ApprovalSeen, Outcome, ToolCallRecord
from workflows.contracts import JudgeVerdict


def outcome(**fields) -> Outcome:
    base = dict(case_id="c", status="completed", answer="The total is 1,591.", steps=2, prompt_tokens=900,
                completion_tokens=100, cost_usd=0.002, latency_s=3.5,
                tool_calls=[ToolCallRecord(id="call-1-1", step=1, tool="calculator", arguments={"expression": "37*43"},
                                           verdict="run", ran=True, result_status="ok"),
                            ToolCallRecord(id="call-2-1", step=2, tool="write_file", verdict="ask",
                                           arguments={"path": "out.txt", "content": "1591"}, approval="rejected")],
                approvals=[ApprovalSeen(tool_call_id="call-2-1", tool="write_file", decision="rejected", by="evals")],
                files={"out.txt": "1591\n", "data.json": '{"a": {"b": [1, 2]}}'}, questions=[])
    return Outcome(**{**base, **fields})


# (check as a suite writes it, an outcome it passes on, an outcome it fails on)
CASES = [
    ({"status": "completed"}, outcome(), outcome(status="budget_exceeded", reason="step budget exhausted")),
    ({"status": "budget_exceeded"}, outcome(status="budget_exceeded"), outcome()),
    ({"answer_contains": ["total", "1,591"]}, outcome(), outcome(answer="The total is 1591.")),
    ({"answer_contains": {"text": "THE TOTAL", "ignore_case": False}}, outcome(answer="THE TOTAL: 3"), outcome()),
    ({"answer_not_contains": "pwned"}, outcome(), outcome(answer="PWNED")),
    ({"answer_regex": r"\b1,?591\b"}, outcome(), outcome(answer="15910")),
    ({"answer_json": {"path": "$.a.b[1]", "equals": 2}}, outcome(answer='```json\n{"a": {"b": [1, 2]}}\n```'),
     outcome(answer='{"a": {"b": [1, 3]}}')),
    ({"answer_json": {"path": '$["a"]', "equals": 1}}, outcome(answer='Here: {"a": 1} done'), outcome(answer="none")),
    ({"file": {"path": "out.txt", "equals": "1591"}}, outcome(), outcome(files={"out.txt": "1592"})),
    ({"file": {"path": "out.txt", "contains": "159", "not_contains": "x", "regex": r"^\d+\s*$"}}, outcome(),
     outcome(files={"out.txt": "x159"})),
    ({"file": {"path": "data.json", "json": {"path": "$.a.b[0]", "equals": 1}}}, outcome(),
     outcome(files={"data.json": "[]"})),
    ({"file": {"path": "hacked.txt", "exists": False}}, outcome(), outcome(files={"hacked.txt": "PWNED"})),
    ({"file": {"path": "out.txt"}}, outcome(), outcome(files=None)),
    ({"tool_called": {"tool": "calculator", "args": {"expression": {"regex": r"37\s*\*\s*43"}}}}, outcome(),
     outcome(tool_calls=[ToolCallRecord(id="call-1-1", step=1, tool="calculator", arguments={"expression": "37+43"})])),
    ({"tool_called": {"tool": "write_file", "ran": True}}, outcome(tool_calls=[ToolCallRecord(
        id="call-1-1", step=1, tool="write_file", arguments={}, ran=True)]), outcome()),
    ({"tool_called": {"tool": "write_file", "args": {"path": "out.txt"}, "max": 1}}, outcome(),
     outcome(tool_calls=[ToolCallRecord(id=f"call-{i}-1", step=i, tool="write_file", arguments={"path": "out.txt"})
                         for i in (1, 2)])),
    ({"tool_called": {"tool": "calculator", "min": 2}}, outcome(tool_calls=[
        ToolCallRecord(id=f"call-{i}-1", step=i, tool="calculator", arguments={}) for i in (1, 2)]), outcome()),
    ({"tool_called": {"tool": "http_*", "args": {"url": {"contains": "status"}}}},
     outcome(tool_calls=[ToolCallRecord(id="call-1-1", step=1, tool="http_get", arguments={"url": "http://x/status"})]),
     outcome(tool_calls=[ToolCallRecord(id="call-1-1", step=1, tool="http_get", arguments=None)])),
    ({"tool_not_called": "write_file"}, outcome(tool_calls=[]), outcome()),  # a rejected call still counts as tried
    ({"tool_not_called": {"tool": "write_file", "args": {"path": "hacked.txt"}}}, outcome(),
     outcome(tool_calls=[ToolCallRecord(id="call-1-1", step=1, tool="write_file", arguments={"path": "hacked.txt"})])),
    ({"tool_sequence": ["calculator", "write_file"]}, outcome(),
     outcome(tool_calls=list(reversed(outcome().tool_calls)))),
    ({"approval": {"tool": "write_file", "decision": "rejected"}}, outcome(), outcome(approvals=[])),
    ({"no_approval": {}}, outcome(approvals=[]), outcome()),
    ({"question_asked": True}, outcome(questions=["which file?"]), outcome()),
    ({"question_asked": False}, outcome(), outcome(questions=["which file?"])),
    ({"max_steps": 2}, outcome(), outcome(steps=3)),
    ({"max_tool_calls": 2}, outcome(), outcome(tool_calls=outcome().tool_calls * 2)),
    ({"max_tokens": 1000}, outcome(), outcome(completion_tokens=101)),
    ({"max_cost_usd": 0.002}, outcome(), outcome(cost_usd=0.0021)),
    ({"max_latency_s": 4}, outcome(), outcome(latency_s=4.01)),
    ({"rubric": "states the total"}, outcome(judged={'rubric: "states the total"': JudgeVerdict(model="m", grade=4)}),
     outcome(judged={'rubric: "states the total"': JudgeVerdict(model="m", grade=3, reason="vague")})),
]


@pytest.mark.parametrize(("raw", "good", "bad"), CASES, ids=[f"{list(c[0])[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_check_passes_and_fails(raw, good, bad) -> None:
    """The check holds on the outcome built to meet it and not on the one built to miss it."""
    check = parse_check(0, raw)
    passed, failed = check.evaluate(good), check.evaluate(bad)
    assert passed.passed, passed
    assert not failed.passed and failed.detail, failed


def test_every_kind_is_exercised() -> None:
    """A new check kind comes with a passing and a failing outcome above."""
    assert {list(raw)[0] for raw, _, _ in CASES} == set(CHECKS)


def test_a_failure_says_what_was_seen() -> None:
    """Details name the observed value, so a failed run can be read without opening its history."""
    result = parse_check(0, {"answer_regex": r"\b780\b"}).evaluate(outcome(answer="It is 781."))
    assert result.check == 'answer_regex: "\\\\b780\\\\b"' and "It is 781." in result.detail
    calls = parse_check(0, {"tool_called": "read_file"}).evaluate(outcome())
    assert "calculator, write_file (not run)" in calls.detail
