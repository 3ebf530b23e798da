"""A run's files as the console serves them: a requested path is hostile until proven otherwise, and a file
is sent as what it is, never as something the browser would run."""

from __future__ import annotations

import os

import pytest

from worker.api.artifacts import ArtifactError, file_response, list_files, resolve


@pytest.fixture
def workspace(tmp_path):
    folder = tmp_path / "ws"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "a.md").write_text("# Title\n\n<script>alert(1)</script> [x](javascript:alert(1))\n")
    (folder / "page.html").write_text("<script>alert(1)</script>")
    (folder / "pic.svg").write_text("<svg onload='alert(1)'/>")
    (folder / ".outputs").mkdir()
    (folder / ".outputs" / "big.txt").write_text("tool's own")
    (tmp_path / "secret.txt").write_text("outside the workspace")
    os.symlink(tmp_path / "secret.txt", folder / "link.txt")
    os.symlink(tmp_path, folder / "up")
    return folder


@pytest.mark.parametrize("path", ["../secret.txt", "notes/../../secret.txt", "/etc/passwd", "link.txt",
                                  "up/secret.txt", ".outputs/big.txt", "notes", "missing.txt", "a\0b", ""])
def test_hostile_or_missing_paths_are_refused(workspace, path):
    with pytest.raises(ArtifactError):
        resolve(workspace, path)


def test_the_listing_leaves_out_links_and_the_tools_own_files(workspace):
    assert sorted(f.path for f in list_files(workspace)) == ["notes/a.md", "page.html", "pic.svg"]


def test_files_are_sent_as_what_they_are(workspace):
    markdown = file_response(workspace, "notes/a.md", download=False, render=True)
    html = markdown.body.decode()
    assert "<h1>Title</h1>" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "href=" not in html  # the javascript: link stays text
    assert markdown.headers["content-security-policy"].startswith("sandbox")
    assert file_response(workspace, "notes/a.md", download=False).media_type.startswith("text/plain")
    for runnable in ("page.html", "pic.svg"):  # a browser would run them: only ever a download
        response = file_response(workspace, runnable, download=False)
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["x-content-type-options"] == "nosniff"
