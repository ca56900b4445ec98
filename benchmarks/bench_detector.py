"""Detector benchmark, the same as ``repsense bench``: ``python benchmarks/bench_detector.py [--quick] [--out FILE]``."""

from __future__ import annotations

import sys

from repsense.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
