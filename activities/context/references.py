"""Large tool outputs travel by reference: stored once, replaced by digest + size + preview.

`tools.execute` calls `reference_if_large` on every result, so a 5 MB output is one blob and a few
hundred bytes in history instead of a PayloadsTooLarge failure. The model sees the preview and the
digest; a person reads the whole item with `python -m worker.read <digest>`.
"""

from __future__ import annotations

import json
from typing import Any

from activities.context.blobs import BlobStore
from workflows.contracts import ToolResult, canonical_json
from workflows.contracts.context import BlobRef, preview

DEFAULT_THRESHOLD_BYTES = 16_384
REF_KEY = "$ref"


def reference_if_large(
    store: BlobStore, result: ToolResult, threshold_bytes: int = DEFAULT_THRESHOLD_BYTES
) -> tuple[ToolResult, BlobRef | None]:
    """Return the result unchanged when its data is small, else with `data` replaced by a reference."""
    if result.data is None or is_reference(result.data):
        return result, None
    text = result.data if isinstance(result.data, str) else canonical_json(result.data)
    media_type = "text/plain; charset=utf-8" if isinstance(result.data, str) else "application/json"
    raw = text.encode("utf-8")
    if len(raw) <= threshold_bytes:
        return result, None
    ref = BlobRef(digest=store.put(raw), size=len(raw), media_type=media_type, preview=preview(text))
    data = {REF_KEY: ref.digest, "size": ref.size, "media_type": ref.media_type, "preview": ref.preview}
    return result.model_copy(update={"data": data}), ref


def is_reference(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get(REF_KEY), str) and set(data) <= {
        REF_KEY, "size", "media_type", "preview"}


def resolve(store: BlobStore, data: Any) -> Any:
    """The referenced content (parsed JSON or text) of a referenced `data`; other data as is."""
    if not is_reference(data):
        return data
    raw = store.get(data[REF_KEY])
    if data.get("media_type", "").startswith("application/json"):
        return json.loads(raw)
    return raw.decode("utf-8")


def prompt_text(data: Any) -> str:
    """How a referenced output reads in a prompt: what it is, how big, where to find it, its start."""
    if not is_reference(data):
        return data if isinstance(data, str) else canonical_json(data)
    return (f"[stored output {data[REF_KEY]}, {data.get('size', 0)} bytes, not shown in full; "
            f"it begins: {data.get('preview', '')}]")
