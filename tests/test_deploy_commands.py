"""The printed deploy commands run as printed: every option is one the pinned CDK CLI's
`cdk deploy` accepts, with a value of its type or among its choices, and every stack pattern
selects stacks of the synthesized assembly."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from proofs.assembly import CloudAssembly
from stacks.deployment_order import MODEL_DEPLOYED
from tests.conftest import EXAMPLE_CONFIG
from tools import deploy_commands

ROOT = Path(__file__).resolve().parent.parent
OPTION = re.compile(r"^  (--[a-z0-9-]+)(?:, (-[a-zA-Z]))?", re.MULTILINE)


@dataclass(frozen=True)
class Option:
    name: str
    kind: str
    choices: tuple[str, ...]


@pytest.fixture(scope="module")
def deploy_options() -> dict[str, Option]:
    """`cdk deploy --help` of the CLI in node_modules (package.json pins it), by name and alias."""
    help_text = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "deploy", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    starts = list(OPTION.finditer(help_text))
    options: dict[str, Option] = {}
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        entry = " ".join(help_text[match.end() : following.start() if following else None].split())
        kind = re.search(r"\[(string|number|boolean|array|count)\]", entry)
        choices = re.search(r"\[choices: ([^\]]+)\]", entry)
        option = Option(
            match[1],
            kind[1] if kind else "string",
            tuple(choice.strip().strip('"') for choice in choices[1].split(",")) if choices else (),
        )
        options[match[1]] = option
        if match[2]:
            options[match[2]] = option
    assert {"--require-approval", "--concurrency", "--context"} <= set(options)
    return options


def _check(command: list[str], options: dict[str, Option], stacks: list[str]) -> list[str]:
    """What the CLI would refuse in `command` (`npx cdk deploy ...`), or select nothing with."""
    problems = []
    if command[:3] != ["npx", "cdk", "deploy"]:
        return [f"not a cdk deploy command: {command[:3]}"]
    arguments = iter(command[3:])
    for argument in arguments:
        if not argument.startswith("-"):
            if not fnmatch.filter(stacks, argument):
                problems.append(f"{argument} selects no stack")
            continue
        name, _, inline = argument.partition("=")
        option = options.get(name)
        if option is None:
            problems.append(f"{name} is not an option of cdk deploy")
            continue
        if option.kind in ("boolean", "count"):
            continue
        value = inline or next(arguments, None)
        if value is None:
            problems.append(f"{name} has no value")
        elif option.kind == "number" and not value.isdigit():
            problems.append(f"{name} takes a number, not {value}")
        elif option.choices and value not in option.choices:
            problems.append(f"{name} takes one of {option.choices}, not {value}")
        elif option.name == "--context" and "=" not in value:
            problems.append(f"{name} takes KEY=VALUE, not {value}")
    return problems


def test_the_checker_refuses_what_the_cli_would(deploy_options):
    stacks = ["ManagementOrganization/Organization"]
    assert _check(["npx", "cdk", "deploy", "--require-approval", "no", "X/*"], deploy_options, stacks) == [
        "--require-approval takes one of ('never', 'any-change', 'broadening', 'destructive'), not no",
        "X/* selects no stack",
    ]
    assert _check(["npx", "cdk", "deploy", "--concurency", "2"], deploy_options, stacks)[0] == (
        "--concurency is not an option of cdk deploy"
    )
    assert _check(["npx", "cdk", "deploy", "--concurrency", "two"], deploy_options, stacks) == [
        "--concurrency takes a number, not two"
    ]


def test_every_printed_command_parses_and_together_they_deploy_every_platform_stage(org, deploy_options):
    stacks = [stack.display_name for stack in CloudAssembly.read(org.directory).stacks]
    commands = [shlex.split(line) for line in deploy_commands.commands(EXAMPLE_CONFIG) if not line.startswith("#")]
    assert commands
    for command in commands:
        assert _check(command, deploy_options, stacks) == [], command
    deployed = {
        stack
        for command in commands
        for pattern in command
        if "/" in pattern
        for stack in fnmatch.filter(stacks, pattern)
    }
    model_deployed = {
        stack for stack in stacks if any(stack.split("/")[0].endswith(purpose) for purpose in MODEL_DEPLOYED)
    }
    assert set(stacks) - model_deployed == deployed
