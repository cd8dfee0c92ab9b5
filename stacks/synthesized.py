"""The synthesized templates the template gates read: every stack's, and every template a stack
deploys as a file asset (Service Catalog products, the baseline StackSet), in every nested
stage assembly. cfn-lint reads the same files (`.cfnlintrc.yaml`'s `templates`). No CDK here:
the gates that run after synthesis start without jsii."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_PATTERN = "**/*.template.json"


def template_files(assembly_dir: Path) -> list[Path]:
    """Every template of the cloud assembly in `assembly_dir`, in a stable order."""
    return sorted(assembly_dir.glob(TEMPLATE_PATTERN))
