"""The order in which CloudFormation creates what the assembly declares: which stack deploys
before which, and within one template, which resource before which.

Stacks: the waves of stacks.deployment_order (a stage deploys after every stage of an earlier
wave; the stages of one wave deploy in parallel; the Endpoints stages come last, deployed by the
models' pipelines after their serving stages), and within a stage the manifest's dependencies
(`cdk deploy` deploys a stack after the stacks it depends on, the others in parallel).

Resources of one template: CloudFormation creates them in parallel unless a `Ref`, `Fn::GetAtt`,
`Fn::Sub` variable or `DependsOn` orders them (CloudFormation User Guide, "DependsOn attribute":
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from proofs.assembly import CloudAssembly, Stack
from stacks.config import OrgConfig
from stacks.deployment_order import planned_stages

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}.]*)(?:\.[^}]*)?\}")


class DeployOrder:
    """Which stack of the assembly deploys before which."""

    def __init__(self, assembly: CloudAssembly, config: OrgConfig) -> None:
        self.waves = {planned.stage_id: planned.wave for planned in planned_stages(config)}
        self._by_artifact = {(stack.stage, stack.artifact_id): stack for stack in assembly.stacks}
        self._graphs: dict[tuple[str, str], dict[str, frozenset[str]]] = {}

    def wave(self, stack: Stack) -> int | None:
        """The stack's wave; None if its stage is not in the deployment order."""
        return self.waves.get(stack.stage)

    def deploys_before(self, earlier: Stack, later: Stack) -> bool:
        """Whether `earlier` has deployed when `later` starts to deploy."""
        first, second = self.wave(earlier), self.wave(later)
        if first is None or second is None:
            return False
        if earlier.stage == later.stage:
            return earlier.artifact_id in self._upstream(later)
        return first < second

    def relation(self, earlier: Stack, later: Stack) -> str:
        """How `earlier` deploys relative to `later`, in words, for a finding."""
        first, second = self.wave(earlier), self.wave(later)
        if earlier.stage == later.stage:
            return (
                f"{earlier.display_name} deploys in the same stage without a dependency of {later.display_name} on it"
            )
        if first == second:
            return f"{earlier.display_name} deploys in the same wave ({first}) as {later.display_name}, in parallel"
        return f"{earlier.display_name} deploys in wave {first}, after {later.display_name} (wave {second})"

    def _upstream(self, stack: Stack) -> set[str]:
        found: set[str] = set()
        pending = list(stack.dependencies)
        while pending:
            artifact = pending.pop()
            if artifact in found:
                continue
            found.add(artifact)
            dependency = self._by_artifact.get((stack.stage, artifact))
            pending += dependency.dependencies if dependency else ()
        return found

    def created_before(self, stack: Stack, target: str, referrer: str) -> bool:
        """Whether CloudFormation creates resource `target` of `stack` before `referrer`."""
        graph = self._graphs.get((stack.stage, stack.artifact_id))
        if graph is None:
            graph = self._graphs[(stack.stage, stack.artifact_id)] = _dependency_graph(
                stack.template.get("Resources", {})
            )
        found: set[str] = set()
        pending = [referrer]
        while pending:
            for dependency in graph.get(pending.pop(), frozenset()) - found:
                if dependency == target:
                    return True
                found.add(dependency)
                pending.append(dependency)
        return False


def _dependency_graph(resources: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Each resource's direct dependencies: what it refers to, and its DependsOn."""
    graph: dict[str, frozenset[str]] = {}
    for logical_id, definition in resources.items():
        depends_on = definition.get("DependsOn", [])
        named = set([depends_on] if isinstance(depends_on, str) else depends_on)
        named.update(_referred(definition.get("Properties", {})))
        graph[logical_id] = frozenset(name for name in named if name in resources and name != logical_id)
    return graph


def _referred(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _referred(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                yield item.split(".", 1)[0] if isinstance(item, str) else str(item[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                yield from _sub_variables(text)
                if not isinstance(item, str):
                    yield from _referred(item[1])
            else:
                yield from _referred(item)


@cache
def _sub_variables(text: str) -> tuple[str, ...]:
    return tuple(_SUB_VARIABLE.findall(text))
