"""Print a stored item: `python -m worker.read <digest>` (or `--transcript <head>`).

The `state` query and history show digests and previews; this prints the whole content from the same
blob store the worker uses, found the way the worker finds it: AGENT_BLOB_STORE, else
`<AGENT_DATA_DIR>/blobs`, else the repository's `.data/blobs`, from whatever directory it is run.
It was `python -m activities.context.read`; it lives on the worker's side because it reads the
environment, and nothing under activities/ does (tests/test_lint.py).
"""

from __future__ import annotations

import json
import sys

import httpx

from activities.context import transcript
from activities.context.blobs import BlobCorrupted, BlobNotFound
from worker import cli
from worker.blobs import open_blob_store
from worker.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(prog="python -m worker.read", description=__doc__)
    parser.add_argument("digest", help="sha256:<hex> of a blob, or of a transcript head with --transcript")
    parser.add_argument("--store", default=None, help="blob store URL or directory (default: AGENT_BLOB_STORE)")
    parser.add_argument("--data-dir", default=None, help="data dir whose blobs/ to read (default: AGENT_DATA_DIR)")
    parser.add_argument("--transcript", action="store_true", help="print the chain's messages as JSON lines")
    args = parser.parse_args(argv)
    try:
        if args.store is None and args.data_dir is None:
            settings = load_settings()
            store = open_blob_store(settings.blob_store, data_dir=settings.data_dir)
        else:
            store = open_blob_store(args.store, data_dir=args.data_dir)
        if args.transcript:
            for message in transcript.load(store, args.digest):
                print(json.dumps(message.model_dump(exclude_none=True), ensure_ascii=False))
        else:
            sys.stdout.buffer.write(store.get(args.digest))
            sys.stdout.flush()
    # ValueError covers bad digests, settings and S3 credentials; httpx.HTTPError an unreachable S3 endpoint.
    except (BlobNotFound, BlobCorrupted, ValueError, SettingsError, transcript.TranscriptCorrupted,
            httpx.HTTPError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
