"""Config loading benchmark: CPU time to load or refuse what a user could write.

    python -m bench.config_load

Prints, against the one-second target, the CPU time of: an organization near the loader's
value limit (150 teams, each with three accounts, a model, a monitored endpoint with a standby
and an API, and a batch job), and the slowest of the hostile files in tests/hostile_configs
(alias bombs, deep nesting, binary and oversized files among them). Tests prove what each
input ends in; this measures how long it takes, which depends on the machine.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from stacks.config import ConfigError, load_config, load_config_bytes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "example.yaml"
HOSTILE_CONFIGS = ROOT / "tests" / "hostile_configs"
TARGET_CPU_S = 1.0
TEAMS = 150


def organization_near_the_value_limit(teams: int = TEAMS) -> dict[str, Any]:
    """The example with `teams` more teams, each with its own dev, test and prod account, a
    model, an endpoint (recovery region, drift monitoring, Cognito API on a custom domain) and a
    daily batch job: every rule of the config meets each of them."""
    document: dict[str, Any] = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    document["landing_zone"]["create_accounts"] = False
    for i in range(teams):
        for offset, role in enumerate(("ml-dev", "ml-test", "ml-prod")):
            document["accounts"][f"{role}-{i}"] = {
                "id": f"{10**9 + 3 * i + offset:012d}",
                "roles": [role],
                "network": {"cidr": f"10.{100 + 20 * offset + i // 256}.{i % 256}.0/24"},
            }
        document["teams"][f"team-{i}"] = {
            "cost_center": "CC",
            "accounts": {"dev": f"ml-dev-{i}", "test": f"ml-test-{i}", "prod": f"ml-prod-{i}"},
            "users": [{"name": f"user-{j}"} for j in range(3)],
        }
        document["models"].append(
            {"name": f"model-{i}", "team": f"team-{i}", "metric": {"name": "auc", "threshold": 0.8}}
        )
        document["endpoints"].append(
            {
                "name": f"endpoint-{i}",
                "model": f"model-{i}",
                "variants": [{"name": "champion", "instance_type": "ml.m5.large"}],
                "recovery_region": "eu-central-1",
                "monitoring": {"drift_features": ["_c0", "_c1"]},
                "api": {
                    "authorization": "cognito",
                    "cognito_user_pool_arn": "arn:aws:cognito-idp:eu-west-1:777777777777:userpool/eu-west-1_Ch7rnP00l",
                    "custom_domain": {
                        "name": f"e{i}.ml.example.com",
                        "hosted_zone_id": "Z0123",
                        "hosted_zone_name": "ml.example.com",
                    },
                },
            }
        )
        document["batch_inference"].append({"name": f"batch-{i}", "model": f"model-{i}", "schedule": "rate(1 day)"})
    return document


def _cpu_seconds(load: Callable[[], object]) -> float:
    started = time.process_time()
    with contextlib.suppress(ConfigError):
        load()
    return time.process_time() - started


def main() -> None:
    large = yaml.safe_dump(organization_near_the_value_limit()).encode()
    load_config_bytes(large)  # botocore's data is read once per process, before any clock starts
    rows = [(f"organization of {TEAMS} more teams", _cpu_seconds(partial(load_config_bytes, large)))]
    hostile = {file.name: _cpu_seconds(partial(load_config, file)) for file in HOSTILE_CONFIGS.glob("*.yaml")}
    slowest = max(hostile, key=hostile.__getitem__)
    rows.append((f"slowest of {len(hostile)} hostile files ({slowest})", hostile[slowest]))
    print(f"| input | CPU s | target {TARGET_CPU_S:.0f} s |\n| --- | --- | --- |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {'met' if seconds < TARGET_CPU_S else 'missed'} |")


if __name__ == "__main__":
    main()
