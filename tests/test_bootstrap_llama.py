"""The llama-cpp-python build that `up` and `test` run in the background: started only when no wheel
is cached, and a failed build stops the set-up with its log, never a half-installed environment."""

from __future__ import annotations

import pytest

from worker import bootstrap


def test_a_cached_wheel_starts_no_build(tmp_path, monkeypatch):
    monkeypatch.setattr(bootstrap, "CACHE", tmp_path)
    monkeypatch.setattr(bootstrap, "importable", lambda _module: False)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / f"llama_cpp_python-{bootstrap.LLAMA_VERSION}-py3-none-linux_x86_64.whl").touch()

    build = bootstrap.LlamaBuild()

    assert build.process is None
    build.wait()  # nothing to wait for


def test_a_failed_build_stops_the_set_up_naming_its_log(tmp_path, monkeypatch, capsys):
    # The child process reads these from its environment: a virtualenv that does not exist makes
    # its first step (fetching the sdist with the venv's pip) fail.
    monkeypatch.setenv("AGENT_VENV", str(tmp_path / "no-venv"))
    monkeypatch.setenv("AGENT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(bootstrap, "VENV", tmp_path / "no-venv")
    monkeypatch.setattr(bootstrap, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(bootstrap, "importable", lambda _module: False)

    build = bootstrap.LlamaBuild()
    assert build.process is not None
    with pytest.raises(SystemExit) as stopped:
        build.wait()

    log = tmp_path / "cache" / "llama-build.log"
    assert str(stopped.value) == f"[setup] failed: building llama-cpp-python (log: {log})"
    assert "no-venv" in log.read_text()  # the child's own error, kept for the user
    assert not list((tmp_path / "cache" / "wheels").glob("*.whl"))
