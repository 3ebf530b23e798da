"""Chunking along headings and paragraphs, with overlap and exact offsets."""

from __future__ import annotations

from activities.retrieval.chunking import MAX_CHARS, MERGE_SLACK, MIN_CHARS, chunk_text

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
    assert all(len(c.text) <= MAX_CHARS + MERGE_SLACK for c in chunks)


def test_chunks_follow_headings() -> None:
    """No chunk straddles a heading between two substantial sections, and each knows its heading path."""
    chunks = chunk_text(DOC)
    approvals_at = DOC.index("## Approvals")
    assert not any(c.start < approvals_at < c.end for c in chunks)
    # The one-line "Guide" intro is too short to stand alone: it is merged into the first section.
    assert {c.section for c in chunks} == {"Guide > Retries", "Guide > Approvals"}
    assert chunks[0].start == 0


def test_embedded_text_always_starts_with_the_title_and_heading_path() -> None:
    """Every chunk, including one that starts with its own heading line, embeds its document title and path."""
    doc = "# Card fees\n\n## Abroad\n\n" + "Paying abroad costs 2.5% of the amount. " * 30
    chunks = chunk_text(doc)
    assert chunks[0].text.startswith("# Card fees")
    assert all(c.embedding_text("Card fees").startswith("Card fees > Abroad\n") for c in chunks)
    assert not chunks[0].embedding_text("Card fees").split("\n", 1)[1].startswith("#")
    plain = chunk_text("Opening hours are nine to five on weekdays. " * 10)
    assert plain[0].embedding_text("Branch hours").startswith("Branch hours\n")


def test_no_lone_title_or_tiny_chunks() -> None:
    """A title line followed by a heading, and a one-line section, never become chunks of their own."""
    body = "Some sentence about overdraft limits and how they are reviewed. " * 8
    doc = (f"# Overdrafts\n\n## Limits\n\n{body}\n\n## Contact\n\nCall us.\n\n## Reviews\n\n{body}\n\n"
           "## See also\n")
    chunks = chunk_text(doc)
    assert all(c.body_chars >= MIN_CHARS for c in chunks)
    assert all(doc[c.start : c.end] == c.text for c in chunks)
    covered = "".join(doc[c.start : c.end] for c in chunks)
    assert "Call us." in covered and "## See also" in covered


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
