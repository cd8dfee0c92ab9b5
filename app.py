#!/usr/bin/env python3
"""Composition root: read and validate the organization config, build every stage, run the gates.

The config is validated before aws_cdk is imported, so a bad file is reported in a
fraction of a second, as one list of problems and without a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stacks.config import ConfigError, OrgConfig, load_config

DEFAULT_CONFIG = "config/example.yaml"


def config_path_from_context() -> Path:
    """`cdk synth -c config=path` arrives as the CDK_CONTEXT_JSON environment variable."""
    context = json.loads(os.environ.get("CDK_CONTEXT_JSON", "{}"))
    return Path(context.get("config", DEFAULT_CONFIG))


def synthesize(config: OrgConfig) -> int:
    # aws_cdk (and jsii's Node process) is imported only once the config is known to be valid.
    from stacks import gates
    from stacks.composition import build, platform_app
    from stacks.nag_acknowledgements import acknowledgements

    app = platform_app()
    try:
        build(app, config)
    except gates.GateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        directory = Path(app.synth().directory)
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        # Run directly, the packs have already printed every finding; a traceback would add nothing.
        print("error: policy gates failed (findings above)", file=sys.stderr)
        return 1
    # Under the CDK CLI, synthesis does not fail on findings: the report decides.
    failed = gates.failures(directory) + gates.limit_violations(directory)
    if failed:
        print(f"error: gates failed with {len(failed)} finding(s):", file=sys.stderr)
        for line in failed:
            print(f"  - {line}", file=sys.stderr)
        return 1
    unused = gates.unused_acknowledgements(directory, acknowledgements(config))
    if unused:
        print(
            "error: nag acknowledgements that match no finding (remove them):",
            file=sys.stderr,
        )
        for ack in unused:
            print(f"  - {ack.finding} at {ack.path}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    try:
        config = load_config(config_path_from_context())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return synthesize(config)


if __name__ == "__main__":
    sys.exit(main())
