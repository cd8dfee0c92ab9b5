"""Reading a config file into an `OrgConfig`, or one `ConfigError` that lists every problem.

This module imports neither aws_cdk nor jsii, so `app.py` can reject a bad file in a
fraction of a second, before the CDK runtime starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stacks.config import rules
from stacks.config.models import OrgConfig
from stacks.config.rules import Problem


class ConfigError(Exception):
    """The config file cannot be used; `problems` says every reason, each with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} configuration problem(s)\n{lines}")


def load_config(path: Path) -> OrgConfig:
    """Parse and validate the YAML file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), [Problem("(file)", f"cannot be read: {error.strerror}")]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(str(path), [Problem("(file)", f"is not valid YAML: {error}")]) from None
    return parse_config(document, source=str(path))


def parse_config(document: Any, source: str = "config") -> OrgConfig:
    """Validate an already-parsed document: per-field checks first, then cross-field rules."""
    if not isinstance(document, dict):
        raise ConfigError(source, [Problem("(root)", "must be a mapping with organization and accounts")])
    try:
        config = OrgConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigError(source, _problems_from(error)) from None
    problems = rules.check(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def _problems_from(error: ValidationError) -> list[Problem]:
    details = error.errors(include_url=False)
    failed_items = {detail["loc"][:-1] for detail in details if detail["loc"]}
    problems = []
    for detail in details:
        path = ".".join(str(part) for part in detail["loc"]) or "(root)"
        if detail["type"] == "too_short" and detail["loc"] in failed_items:
            # A list whose items all failed is reported through those items, not as empty.
            continue
        if detail["type"] == "value_error":
            # Our own validators' messages, without pydantic's "Value error, " prefix.
            message = str(detail["ctx"]["error"])
        elif detail["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against config/README.md)"
        else:
            message = detail["msg"][0].lower() + detail["msg"][1:]
        problems.append(Problem(path, message))
    return sorted(set(problems))
