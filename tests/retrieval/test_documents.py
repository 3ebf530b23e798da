"""Loading text, markdown, HTML and PDF files into plain text."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.retrieval.documents import UnsupportedDocument, discover, html_to_text, load
from tests.retrieval.pdf_fixture import write_pdf


def test_html_keeps_headings_and_drops_scripts() -> None:
    """Headings become markdown headings, inline tags keep word spacing, scripts and styles vanish."""
    text = html_to_text("<html><head><style>p{}</style></head><body><h2>Setup</h2>"
                        "<p>Run <b>the</b> worker.</p><script>alert(1)</script></body></html>")
    assert text == "## Setup\n\nRun the worker."


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    """A real PDF goes through pypdf and comes back as text."""
    pdf = write_pdf(tmp_path / "manual.pdf", ["Quorum reads need a majority of replicas.", "Second line."])
    doc = load(pdf, "manual.pdf")
    assert doc.kind == "pdf"
    assert "Quorum reads need a majority of replicas." in doc.text


def test_folder_discovery_is_stable_and_filtered(tmp_path: Path) -> None:
    """Supported files are found in sorted order with folder-relative sources; hidden and unknown files are not."""
    (tmp_path / "b.md").write_text("# B")
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "c.bin").write_bytes(b"\x00")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.md").write_text("hidden")
    sources = [source for _, source in discover(tmp_path)]
    assert sources == [f"{tmp_path.name}/a.txt", f"{tmp_path.name}/b.md"]


def test_broken_pdf_is_reported(tmp_path: Path) -> None:
    """A file that claims to be a PDF but is not raises UnsupportedDocument, not a crash."""
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf at all")
    with pytest.raises(UnsupportedDocument):
        load(bad, "bad.pdf")
