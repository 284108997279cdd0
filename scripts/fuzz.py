#!/usr/bin/env python3
"""Run the fuzz properties of tests/test_fuzz.py for longer than CI does.

    .venv/bin/python scripts/fuzz.py                 # 2000 random examples per property
    .venv/bin/python scripts/fuzz.py --examples 20000 -k wav

CI runs the same properties with 40 fixed (derandomized) examples each; here every run draws new
random examples, so repeated runs keep exploring. A failure prints the smallest input hypothesis found.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000, help="examples per property (default 2000)")
    parser.add_argument("-k", metavar="EXPR", help="only properties whose name matches (pytest -k)")
    args = parser.parse_args()
    env = dict(os.environ, FUZZ_EXAMPLES=str(args.examples), FUZZ_RANDOM="1")
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_fuzz.py"), "-q", "-p", "no:cacheprovider",
           "--durations=0"]
    if args.k:
        cmd += ["-k", args.k]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
