"""One bound for the per-text caches of the model path.

Each step renders, checks and serializes the whole transcript again; the same texts come back every
step, so each of these functions of a text is cached. The bound is in entries: tool results are
inlined up to 16 KB (larger ones travel by reference), so 4,096 entries hold a few long runs'
transcripts in tens of MB, and at worst about 64 MB per cache. A miss only costs the recomputation.
"""

from __future__ import annotations

from functools import lru_cache

per_text = lru_cache(maxsize=4096)
