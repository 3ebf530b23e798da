"""One style for every command line of the project: argparse, `--help` prints the usage and exits 0, and
a bad argument is refused in one line (what is wrong, and where to look) with exit code 2, never a
traceback or a screen of usage. Every `python -m worker...` entry point builds its parser here."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def parser(prog: str, description: str, epilog: str | None = None) -> Parser:
    return Parser(prog=prog, description=description, epilog=epilog,
                  formatter_class=argparse.RawDescriptionHelpFormatter)
