"""Child processes that cannot outlive the `up` that started them, and output that survives a closed pipe.

`up` stops its children itself on every signal it can catch (see worker/demo.py). For the one it
cannot (SIGKILL, an OOM kill) each child asks the kernel, before exec, to send it SIGTERM when its
parent dies (Linux `prctl(PR_SET_PDEATHSIG)`). The kernel ties this to the *thread* that forked the
child, so `up` starts its children from the main thread only.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# Resolved in the parent: the child between fork and exec should do as little as possible.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when this process dies; None off Linux."""
    if _prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: nobody will signal us
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def silence_broken_output(stream) -> None:
    """Point the stream's descriptor, and any other standard descriptor on the same file, at /dev/null.

    After `up | tee` loses its tee (Ctrl-C reaches the whole pipeline) or the terminal closes, every
    write raises EPIPE or EIO; the shutdown must still run, and the interpreter's final flush must
    not fail either.
    """
    try:
        broken = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                same = os.fstat(fd)
            except OSError:
                continue
            if (same.st_dev, same.st_ino) == (broken.st_dev, broken.st_ino):
                os.dup2(null, fd)
    finally:
        os.close(null)
