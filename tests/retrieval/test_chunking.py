"""Chunking along headings and paragraphs, with overlap and exact offsets."""

from __future__ import annotations

from activities.retrieval.chunking import chunk_text

DOC = (
    "# Guide\n\nIntro paragraph about the engine.\n\n"
    "## Retries\n\n" + "\n\n".join(f"Paragraph {i} says retries back off exponentially, sentence {i}." for i in range(30))
    + "\n\n## Approvals\n\nApprovals wait for a person.\n\n" + ("One very long paragraph without breaks. " * 60)
)


def test_offsets_point_at_the_chunk_text() -> None:
    """Every chunk is exactly text[start:end] of the document."""
    chunks = chunk_text(DOC)
    assert len(chunks) > 4
    assert all(DOC[c.start : c.end] == c.text for c in chunks)
    assert all(len(c.text) <= 800 for c in chunks)


def test_chunks_follow_headings() -> None:
    """No chunk straddles a heading, and each knows its heading path."""
    chunks = chunk_text(DOC)
    approvals_at = DOC.index("## Approvals")
    assert not any(c.start < approvals_at < c.end for c in chunks)
    assert {c.section for c in chunks} == {"Guide", "Guide > Retries", "Guide > Approvals"}
    assert all(c.embedding_text().startswith(c.section) or c.text.startswith("#") for c in chunks)


def test_consecutive_chunks_overlap_within_a_section() -> None:
    """The next chunk of the same section repeats the tail of the previous one."""
    chunks = chunk_text(DOC)
    pairs = [(a, b) for a, b in zip(chunks, chunks[1:], strict=False) if a.section == b.section]
    assert pairs
    assert all(b.start < a.end for a, b in pairs)


def test_plain_text_without_breaks_is_split() -> None:
    """A single huge paragraph still yields bounded chunks covering all of it."""
    text = "word " * 2000
    chunks = chunk_text(text)
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    assert all(len(c.text) <= 800 for c in chunks)
