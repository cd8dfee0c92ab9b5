"""The synthesized cloud assembly as the proofs read it: every stack with its account, region,
template, deploy roles and the templates it deploys as assets (Service Catalog products).

Read from the manifests alone (CDK's cloud assembly schema), never from the constructs: what
the proofs judge is what `cdk deploy` and the pipelines would send to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

Template = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Environment:
    account: str
    region: str

    @classmethod
    def parse(cls, environment: str) -> Environment:
        """`aws://123456789012/eu-west-1`."""
        account, _, region = environment.removeprefix("aws://").partition("/")
        return cls(account, region)

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True)
class Resource:
    """A resource of a template: its logical id, type and properties (intrinsics unresolved)."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    definition: Mapping[str, Any]

    @property
    def path(self) -> str:
        """The construct path CDK records, or the logical id."""
        path: str = self.definition.get("Metadata", {}).get("aws:cdk:path", self.logical_id)
        return path


@dataclass(frozen=True)
class Stack:
    """One stack artifact of the assembly."""

    stage: str
    """The stage's id (`MlDevDevelopment`), which names the account and purpose."""
    artifact_id: str
    display_name: str
    """`<stage>/<stack construct id>`, as `cdk deploy` selects it."""
    stack_name: str
    environment: Environment
    template_path: Path
    execution_role_arn: str | None
    deploy_role_arn: str | None
    dependencies: tuple[str, ...]
    """Artifact ids of the stacks this one deploys after."""
    asset_templates: tuple[Path, ...] = field(default=())
    """Templates the stack deploys as file assets (Service Catalog product templates)."""
    asset_template_hashes: Mapping[str, Path] = field(default_factory=dict, compare=False)
    """The same templates by asset hash, the name of their object in the bootstrap bucket
    (`<hash>.json`), which a product's `LoadTemplateFromURL` ends with."""

    @cached_property
    def template(self) -> Template:
        template: Template = json.loads(self.template_path.read_text(encoding="utf-8"))
        return template

    @property
    def account(self) -> str:
        return self.environment.account

    @property
    def region(self) -> str:
        return self.environment.region

    def resources(self, *types: str) -> Iterator[Resource]:
        """The template's resources, of `types` when given, in template order."""
        for logical_id, definition in self.template.get("Resources", {}).items():
            if not types or definition["Type"] in types:
                yield Resource(logical_id, definition["Type"], definition.get("Properties", {}), definition)

    def resource(self, logical_id: str) -> Resource:
        definition = self.template["Resources"][logical_id]
        return Resource(logical_id, definition["Type"], definition.get("Properties", {}), definition)


def _partition_free(arn: str | None) -> str | None:
    """Bootstrap role ARNs come as `arn:${AWS::Partition}:...`; the platform deploys to `aws`."""
    return arn.replace("${AWS::Partition}", "aws") if arn else None


@dataclass(frozen=True)
class CloudAssembly:
    directory: Path
    stacks: tuple[Stack, ...]

    @classmethod
    def read(cls, directory: Path) -> CloudAssembly:
        """Every stack of every stage assembly (`assembly-*`) under `directory`."""
        stacks: list[Stack] = []
        for manifest_path in sorted(directory.glob("assembly-*/manifest.json")):
            stacks += _stage_stacks(manifest_path)
        return cls(directory, tuple(stacks))

    def stacks_in(self, environment: Environment) -> list[Stack]:
        return list(self._by_environment.get(environment, ()))

    @cached_property
    def _by_environment(self) -> dict[Environment, list[Stack]]:
        """The stacks by environment, in assembly order: every cross-stack reference asks."""
        found: dict[Environment, list[Stack]] = {}
        for stack in self.stacks:
            found.setdefault(stack.environment, []).append(stack)
        return found

    @property
    def environments(self) -> list[Environment]:
        return sorted({stack.environment for stack in self.stacks})

    def stack_named(self, stack_name: str, environment: Environment) -> Stack | None:
        """The stack CloudFormation knows as `stack_name` in `environment` (names are unique there)."""
        return next(
            (stack for stack in self.stacks_in(environment) if stack.stack_name == stack_name),
            None,
        )

    def stack(self, display_name: str) -> Stack:
        return next(stack for stack in self.stacks if stack.display_name == display_name)


def _stage_stacks(manifest_path: Path) -> list[Stack]:
    directory = manifest_path.parent
    stage = directory.name.removeprefix("assembly-")
    artifacts: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8")).get("artifacts", {})
    stacks = []
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact["properties"]
        dependencies = tuple(artifact.get("dependencies", ()))
        templates = _asset_templates(directory, artifacts, dependencies, properties["templateFile"])
        stacks.append(
            Stack(
                stage=stage,
                artifact_id=artifact_id,
                display_name=artifact.get("displayName", artifact_id),
                stack_name=properties.get("stackName", artifact_id),
                environment=Environment.parse(artifact["environment"]),
                template_path=directory / properties["templateFile"],
                execution_role_arn=_partition_free(properties.get("cloudFormationExecutionRoleArn")),
                deploy_role_arn=_partition_free(properties.get("assumeRoleArn")),
                dependencies=tuple(d for d in dependencies if artifacts.get(d, {}).get("type") != "cdk:asset-manifest"),
                asset_templates=tuple(templates.values()),
                asset_template_hashes=templates,
            )
        )
    return stacks


def _asset_templates(
    directory: Path, artifacts: Mapping[str, Any], dependencies: tuple[str, ...], template_file: str
) -> dict[str, Path]:
    """The templates among the stack's file assets, by asset hash, in file name order."""
    found: dict[str, Path] = {}
    for dependency in dependencies:
        artifact = artifacts.get(dependency, {})
        if artifact.get("type") != "cdk:asset-manifest":
            continue
        assets = json.loads((directory / artifact["properties"]["file"]).read_text(encoding="utf-8"))
        found.update(
            sorted(
                (
                    (asset_hash, directory / entry["source"]["path"])
                    for asset_hash, entry in assets.get("files", {}).items()
                    if entry["source"].get("path", "").endswith(".template.json")
                    and entry["source"]["path"] != template_file
                ),
                key=lambda item: item[1],
            )
        )
    return found
