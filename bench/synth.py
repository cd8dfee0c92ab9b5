"""Synthesis benchmark: generated organizations of growing size against a trivial app.

    python -m bench.synth [--quick] [--json results.json]

Each scenario runs `app.py` in a fresh process (jsii start-up included, as for an admin),
with every gate, into its own output directory; the trivial one-stack app measured in the
same run is the floor, and every time is also printed as a ratio to it, since this machine
is noisy. The floor and the example organization, which the targets compare, are measured
--repeats times, alternately, and their median runs are kept. A second trivial app, with
CDK's built-in CloudFormation validation off as the platform's app has it, shows what jsii
start-up alone costs. Prints a table and, with --json, writes the rows.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cli_context import app_context

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "example.yaml"
CONTEXT = app_context()
"""As the CDK CLI runs the app: the locked product versions' templates must match."""

TRIVIAL_APP = """
import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
app = cdk.App(builtin_cloud_formation_validation={validation})
ssm.StringParameter(cdk.Stack(app, "Trivial"), "Parameter", string_value="x")
app.synth()
"""
"""The floor: a one-stack app as `cdk init` makes it (validation on), or with CDK's built-in
validation off (stacks.composition.platform_app)."""


@dataclass
class Result:
    scenario: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    stacks: int
    resources: int
    largest_stack_resources: int
    largest_template_kb: float
    wall_x_floor: float = 0.0


def organization(users: int = 0, models: int = 0, endpoints: int = 0, accounts: int = 0) -> dict[str, Any]:
    """The example organization with `users` extra users in one team, `models` extra models,
    `endpoints` more models served like the example's first endpoint (monitored, drift-alarmed),
    and `accounts` more workload accounts: development accounts, each a new team's (of one
    user), which tests and serves in the example's ml-test and ml-prod accounts."""
    document: dict[str, Any] = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    document["teams"]["fraud"]["users"] += [{"name": f"user-{i:04}"} for i in range(users)]
    document["models"] += [
        {"name": f"model-{i:03}", "team": "churn", "metric": {"name": "auc", "threshold": 0.7}} for i in range(models)
    ]
    metric = {"name": "auc", "threshold": 0.7}
    served = [{"name": f"served-{i:03}", "team": "fraud", "metric": metric} for i in range(endpoints)]
    document["models"] += served
    template = document["endpoints"][0]
    document["endpoints"] += [{**template, "name": model["name"], "model": model["name"]} for model in served]
    for i in range(accounts):
        document["accounts"][f"ml-dev-{i:02}"] = {
            "id": f"9{i:011}",
            "email": f"aws+ml-dev-{i:02}@example.com",
            "roles": ["ml-dev"],
            "network": {"cidr": f"10.{100 + i}.0.0/16"},
        }
        document["teams"][f"team-{i:02}"] = {
            "cost_center": f"CC-9{i:03}",
            "accounts": {"dev": f"ml-dev-{i:02}", "test": "ml-test", "prod": "ml-prod"},
            "users": [{"name": f"lead-{i:02}", "persona": "ml-engineer"}],
        }
    return document


def run(scenario: str, command: list[str], environment: dict[str, str]) -> Result:
    with tempfile.TemporaryDirectory() as outdir:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = subprocess.run(
            command, cwd=ROOT, env={**os.environ, **environment, "CDK_OUTDIR": outdir}, capture_output=True, check=False
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if completed.returncode != 0:
            raise SystemExit(f"{scenario} failed:\n{completed.stderr.decode()[-2000:]}")
        templates = list(Path(outdir).glob("**/*.template.json"))
        counts = [len(json.loads(t.read_text()).get("Resources", {})) for t in templates]
        return Result(
            scenario=scenario,
            wall_s=round(wall, 2),
            cpu_s=round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
            peak_mb=round(after.ru_maxrss / 1024, 1),  # the largest child so far: runs go small to large
            stacks=len(templates),
            resources=sum(counts),
            largest_stack_resources=max(counts),
            largest_template_kb=round(max(t.stat().st_size for t in templates) / 1024, 1),
        )


def organization_run(scenario: str, document: dict[str, Any], directory: Path) -> Result:
    config = directory / f"{scenario}.yaml"
    config.write_text(yaml.safe_dump(document))
    context = json.dumps({**CONTEXT, "config": str(config)})
    return run(scenario, [sys.executable, "app.py"], {"CDK_CONTEXT_JSON": context})


def median(results: list[Result]) -> Result:
    """The run of median wall time."""
    return sorted(results, key=lambda result: result.wall_s)[len(results) // 2]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="floor, example org, +100 users, +10 models")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the floor and the example org (median)")
    args = parser.parse_args(argv)
    # (extra users, extra models, extra served and monitored models, extra workload accounts)
    quick = [(100, 0, 0, 0), (0, 10, 0, 0)]
    full = [(10, 0, 0, 0), (50, 0, 0, 0), (200, 0, 0, 0), (500, 0, 0, 0), (0, 10, 0, 0), (0, 50, 0, 0)]
    full += [(500, 50, 0, 0), (0, 0, 10, 0), (0, 0, 30, 0), (0, 0, 0, 6), (0, 0, 0, 26)]
    sizes = quick if args.quick else full
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        trivial, unvalidated = directory / "trivial.py", directory / "trivial_unvalidated.py"
        trivial.write_text(TRIVIAL_APP.format(validation=True))
        unvalidated.write_text(TRIVIAL_APP.format(validation=False))
        cli = {"CDK_CONTEXT_JSON": json.dumps(CONTEXT)}
        floors: list[Result] = []
        examples: list[Result] = []
        for _ in range(args.repeats):  # alternately: a slower spell of the machine slows both
            floors.append(run("trivial app (floor)", [sys.executable, str(trivial)], cli))
            examples.append(organization_run("example org", organization(), directory))
        results = [
            median(floors),
            run("trivial app, built-in validation off", [sys.executable, str(unvalidated)], cli),
            median(examples),
        ]
        for users, models, endpoints, accounts in sizes:
            counts = ((users, "users"), (models, "models"), (endpoints, "endpoints"), (accounts, "accounts"))
            scenario = " ".join(f"+{count} {what}" for count, what in counts if count)
            results.append(organization_run(scenario, organization(users, models, endpoints, accounts), directory))
    floor = results[0].wall_s
    for result in results:
        result.wall_x_floor = round(result.wall_s / floor, 2)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


def render(results: list[Result]) -> str:
    header = ["scenario", "wall s", "x floor", "cpu s", "peak MB", "stacks", "resources", "max/stack", "max KiB"]
    rows = [header] + [
        [
            r.scenario,
            f"{r.wall_s}",
            f"{r.wall_x_floor}",
            f"{r.cpu_s}",
            f"{r.peak_mb}",
            f"{r.stacks}",
            f"{r.resources}",
            f"{r.largest_stack_resources}",
            f"{r.largest_template_kb}",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
