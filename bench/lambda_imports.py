"""Lambda start-up benchmark: how long each handler takes to import (a cold-start proxy).

    python -m bench.lambda_imports [--runs 5]

Each import runs in a fresh interpreter with the environment the function gets, the median
of several runs is printed per handler, against the 300 ms target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300

# What each function's module reads at import time (values are placeholders: nothing is called).
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "MODEL_GROUP_RECORDS": "/bench/registry/model-groups",
    "DRIFT_ALARM_RECORDS": "/bench/registry/drift-alarms",
    "IDEMPOTENCY_TABLE": "bench",
    "PARAMETER_PREFIX": "/bench/models",
    "DEPLOYMENT_BUS_ARN": "arn:aws:events:eu-west-1:111111111111:event-bus/bench",
    "TOPIC_ARN": "arn:aws:sns:eu-west-1:111111111111:bench",
}

PROBE = """
import sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
import handler  # noqa: F401
print((time.perf_counter() - started) * 1000)
"""


def import_ms(function_dir: Path) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, str(function_dir)],
        env={**os.environ, **ENVIRONMENT},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.strip())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'function':<20} {'median ms':>10} {'worst ms':>10}  target {TARGET_MS} ms")
    for function_dir in sorted(path for path in (ROOT / "lambda").iterdir() if (path / "handler.py").exists()):
        times = [import_ms(function_dir) for _ in range(args.runs)]
        median = statistics.median(times)
        print(f"{function_dir.name:<20} {median:>10.0f} {max(times):>10.0f}  {'over' if median > TARGET_MS else 'ok'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
