"""cfn-lint over every template of the cloud assembly, on every core (make synth).

    python -m tools.lint_templates

The templates and ignored checks are .cfnlintrc.yaml's, as for the `cfn-lint` command; the
files are split into one share per core, balanced by size, and linted in parallel, since
cfn-lint runs on one core and takes most of `make synth` after the synthesis itself. Prints
every finding and exits non-zero when there is one, as `cfn-lint` does.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from cfnlint.api import ManualArgs, lint_by_config

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / ".cfnlintrc.yaml"


def shares(files: list[Path], count: int) -> list[list[Path]]:
    """`files` in at most `count` shares of about equal size: largest first, each to the lightest share."""
    sizes = [0] * max(1, min(count, len(files)))
    members: list[list[Path]] = [[] for _ in sizes]
    for path in sorted(files, key=lambda path: (-path.stat().st_size, path)):
        lightest = sizes.index(min(sizes))
        sizes[lightest] += path.stat().st_size
        members[lightest].append(path)
    return [sorted(share) for share in members if share]


def _lint(files: list[Path]) -> list[str]:
    settings = yaml.safe_load(SETTINGS.read_text(encoding="utf-8"))
    arguments = ManualArgs(templates=[str(path) for path in files], ignore_checks=settings.get("ignore_checks", []))
    if "regions" in settings:
        arguments["regions"] = settings["regions"]
    return [str(match) for match in lint_by_config(arguments)]


def main() -> int:
    settings = yaml.safe_load(SETTINGS.read_text(encoding="utf-8"))
    files = sorted({path for pattern in settings["templates"] for path in ROOT.glob(pattern)})
    if not files:
        print(f"error: no templates match {settings['templates']}: synthesize first", file=sys.stderr)
        return 1
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        findings = [finding for found in pool.map(_lint, shares(files, os.cpu_count() or 1)) for finding in found]
    for finding in findings:
        print(finding)
    print(f"cfn-lint: {len(files)} templates, {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
