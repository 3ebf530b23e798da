"""A token-level radix tree model of a server's prefix cache, and a replay that measures reuse.

SGLang's RadixAttention and vLLM's prefix caching keep the KV state of earlier prompts in a tree keyed
by token ids; a new prompt skips prefill for its longest prefix already in the tree. llama.cpp's
server keeps one slot: only the previous prompt's prefix is reused. `replay` runs a recorded run's
prompts through such a cache and reports how many prompt tokens it would have served from cache.

Definitions (per step i, prompt p_i of |p_i| tokens):
- cached_i: tokens of p_i's longest prefix found in the cache before p_i is inserted.
- reuse ratio = sum(cached_i) / sum(|p_i|).
- best_i = max over j < i of LCP(p_i, p_j), the longest common prefix with ANY earlier prompt of the
  run (0 for the first prompt). best ratio = sum(best_i) / sum(|p_i|). No cache, however large or
  however it evicts, can serve more of these prompts; an unbounded radix cache reaches it exactly.
  For an append-only run (p_{i-1} is a prefix of p_i) best_i = |p_{i-1}|. The best ratio is for
  these prompts: a better layout (stable prefix first) raises it; a cache policy can only reach it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(eq=False)
class _Node:
    key: tuple[int, ...] = ()
    parent: _Node | None = None
    children: dict[int, _Node] = field(default_factory=dict)
    last_access: int = 0

    def up(self) -> _Node:
        """The parent of a node below the root; only the root has none, and it is never split or evicted."""
        if self.parent is None:
            raise ValueError("the root has no parent")
        return self.parent


class RadixCache:
    """Token sequences in a radix tree; optional capacity in tokens with LRU eviction of leaves."""

    def __init__(self, capacity_tokens: int | None = None) -> None:
        if capacity_tokens is not None and capacity_tokens <= 0:
            raise ValueError("capacity_tokens must be positive (or None for unbounded)")
        self.capacity_tokens = capacity_tokens
        self.root = _Node()
        self.size_tokens = 0
        self._clock = 0  # a logical clock, so eviction order is deterministic

    def match(self, tokens: Sequence[int]) -> int:
        """Length of the longest prefix of `tokens` stored in the tree (touches the matched path)."""
        self._clock += 1
        node, matched = self.root, 0
        while matched < len(tokens):
            child = node.children.get(tokens[matched])
            if child is None:
                break
            common = _common(child.key, tokens, matched)
            child.last_access = self._clock
            matched += common
            if common < len(child.key):
                break
            node = child
        return matched

    def insert(self, tokens: Sequence[int]) -> int:
        """Insert `tokens`; return how many were already present (the cached prefix). Then evict."""
        self._clock += 1
        node, pos = self.root, 0
        tokens = tuple(tokens)
        while pos < len(tokens):
            child = node.children.get(tokens[pos])
            if child is None:
                leaf = _Node(key=tokens[pos:], parent=node, last_access=self._clock)
                node.children[tokens[pos]] = leaf
                self.size_tokens += len(leaf.key)
                break
            common = _common(child.key, tokens, pos)
            child.last_access = self._clock
            if common < len(child.key):
                child = self._split(child, common)
            pos += common
            node = child
        cached = pos
        self._evict()
        return cached

    def _split(self, child: _Node, at: int) -> _Node:
        """Split `child`'s edge after `at` tokens; return the new upper node."""
        parent = child.up()
        upper = _Node(key=child.key[:at], parent=parent, last_access=child.last_access)
        parent.children[child.key[0]] = upper
        child.key = child.key[at:]
        child.parent = upper
        upper.children[child.key[0]] = child
        return upper

    def _evict(self) -> None:
        if self.capacity_tokens is None:
            return
        while self.size_tokens > self.capacity_tokens:
            leaf = min(self._leaves(), key=lambda n: n.last_access, default=None)
            if leaf is None:
                return
            parent = leaf.up()
            del parent.children[leaf.key[0]]
            self.size_tokens -= len(leaf.key)
            # A parent left with one child and no own use is merged back, keeping the tree compact.
            if parent is not self.root and len(parent.children) == 1:
                (only,) = parent.children.values()
                parent.key = parent.key + only.key
                parent.children = only.children
                for grandchild in parent.children.values():
                    grandchild.parent = parent
                parent.last_access = max(parent.last_access, only.last_access)

    def _leaves(self) -> list[_Node]:
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            if node.children:
                stack.extend(node.children.values())
            elif node is not self.root:
                out.append(node)
        return out


def _common(key: tuple[int, ...], tokens: Sequence[int], start: int) -> int:
    n = min(len(key), len(tokens) - start)
    i = 0
    while i < n and key[i] == tokens[start + i]:
        i += 1
    return i


@dataclass(frozen=True)
class StepReuse:
    prompt_tokens: int
    cached_tokens: int
    best_tokens: int


@dataclass(frozen=True)
class ReplayReport:
    steps: list[StepReuse]
    mode: str

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.steps)

    @property
    def cached_tokens(self) -> int:
        return sum(s.cached_tokens for s in self.steps)

    @property
    def best_tokens(self) -> int:
        return sum(s.best_tokens for s in self.steps)

    @property
    def reuse_ratio(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def best_ratio(self) -> float:
        return self.best_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


def replay(
    prompts: Sequence[Sequence[int]],
    mode: Literal["radix", "single_slot"] = "radix",
    capacity_tokens: int | None = None,
) -> ReplayReport:
    """Replay prompts in order through a cache: "radix" (SGLang-like, optional capacity) or
    "single_slot" (llama.cpp's server: only the previous prompt is reused)."""
    cache = RadixCache(capacity_tokens) if mode == "radix" else None
    best = RadixCache()  # unbounded: its match is the LCP with any earlier prompt
    steps: list[StepReuse] = []
    previous: Sequence[int] = ()
    for prompt in prompts:
        best_tokens = best.insert(prompt)
        if cache is not None:
            cached = cache.insert(prompt)
        else:
            cached = _common(tuple(previous), prompt, 0)
            previous = prompt
        steps.append(StepReuse(prompt_tokens=len(prompt), cached_tokens=cached, best_tokens=best_tokens))
    return ReplayReport(steps=steps, mode=mode if capacity_tokens is None else f"{mode}[{capacity_tokens}]")
