"""Split a document into overlapping chunks along headings and paragraphs, keeping exact offsets.

A chunk is always a contiguous span `text[start:end]` of the extracted text, so a citation can point
back to it. Chunks follow headings (a section change is a topic change); inside a section, paragraphs
are packed up to `max_chars`, and each chunk after the first repeats the tail of the previous one
(`overlap_chars`), cut at a word boundary, so a sentence split across chunks is whole in one.

No degenerate chunks: a section that is only a heading line (a document title followed by its first
sub-heading) or shorter than `MIN_CHARS` is merged into its neighbour, because a lone title line or a
one-line stub embeds to a vector that matches everything a little and nothing well.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# ~800 characters is ~180 MiniLM tokens: under the model's 256-token window with the heading prefix.
MAX_CHARS = 800
OVERLAP_CHARS = 150
# Chunks whose body (heading lines aside) is shorter than this are merged with a neighbour.
MIN_CHARS = 200
# A merge may exceed max_chars by this much: ~1,000 characters still fit MiniLM's window with the title.
MERGE_SLACK = 200

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")
_LEADING_HEADINGS = re.compile(r"\A(?:[ \t]*#{1,6}[ \t]+[^\n]*(?:\n[ \t]*)*)+")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    section: str  # the heading path, e.g. "Architecture > Decisions"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def embedding_text(self, title: str = "") -> str:
        """What is embedded and indexed: always the document's title and heading path, then the body.

        `title` names the document when its text has no top heading (a .txt file: its file name). The
        chunk's own leading heading lines are dropped from the body, since the path already says them.
        """
        path = self.section
        if title and not (path == title or path.startswith(f"{title} > ")):
            path = f"{title} > {path}" if path else title
        body = _LEADING_HEADINGS.sub("", self.text)
        return f"{path}\n{body}" if path else body

    @property
    def body_chars(self) -> int:
        return len(_LEADING_HEADINGS.sub("", self.text).strip())


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def chunk_text(text: str, max_chars: int = MAX_CHARS, overlap_chars: int = OVERLAP_CHARS,
               min_chars: int = MIN_CHARS) -> list[Chunk]:
    if overlap_chars >= max_chars // 2:
        raise ValueError(f"overlap_chars ({overlap_chars}) must be under half of max_chars ({max_chars})")
    spans: list[tuple[int, int, str]] = []
    # Long paragraphs are cut shorter than max_chars so that the overlap always fits in front of a piece.
    for section, units in _sections(text, max_chars - overlap_chars):
        for start, end in _pack(text, units, max_chars, overlap_chars):
            spans.append((start, end, section))
    spans = _merge_small(text, spans, min_chars, max_chars + MERGE_SLACK)
    return [Chunk(i, start, end, text[start:end], section) for i, (start, end, section) in enumerate(spans)]


def _body_len(text: str) -> int:
    return len(_LEADING_HEADINGS.sub("", text).strip())


def _merge_small(text: str, spans: list[tuple[int, int, str]], min_chars: int,
                 limit: int) -> list[tuple[int, int, str]]:
    """Merge each chunk with a short body into the next chunk (else the previous) while the span fits.

    The merged chunk keeps the heading path of the part with the longer body: a lone title line
    merged into its first section is described by that section's path, which starts with the title.
    """
    out = list(spans)
    i = 0
    while i < len(out) and len(out) > 1:
        start, end, section = out[i]
        small = _body_len(text[start:end])
        if small >= min_chars:
            i += 1
            continue
        for j in (i + 1, i - 1):
            if not 0 <= j < len(out):
                continue
            a, b = (out[i], out[j]) if j > i else (out[j], out[i])
            if b[1] - a[0] > limit:
                continue
            other = out[j]
            keep = other[2] if _body_len(text[other[0]:other[1]]) >= small else section
            out[min(i, j)] = (a[0], b[1], keep)
            del out[max(i, j)]
            i = max(min(i, j) - 1, 0)  # the merged chunk may itself still be small
            break
        else:
            i += 1
    return out


def _paragraphs(text: str) -> list[_Span]:
    spans, pos = [], 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        spans.append(_Span(pos, m.start()))
        pos = m.end()
    spans.append(_Span(pos, len(text)))
    out = []
    for s in spans:  # trim whitespace so offsets point at text, not blank lines
        raw = text[s.start : s.end]
        lead = len(raw) - len(raw.lstrip())
        trail = len(raw) - len(raw.rstrip())
        if s.end - trail > s.start + lead:
            out.append(_Span(s.start + lead, s.end - trail))
    return out


def _sections(text: str, max_chars: int) -> list[tuple[str, list[_Span]]]:
    """Group paragraphs under their heading path; a heading line opens a new section."""
    sections: list[tuple[str, list[_Span]]] = []
    path: list[tuple[int, str]] = []
    current: list[_Span] = []
    title = ""
    for para in _paragraphs(text):
        first_line = text[para.start : para.end].split("\n", 1)[0]
        heading = _HEADING.match(first_line)
        if heading:
            if current:
                sections.append((title, current))
            level = len(heading.group(1))
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, heading.group(2).strip())]
            title = " > ".join(t for _, t in path)
            current = []
        current.extend(_split_long(text, para, max_chars))
    if current:
        sections.append((title, current))
    return sections


def _split_long(text: str, span: _Span, max_chars: int) -> list[_Span]:
    """Cut a paragraph longer than max_chars at sentence ends (or spaces) into pieces that fit."""
    out, start = [], span.start
    while span.end - start > max_chars:
        window = text[start : start + max_chars]
        cut = max((m.end() for m in _SENTENCE_END.finditer(window)), default=0)
        if cut < max_chars // 2:
            cut = window.rfind(" ") + 1 if window.rfind(" ") > max_chars // 2 else max_chars
        out.append(_Span(start, start + cut))
        start += cut
        while start < span.end and text[start].isspace():
            start += 1
    if span.end > start:
        out.append(_Span(start, span.end))
    return out


def _pack(text: str, units: list[_Span], max_chars: int, overlap_chars: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = units[0].start
    end = units[0].end
    for unit in units[1:]:
        if unit.end - start <= max_chars:
            end = unit.end
            continue
        out.append((start, end))
        start = _overlap_start(text, end, overlap_chars, floor=start)
        if unit.end - start > max_chars:  # the overlap would make this chunk too long: drop it
            start = unit.start
        end = unit.end
    out.append((start, end))
    return out


def _overlap_start(text: str, end: int, overlap_chars: int, floor: int) -> int:
    """Where the next chunk starts: about overlap_chars before `end`, moved forward to a word start."""
    pos = max(end - overlap_chars, floor)
    if pos > floor and not text[pos - 1].isspace():
        nxt = re.search(r"\s", text[pos:end])
        pos = pos + nxt.start() if nxt else end
    while pos < end and text[pos].isspace():
        pos += 1
    return pos
