"""Long queries: cut into segments that each fit the embedder's window, so no part of the query is lost.

MiniLM reads 256 tokens; a 1-7 KB customer scenario is 250-1,700 tokens, so embedding it whole keeps
its first ~1,000 characters (often greeting and boilerplate) and drops the needs stated later. The
query is split at paragraph and sentence ends into segments of at most `SEGMENT_CHARS`; each is
embedded and searched, and the dense arm pools the per-segment results (see search.py, where the
pooling choices were measured). The sparse arm uses the whole query: BM25 has no window.
"""

from __future__ import annotations

import re

# ~600 characters is ~140 MiniLM tokens: one need or a short paragraph of a scenario.
SEGMENT_CHARS = 600
# A 7 KB query makes ~12 segments; beyond this the remainder is folded into the last ones' neighbours.
MAX_SEGMENTS = 16

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def segments(query: str, max_chars: int = SEGMENT_CHARS, max_segments: int = MAX_SEGMENTS) -> list[str]:
    """The query itself when it is short, else consecutive sentence groups of at most max_chars each."""
    query = query.strip()
    if len(query) <= max_chars:
        return [query]
    pieces: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.split(query)):
        while len(sentence) > max_chars:  # one run-on "sentence": cut at a space
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
    if len(out) > max_segments:  # keep every part of the query: merge neighbours pairwise, past the window
        size = -(-len(out) // max_segments)
        out = [" ".join(out[i : i + size]) for i in range(0, len(out), size)]
    return out
