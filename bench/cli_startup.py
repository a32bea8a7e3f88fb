"""Cold start-up of the CLI: wall time of `nlp-pipeline --help` and friends, in new processes.

Prints JSON: the median and spread over `--runs` runs of each command, next to the time Python
itself takes to start and to import spaCy (what `--help` used to pay before imports were lazy).
Each command runs as `python -m nlp_pipeline.cli ...` from the checkout's root; `--checkout DIR`
times another tree the same way (e.g. an older commit: `git archive COMMIT | tar -x -C DIR`).
    python bench/cli_startup.py [--runs 11] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _time(cmd: list[str], runs: int, cwd: Path) -> dict[str, float]:
    subprocess.run(cmd, capture_output=True, check=False, cwd=cwd)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, cwd=cwd)
        times.append(time.perf_counter() - start)
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--checkout", type=Path, default=REPO, help="tree to time (default: this)")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "nlp_pipeline.cli"]
    commands = {
        "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
        "nlp-pipeline --help": [*cli, "--help"],
        "nlp-pipeline --version": [*cli, "--version"],
        "nlp-pipeline tag --help": [*cli, "tag", "--help"],
        "nlp-pipeline feeds list": [*cli, "feeds", "list"],
        "python -c 'import spacy' (for scale)": [sys.executable, "-c", "import spacy"],
    }
    results = {name: _time(cmd, args.runs, args.checkout) for name, cmd in commands.items()}
    print(
        json.dumps(
            {
                "checkout": str(args.checkout),
                "runs": args.runs,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": results,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
