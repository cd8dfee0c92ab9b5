"""The policy gates that run on every synth, and the bookkeeping of acknowledgements.

cdk-nag packs are registered once on the App; CDK runs them over every stack of every
stage (tests/test_gates.py proves it with a planted violation in a nested stage). Findings
that do not apply are acknowledged in `stacks.nag_acknowledgements`, nowhere else, and an
acknowledgement that no finding uses fails the synth, so the list cannot rot. The same list
acknowledges CDK's own warnings (ids starting `Annotation::`), checked against the
warnings the constructs actually raise.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

from ml_constructs.policy_size import MANAGED_POLICY_MAX, resolved_size
from ml_constructs.sagemaker_checks import SageMakerChecks
from stacks.acknowledgement_paths import path_expression, path_matches, path_within_stage, segment_source
from stacks.nag_acknowledgements import ANNOTATION_PREFIX, NagAcknowledgement
from stacks.synthesized import template_files

NAG_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks)


class GateError(Exception):
    """The gates' bookkeeping is wrong: an acknowledgement points at nothing."""


def register(
    app: cdk.App, acknowledgements: tuple[NagAcknowledgement, ...], sagemaker: SageMakerChecks | None = None
) -> None:
    """Add the nag packs (and the platform's SageMaker plugin) to `app` and attach every
    acknowledgement to its constructs, in every stage (every child of `app`)."""
    add_plugins(app, sagemaker)
    acknowledge(app.node.children, acknowledgements)


def add_plugins(app: cdk.App, sagemaker: SageMakerChecks | None = None) -> None:
    """The nag packs (and the platform's SageMaker plugin) run over every stage of `app`."""
    cdk.Validations.of(app).add_plugins(*(pack(app) for pack in NAG_PACKS), *([sagemaker] if sagemaker else []))


def acknowledge(stages: Iterable[IConstruct], acknowledgements: tuple[NagAcknowledgement, ...]) -> None:
    """Attach every acknowledgement to the constructs of `stages` it names (paths relative to
    each stage). Acknowledgements of CDK warnings must be placed before a stage is synthesized
    (a CDK pipeline synthesizes the stages it deploys as it adds them): the warnings are
    written into the stage's assembly then."""
    trie = _PathTrie()
    for acknowledgement in acknowledgements:
        trie.add(acknowledgement)
    placement = _Placement()
    for stage in stages:
        placement.visit(stage, trie)
    # An acknowledgement of a construct these stages do not build is not applicable; one of a
    # construct that raises no such warning is stale. (That every acknowledgement names a real
    # construct is checked on the example organization, which builds every option.)
    misplaced = [ack for ack in acknowledgements if ack.path in placement.found and ack not in placement.placed]
    if misplaced:
        raise GateError(
            "acknowledgements of CDK warnings whose construct raises no such warning:\n"
            + "\n".join(f"  - {ack.finding} at {ack.path}" for ack in misplaced)
        )


@dataclass
class _PathTrie:
    """The acknowledgements' path patterns, segment by segment: patterns that share a prefix
    are looked up in the construct tree once."""

    children: dict[str, _PathTrie] = field(default_factory=dict)
    acknowledgements: list[NagAcknowledgement] = field(default_factory=list)

    def add(self, acknowledgement: NagAcknowledgement) -> None:
        node = self
        for segment in acknowledgement.path.split("/"):
            node = node.children.setdefault(segment, _PathTrie())
        node.acknowledgements.append(acknowledgement)


class _Placement:
    """Walks the construct tree along the patterns only, placing acknowledgements on what they
    match. Every read of the tree is a round trip to jsii's Node process: children are looked up
    by name, and listed only where a pattern has a wildcard."""

    def __init__(self) -> None:
        self.placed: set[NagAcknowledgement] = set()
        self.found: set[str] = set()
        """Patterns that matched a construct."""

    def visit(self, construct: IConstruct, trie: _PathTrie) -> None:
        node = construct.node
        if any("*" in segment for segment in trie.children):
            children = {child.node.id: child for child in node.children}
            for segment, subtrie in trie.children.items():
                for child_id, child in children.items():
                    if _segment_expression(segment).fullmatch(child_id):
                        self._match(child, subtrie)
                    elif subtrie.acknowledgements and _segment_expression(segment, last=True).fullmatch(child_id):
                        self._place(child, subtrie.acknowledgements)  # a numbered part of a role's policy
            return
        for segment, subtrie in trie.children.items():
            found = node.try_find_child(segment)
            if found is None:
                continue
            self._match(found, subtrie)
            if subtrie.acknowledgements and segment.endswith("Policy"):
                # The numbered parts of a role's policy, `<id>Policy2` onwards (ml_constructs.roles).
                for number in itertools.count(2):
                    part = node.try_find_child(f"{segment}{number}")
                    if part is None:
                        break
                    self._place(part, subtrie.acknowledgements)

    def _match(self, construct: IConstruct, trie: _PathTrie) -> None:
        self._place(construct, trie.acknowledgements)
        if trie.children:
            self.visit(construct, trie)

    def _place(self, construct: IConstruct, acknowledgements: list[NagAcknowledgement]) -> None:
        rules = []
        for acknowledgement in acknowledgements:
            self.found.add(acknowledgement.path)
            if acknowledgement.is_annotation and not _raises_warning(construct, acknowledgement):
                continue
            rules.append(cdk.Acknowledgment(id=acknowledgement.finding, reason=acknowledgement.reason))
            self.placed.add(acknowledgement)
        if rules:
            cdk.Validations.of(construct).acknowledge(*rules)


@cache
def _segment_expression(segment: str, last: bool = False) -> re.Pattern[str]:
    """One segment of a pattern (see path_matches); `last`: the pattern's last segment."""
    return re.compile(segment_source(segment, last))


def applicable(acknowledgements: tuple[NagAcknowledgement, ...], built: set[str]) -> tuple[NagAcknowledgement, ...]:
    """The acknowledgements of constructs that were built (`built`: stage-relative paths)."""
    lines = "\n".join(built)  # one scan of every path per distinct pattern
    found = {pattern for pattern in {ack.path for ack in acknowledgements} if path_expression(pattern).search(lines)}
    return tuple(ack for ack in acknowledgements if ack.path in found)


def _raises_warning(construct: IConstruct, acknowledgement: NagAcknowledgement) -> bool:
    """CDK records a construct's acknowledgeable warnings as metadata ending in `[ack: <id>]`."""
    marker = f"[ack: {acknowledgement.finding.removeprefix(ANNOTATION_PREFIX)}]"
    return any(
        entry.type == "aws:cdk:warning" and str(entry.data).endswith(marker) for entry in construct.node.metadata
    )


def failures(assembly_dir: Path) -> list[str]:
    """Every violation of a failing plugin in the assembly's validation report.

    The CDK CLI runs apps with `@aws-cdk/core:failSynthOnValidationErrors` off and still
    reports success, so the report, not an exception, is what the gates rely on.
    """
    report = _report(assembly_dir)
    lines = []
    for plugin in report["pluginReports"]:
        if plugin["conclusion"] != "failure":
            continue
        for violation in plugin["violations"]:
            for construct in violation.get("violatingConstructs", []):
                lines.append(
                    f"{plugin['pluginName']}: {violation['ruleName']} at {construct['constructPath']}: "
                    f"{violation['description'].splitlines()[0]}"
                )
    return lines


CLOUDFORMATION_LIMITS = {
    "Resources": 500,
    "Parameters": 200,
    "Outputs": 200,
    "Mappings": 200,
}
TEMPLATE_MAX_BYTES = 1_000_000
"""CloudFormation's limit for a template body uploaded through S3, as CDK deploys them."""


SERVICE_LIMITS = {
    "AWS::IAM::ManagedPolicy": ("PolicyDocument", MANAGED_POLICY_MAX, "IAM's managed policy size"),
    "AWS::Lambda::Function": ("Environment", 4_096, "Lambda's environment variables size"),
}
"""Per-resource quotas that CloudFormation only reports when it creates the resource: the
property measured (ml_constructs.policy_size, an upper estimate), its limit in characters, and
which quota."""
ROLE_INLINE_POLICIES_MAX = 10_240
"""IAM's limit on the inline policies of one role, together."""


def _service_limit_violations(name: Path, template: dict[str, Any]) -> list[str]:
    problems = []
    inline: dict[str, int] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        limit = SERVICE_LIMITS.get(resource["Type"])
        if limit is not None and limit[0] in properties:
            size = resolved_size(properties[limit[0]])
            if size > limit[1]:
                problems.append(f"{name}: {logical_id} is {size} characters, over {limit[2]} of {limit[1]}")
        if resource["Type"] == "AWS::IAM::Role":
            policies = properties.get("Policies", [])
            inline[logical_id] = inline.get(logical_id, 0) + sum(resolved_size(p) for p in policies)
        if resource["Type"] == "AWS::IAM::Policy":
            for role in properties.get("Roles", []):
                if isinstance(role, dict) and "Ref" in role:
                    inline[role["Ref"]] = inline.get(role["Ref"], 0) + resolved_size(properties["PolicyDocument"])
    for role, size in sorted(inline.items()):
        if size > ROLE_INLINE_POLICIES_MAX:
            problems.append(
                f"{name}: {role} has {size} characters of inline policies, over IAM's {ROLE_INLINE_POLICIES_MAX}"
            )
    return problems


def limit_violations(assembly_dir: Path) -> list[str]:
    """Every synthesized template (StackSet and product templates included) over a CloudFormation
    limit, and every resource over a quota of its service (SERVICE_LIMITS)."""
    problems = []
    for template_file in template_files(assembly_dir):
        name = template_file.relative_to(assembly_dir)
        size = template_file.stat().st_size
        if size > TEMPLATE_MAX_BYTES:
            problems.append(f"{name}: {size} bytes, over CloudFormation's {TEMPLATE_MAX_BYTES}")
        template = json.loads(template_file.read_text(encoding="utf-8"))
        for section, limit in CLOUDFORMATION_LIMITS.items():
            count = len(template.get(section, {}))
            if count > limit:
                problems.append(f"{name}: {count} {section.lower()}, over CloudFormation's {limit}")
        problems += _service_limit_violations(name, template)
    return problems


def _report(assembly_dir: Path) -> dict[str, Any]:
    report_file = assembly_dir / "validation-report.json"
    if not report_file.exists():
        raise GateError(f"{report_file} is missing: the nag packs did not run")
    report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    return report


@dataclass(frozen=True)
class UsedAcknowledgement:
    finding: str
    path: str


def construct_paths(assembly_dir: Path) -> set[str]:
    """Every construct's stage-relative path in the assembly's construct tree (tree.json)."""
    paths: set[str] = set()
    pending = [json.loads((assembly_dir / "tree.json").read_text(encoding="utf-8"))["tree"]]
    while pending:
        node = pending.pop()
        paths.add(path_within_stage(node.get("path", "")))
        pending.extend(node.get("children", {}).values())
    return paths


def unused_acknowledgements(
    assembly_dir: Path, acknowledgements: tuple[NagAcknowledgement, ...]
) -> list[NagAcknowledgement]:
    """Acknowledgements that suppressed no finding in the synthesized assembly's report, among
    those whose construct this config builds: the list covers every option of the platform (a
    config without endpoints has no serving stacks to acknowledge anything on)."""
    acknowledgements = applicable(acknowledgements, construct_paths(assembly_dir))
    report = _report(assembly_dir)
    used = {
        UsedAcknowledgement(violation["acknowledgedId"], path_within_stage(violation["acknowledgedAt"]))
        for plugin in report["pluginReports"]
        for violation in plugin.get("suppressedViolations", [])
    }
    # CDK's own warnings never reach the plugins' report; register() checked those instead.
    return [
        ack
        for ack in acknowledgements
        if not ack.is_annotation
        and not any(use.finding == ack.finding and path_matches(use.path, ack.path) for use in used)
    ]
