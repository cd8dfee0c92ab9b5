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

from stacks.config import ConfigError, OrgConfig, load_config, rules

DEFAULT_CONFIG = "config/example.yaml"


def cli_context() -> dict[str, object]:
    """`cdk synth -c key=value` arrives as the CDK_CONTEXT_JSON environment variable."""
    context: dict[str, object] = json.loads(os.environ.get("CDK_CONTEXT_JSON", "{}"))
    return context


def config_path_from_context() -> Path:
    return Path(str(cli_context().get("config", DEFAULT_CONFIG)))


def synthesize(config: OrgConfig, *, release_products: bool = False) -> int:
    """Synthesize and gate the organization. `release_products`: commit the Service Catalog
    products whose templates changed as their next releases, instead of failing on them."""
    # aws_cdk (and jsii's Node process) is imported only once the config is known to be valid.
    from stacks import gates
    from stacks.composition import build, platform_app

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
        # The policy packs have printed their findings; CDK's own construct validation has not, it
        # names them only in the error. Either way a traceback would add nothing.
        invalid = [line.strip() for line in str(error).splitlines() if line.startswith("  [")]
        if invalid:
            print("error: CDK's construct validation failed:", file=sys.stderr)
            for line in invalid:
                print(f"  - {line}", file=sys.stderr)
        else:
            print("error: policy gates failed (findings above)", file=sys.stderr)
        return 1
    for heading, lines in gate_problems(config, directory):
        if lines:
            print(f"error: {heading}:", file=sys.stderr)
            for line in lines:
                print(f"  - {line}", file=sys.stderr)
            return 1
    return _check_product_releases(directory, release=release_products)


def gate_problems(config: OrgConfig, directory: Path) -> list[tuple[str, list[str]]]:
    """What fails the synth, by kind. Under the CDK CLI, synthesis does not fail on findings:
    the report decides."""
    from stacks import gates
    from stacks.nag_acknowledgements import acknowledgements

    failed = gates.failures(directory) + gates.limit_violations(directory)
    unused = gates.unused_acknowledgements(directory, acknowledgements(config))
    return [
        (f"gates failed with {len(failed)} finding(s)", failed),
        ("nag acknowledgements that match no finding (remove them)", [f"{a.finding} at {a.path}" for a in unused]),
    ]


def _check_product_releases(directory: Path, *, release: bool) -> int:
    """A released product's template never changes (ml_constructs.product_releases)."""
    from ml_constructs.product_releases import changed_products, release_changed_products, unreleased_products
    from stacks.self_service_stack import PRODUCT_RELEASES

    if release:
        for folder, released in release_changed_products(directory, PRODUCT_RELEASES):
            print(f"released {folder} as {released.name}: {released.template}", file=sys.stderr)
        return 0
    changed = changed_products(directory, PRODUCT_RELEASES)
    if changed:
        print("error: released Service Catalog products changed:", file=sys.stderr)
        for line in changed:
            print(f"  - {line}", file=sys.stderr)
        return 1
    unreleased = unreleased_products(directory, PRODUCT_RELEASES)
    if unreleased:
        print(
            f"note: Service Catalog products without a release yet: {', '.join(unreleased)}. Before the first "
            f"deploy, `make release-products` writes their first release into {PRODUCT_RELEASES.name}/ (commit it): "
            "from then on a changed template is refused until it is released under a new name.",
            file=sys.stderr,
        )
    return 0


def main() -> int:
    try:
        config = load_config(config_path_from_context())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for warning in rules.warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    return synthesize(config, release_products=cli_context().get("release-products") in (True, "true"))


if __name__ == "__main__":
    sys.exit(main())
