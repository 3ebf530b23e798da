"""Suite files: the starter suite is valid and complete, and a broken file is refused with a message
that names the file, the case and the field. The oracle decides from the request alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from worker.evals.oracle import WRONG_ANSWER, OracleResponder
from worker.evals.suite import SuiteError, load_suite
from worker.settings import REPO_ROOT
from workflows.contracts import RunRequest, system_message

STARTER = REPO_ROOT / "evals" / "starter.yaml"


def write_suite(tmp_path: Path, *cases: dict, **top: object) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "cases": list(cases), **top}, sort_keys=False))
    return path


def case(**fields: object) -> dict:
    return {"id": "calc", "goal": "compute 2+2", "checks": [{"answer_contains": "4"}],
            "oracle": [{"call": "calculator", "args": {"expression": "2+2"}}, {"answer": "4"}], **fields}


def refusal(path: Path) -> str:
    with pytest.raises(SuiteError) as e:
        load_suite(path)
    return str(e.value)


def test_the_starter_suite_is_complete() -> None:
    """At least 30 cases, each with an oracle, over every bundled tool family, with a CI subset."""
    suite = load_suite(STARTER)
    assert len(suite.cases) >= 30 and all(c.oracle for c in suite.cases)
    tags = {t for c in suite.cases for t in c.tags}
    assert {"calculator", "files", "approval", "knowledge", "http", "injection", "multi-step", "question",
            "ci"} <= tags
    called = {a.call for c in suite.cases for a in c.oracle if a.call}
    assert {"calculator", "list_files", "read_file", "write_file", "append_file", "search_knowledge",
            "http_get"} <= called
    assert 6 <= len(suite.select(["ci"])) <= 10


def test_placeholders_are_filled_everywhere(tmp_path: Path) -> None:
    """{http} becomes the fixture server's URL in goals, checks and oracle arguments alike."""
    suite = load_suite(STARTER, http_base="http://127.0.0.1:9")
    [http] = suite.select(["http-status-json"])
    assert http.goal.startswith("Fetch http://127.0.0.1:9/status.json")
    assert http.oracle[0].args == {"url": "http://127.0.0.1:9/status.json"}
    assert "127.0.0.1:9/status.json" in json.dumps(http.model_dump(mode="json")["checks"])


@pytest.mark.parametrize(("change", "expected"), [
    ({"goall": "x"}, "case 'calc' (cases[0]): goall: unknown field (did you mean 'goal'?)"),
    ({"checks": [{"answer_contains": "4"}, {"answer_regex": "x("}]},
     "case 'calc' (cases[0]): checks: checks[1]: answer_regex: pattern: invalid regex 'x('"),
    ({"checks": [{"tool_called": {"tool": "calculator", "times": 2}}]},
     "case 'calc' (cases[0]): checks: checks[0]: tool_called: times: unknown field"),
    ({"checks": [{"answer_match": "4"}]}, "checks[0]: unknown check 'answer_match'; known: answer_contains"),
    ({"checks": [{"rubric": {"criteria": "polite", "pass_grade": 0}}]}, "checks[0]: rubric: pass_grade:"),
    ({"checks": [{"file": {"path": "a", "exists": False, "contains": "x"}}]},
     "exists: false cannot be combined with checks on the content"),
    ({"checks": []}, "case 'calc' (cases[0]): checks: a case needs at least one check"),
    ({"oracle": [{"answer": "4"}, {"call": "calculator"}]}, "oracle: the last action, and only the last, is the answer"),
    ({"oracle": [{"call": "calculator", "answer": "4"}]}, "oracle.0: an oracle action is exactly one of call"),
    ({"files": {"../escape.txt": "x"}}, "case 'calc': not a valid run request: files: '../escape.txt'"),
    ({"budgets": {"max_step": 3}}, "case 'calc': not a valid run request: max_step: unknown field"),
    ({"id": "has space"}, "case 'has space' (cases[0]): id: String should match pattern"),
])
def test_a_broken_case_is_named_with_its_field(tmp_path: Path, change: dict, expected: str) -> None:
    """The error names the file, the case (id and index) and the field, and says what is wrong."""
    path = write_suite(tmp_path, case(**change))
    message = refusal(path)
    assert message.startswith(str(path)) and expected in message, message


def test_duplicates_and_missing_folders_are_refused(tmp_path: Path) -> None:
    """Ids and goals are unique (the oracle finds a case by its goal); named folders exist."""
    assert "cases 'calc' and 'again' have the same goal (the oracle finds a case by its goal)" in refusal(
        write_suite(tmp_path, case(), case(id="again")))
    assert "cases 'calc' and 'calc' have the same id" in refusal(write_suite(tmp_path, case(), case(goal="other")))
    assert "knowledge: no folder" in refusal(write_suite(tmp_path, case(), knowledge="nowhere"))
    assert "defaults: approval_risk_level: Input should be less than or equal to 5" in refusal(
        write_suite(tmp_path, case(), defaults={"approval_risk_level": 9}))


def test_yaml_errors_and_selections_say_where(tmp_path: Path) -> None:
    """A YAML syntax error gives its line; a --cases pattern that matches nothing is named."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\ncases:\n  - id: a\n    goal: [unclosed\n")
    assert f"{path}: line 5" in refusal(path)
    with pytest.raises(SuiteError, match=r"no case id or tag matches \['nope\*'\]"):
        load_suite(STARTER).select(["calc-*", "nope*"])


def test_check_command_validates_a_file(tmp_path: Path) -> None:
    """`python -m worker.evals check` lists the cases of a good file and exits 2 on a bad one."""
    good = subprocess.run([sys.executable, "-m", "worker.evals", "check", str(STARTER)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "cases, valid" in good.stdout
    bad = subprocess.run([sys.executable, "-m", "worker.evals", "check", str(write_suite(tmp_path, case(goall="x")))],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "did you mean 'goal'" in bad.stderr and "Traceback" not in bad.stderr


def body(goal: str, *turns: tuple[str, str]) -> dict:
    messages = [{"role": "system", "content": "tools..."}, {"role": "user", "content": f"Goal: {goal}"}]
    return {"model": "oracle", "messages": messages + [{"role": r, "content": c} for r, c in turns]}


def test_the_oracle_decides_from_the_request_alone() -> None:
    """The case comes from the goal and the next action from the results the prompt holds; the same
    request always gets the same reply, and a quoted 'Result of tool' inside a result is one turn."""
    suite = load_suite(STARTER)
    oracle = OracleResponder(suite)
    goal = next(c.goal for c in suite.cases if c.id == "calc-chain")
    first = json.loads(oracle(body(goal)))
    assert first == {"action": "call_tool", "tool": "calculator", "arguments": {"expression": "17*23"}}
    assert json.loads(oracle(body(goal))) == first
    after_one = body(goal, ("assistant", "{}"), ("user", "Result of tool calculator (call-1-1) ... Result of tool x"))
    assert json.loads(oracle(after_one))["arguments"] == {"expression": "391+389"}
    after_two = body(goal, ("user", "Result of tool calculator (call-1-1)"), ("user", "Result of tool calculator"))
    assert json.loads(oracle(after_two))["action"] == "final_answer"
    assert "no case has the goal" in json.loads(oracle(body("something else")))["answer"]
    assert json.loads(OracleResponder(suite, "no_tools")(body(goal)))["action"] == "final_answer"
    assert json.loads(OracleResponder(suite, "wrong_answer")(after_two))["answer"] == WRONG_ANSWER


def test_instructions_reach_the_system_prompt_and_only_when_given(tmp_path: Path) -> None:
    """A prompt variant under test: the suite's (or --instructions') text ends the system prompt; without
    it the prompt is what every recorded history was made with."""
    plain = load_suite(write_suite(tmp_path, case()))
    told = load_suite(write_suite(tmp_path, case(), defaults={"instructions": "Answer in French."}))
    assert system_message(plain.request(plain.cases[0])).content == system_message(RunRequest(goal="x")).content
    assert system_message(told.request(told.cases[0])).content.endswith("\nInstructions: Answer in French.")
    with pytest.raises(ValueError, match="8000"):
        RunRequest(goal="x", instructions="x" * 8001)
    missing = subprocess.run([sys.executable, "-m", "worker.evals", "run", str(STARTER), "--oracle", "--instructions",
                              str(tmp_path / "nope.txt")], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--instructions: cannot read" in missing.stderr and "Traceback" not in missing.stderr
