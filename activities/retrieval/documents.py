"""Load local files as plain text: text, markdown, HTML (stdlib parser) and PDF (pypdf).

HTML headings become markdown `#` lines and blocks become paragraphs, so one chunker serves every
format. Offsets recorded for chunks are offsets into this extracted text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
            ".html": "html", ".htm": "html", ".pdf": "pdf"}


class UnsupportedDocument(ValueError):
    """A file this loader cannot read (unknown type, unreadable PDF); ingestion skips it and says why."""


@dataclass(frozen=True)
class Document:
    source: str
    kind: str
    text: str


def discover(path: Path) -> Iterator[tuple[Path, str]]:
    """Yield (file, source name) for a file or every supported file under a folder, in a stable order."""
    path = path.resolve()
    if path.is_file():
        yield path, path.name
        return
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in file.relative_to(path).parts):
            continue  # .git, .venv and friends
        if file.suffix.lower() in SUFFIXES:
            yield file, f"{path.name}/{file.relative_to(path).as_posix()}"


def load(file: Path, source: str) -> Document:
    kind = SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise UnsupportedDocument(f"{source}: unsupported file type {file.suffix!r}")
    if kind == "pdf":
        return Document(source, kind, _pdf_text(file, source))
    raw = file.read_text(encoding="utf-8", errors="replace")
    return Document(source, kind, html_to_text(raw) if kind == "html" else raw)


def _pdf_text(file: Path, source: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(file)
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as e:
        raise UnsupportedDocument(f"{source}: unreadable PDF ({e})") from e
    # Pages become paragraphs, so no chunk boundary is forced inside a page.
    return "\n\n".join(p for p in pages if p)


_BLOCK = {"p", "div", "section", "article", "li", "ul", "ol", "table", "tr", "pre", "blockquote", "br",
          "header", "footer", "main", "dd", "dt"}
_SKIP = {"script", "style", "noscript", "template", "head", "svg"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _HEADINGS:
            self.parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _HEADINGS or tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            # Collapse whitespace but keep one space at the edges: inline tags must not glue words.
            self.parts.append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    paragraphs = (_SPACES.sub(" ", block).strip() for block in "".join(parser.parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p.strip("# "))
