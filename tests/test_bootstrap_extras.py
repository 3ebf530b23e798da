"""`up` installs only the agent path; `test` adds the test and inference extras, once."""

from __future__ import annotations

from worker import bootstrap


def test_up_installs_no_extras_and_test_adds_only_what_is_missing(tmp_path, monkeypatch):
    installed: list[tuple[str, ...]] = []
    monkeypatch.setattr(bootstrap, "VENV", tmp_path)
    monkeypatch.setattr(bootstrap, "pip", lambda *args, **_: installed.append(args))

    bootstrap.ensure_project(bootstrap.EXTRAS["up"])
    bootstrap.ensure_project(bootstrap.EXTRAS["up"])  # nothing new: no second install
    bootstrap.ensure_project(bootstrap.EXTRAS["test"])
    bootstrap.ensure_project(bootstrap.EXTRAS["up"])  # after `test`, `up` needs nothing more

    assert installed == [("-e", str(bootstrap.REPO)), ("-e", f"{bootstrap.REPO}[inference,test]")]
    assert "torch" not in " ".join(bootstrap.EXTRAS["up"])


def test_a_changed_pyproject_reinstalls_with_the_extras_asked_for(tmp_path, monkeypatch):
    installed: list[tuple[str, ...]] = []
    monkeypatch.setattr(bootstrap, "VENV", tmp_path)
    monkeypatch.setattr(bootstrap, "pip", lambda *args, **_: installed.append(args))
    (tmp_path / ".project-installed").write_text("an-older-digest inference test")

    bootstrap.ensure_project(bootstrap.EXTRAS["up"])

    assert installed == [("-e", str(bootstrap.REPO))]
