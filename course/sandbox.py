"""Start a student kernel under OS limits: `python -m course.sandbox --memory-mb M --threads T -- CMD...`.

It sets the limits on itself and then becomes CMD (exec), so the limits bind the kernel and
everything it starts. Only the standard library is imported, so the launch stays cheap.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys


def apply_limits(memory_mb: int, threads: int) -> None:
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # A core dump of a crashed kernel is never wanted, and can fill the disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="course.sandbox")
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    apply_limits(args.memory_mb, args.threads)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
