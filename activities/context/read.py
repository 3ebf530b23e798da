"""Print a stored item: `python -m activities.context.read <digest>` (or `--transcript <head>`).

The `state` query and history show digests and previews; this prints the whole content from the same
blob store the worker uses (AGENT_BLOB_STORE, else `<AGENT_DATA_DIR>/blobs`, else `.data/blobs`).
"""

from __future__ import annotations

import argparse
import json
import sys

from activities.context import transcript
from activities.context.blobs import BlobCorrupted, BlobNotFound, open_blob_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m activities.context.read", description=__doc__)
    parser.add_argument("digest", help="sha256:<hex> of a blob, or of a transcript head with --transcript")
    parser.add_argument("--store", default=None, help="blob store URL or directory (default: AGENT_BLOB_STORE)")
    parser.add_argument("--data-dir", default=None, help="data dir whose blobs/ to read (default: AGENT_DATA_DIR)")
    parser.add_argument("--transcript", action="store_true", help="print the chain's messages as JSON lines")
    args = parser.parse_args(argv)
    store = open_blob_store(args.store, data_dir=args.data_dir)
    try:
        if args.transcript:
            for message in transcript.load(store, args.digest):
                print(json.dumps(message.model_dump(exclude_none=True), ensure_ascii=False))
        else:
            sys.stdout.buffer.write(store.get(args.digest))
            sys.stdout.flush()
    except (BlobNotFound, BlobCorrupted, ValueError, transcript.TranscriptCorrupted) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
