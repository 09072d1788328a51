"""The whole test suite on a busy machine: two CPU-bound busy loops (separate processes) run beside pytest.

    python -m bench.busy_tests                 # two loops, the whole suite
    python -m bench.busy_tests --loops 4 -- -x tests/app

Prints pytest's own summary, then the wall time and the load. The suite must pass here as on a quiet host:
tests wait on states and events with liveness ceilings, never on this host's speed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time


def _spin() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", type=int, default=2, help="CPU-bound busy loops beside the tests")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args()
    loops = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.loops)]
    for loop in loops:
        loop.start()
    started = time.monotonic()
    try:
        code = subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args])
    finally:
        for loop in loops:
            loop.kill()
    load = os.getloadavg()
    print(f"# {args.loops} busy loops on {os.cpu_count()} cores; pytest exit code {code}; "
          f"wall {time.monotonic() - started:.0f} s; load average at the end {load[0]:.1f}")  # fmt: skip
    return code


if __name__ == "__main__":
    sys.exit(main())
