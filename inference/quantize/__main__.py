"""``python -m inference.quantize IN_DIR OUT_DIR``: quantize a checkpoint to block FP8."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inference.quantize",
        description="Quantize a bf16/fp16 safetensors checkpoint to DeepSeek-V3 style 128x128 block FP8.",
    )
    parser.add_argument("in_dir", metavar="IN_DIR")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else CPU)")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available() and (args.device is None or not args.device.startswith("cuda")):
        # Triton reads this when it is first imported, which convert() does lazily.
        os.environ.setdefault("TRITON_INTERPRET", "1")
        print("no CUDA device: running on CPU (slow; fine for small checkpoints)", file=sys.stderr)

    from inference.quantize import convert

    try:
        convert(args.in_dir, args.out_dir, device=args.device, log=print)
    except ValueError as e:  # UnsupportedCheckpoint included: a refusal, not a crash
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
