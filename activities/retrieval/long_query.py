"""Long queries: cut into segments that each fit the embedder's window, so no part of the query is lost.

MiniLM reads 256 tokens; a 1-7 KB customer scenario is 250-1,700 tokens, so embedding it whole keeps
its first ~1,000 characters (often greeting and boilerplate) and drops the needs stated later. The
query is split at paragraphs, which is where people change subject, and paragraphs longer than
`SEGMENT_CHARS` at sentence ends; a very short paragraph ("Hi,") joins the next one. Each segment is
embedded and searched, and the dense arm pools the per-segment results (search.py). The sparse arm
uses the whole query: BM25 has no window.

Measured on the scenario sets (docs/retrieval.md): paragraph segments beat packing sentences up to
the window (recall@10 0.81 vs 0.74, MRR 0.95 vs 0.89), because a packed segment mixes a need with
the boilerplate around it; 300-character segments were no better than 600.
"""

from __future__ import annotations

import re

# ~600 characters is ~140 MiniLM tokens: one need or a short paragraph of a scenario.
SEGMENT_CHARS = 600
# A paragraph shorter than this ("Hi,", "Thanks!") is searched together with the next one.
SHORT_PARAGRAPH = 120
# A 7 KB query makes ~12 segments; beyond this, neighbours are merged so every part is still searched.
MAX_SEGMENTS = 16

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def segments(query: str, max_chars: int = SEGMENT_CHARS, max_segments: int = MAX_SEGMENTS) -> list[str]:
    """The query itself when it is short, else its paragraphs (long ones cut at sentence ends)."""
    query = query.strip()
    if len(query) <= max_chars:
        return [query]
    out: list[str] = []
    for paragraph in (p.strip() for p in _PARAGRAPH.split(query)):
        if not paragraph:
            continue
        for piece in _split_paragraph(paragraph, max_chars):
            if out and len(out[-1]) < SHORT_PARAGRAPH and len(out[-1]) + 1 + len(piece) <= max_chars:
                out[-1] = f"{out[-1]} {piece}"
            else:
                out.append(piece)
    if len(out) > max_segments:
        size = -(-len(out) // max_segments)
        out = [" ".join(out[i : i + size]) for i in range(0, len(out), size)]
    return out


def _split_paragraph(paragraph: str, max_chars: int) -> list[str]:
    """Sentences packed up to max_chars; a run-on sentence is cut at a space."""
    pieces: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.split(paragraph)):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + 1 + len(piece) <= max_chars:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out
