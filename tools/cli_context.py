"""The context the CDK CLI gives `app.py`, for runs without the CLI (tests, benchmarks).

Templates synthesized with it match `cdk synth`'s byte for byte, so tests see what the CLI
makes: the released Service Catalog product templates (product-releases/) are compared with
both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}
"""What the CLI adds to cdk.json's context on every synth."""


def app_context() -> dict[str, Any]:
    """cdk.json's context (feature flags) and the CLI's own."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, **CLI_CONTEXT}
