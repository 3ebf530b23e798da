"""The context engine: content by reference, transcript chains, token budgets, packing, compaction.

Modules, one job each: `contracts` (wire types the workflow carries), `blobs` (content-addressed
store), `transcript` (the transcript as a chain of stored entries), `references` (large tool outputs
by reference), `tokens` (counting per model), `packing` (priority-ordered, prefix-stable packs),
`summarize` (the compaction activity), `read` (CLI to print a stored item).
"""
