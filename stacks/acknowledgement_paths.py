"""How acknowledgements name what they acknowledge: construct paths relative to their stage,
with `*` for a path segment named from the config. Shared by the CDK-run gates
(stacks.gates) and the gates that read the synthesized templates only
(stacks.control_tower), so this module imports no CDK."""

from __future__ import annotations

import re
from functools import cache


def segment_source(segment: str, last: bool) -> str:
    """The expression of one segment of a pattern (see path_matches); `last`: the pattern's last segment."""
    expression = re.escape(segment).replace(r"\*", r"[^/\n]+")
    return expression + (r"(\d+)?" if last and segment.endswith("Policy") else "")


def path_matches(path: str, pattern: str) -> bool:
    """Exact match, except that `*` stands for one or more characters within a path segment,
    and that a pattern naming a role's policy (`...Policy`) also names its numbered parts
    (`...Policy2`, see ml_constructs.roles): which statements land in which part is the
    packer's business."""
    return path_expression(pattern).fullmatch(path) is not None


@cache
def path_expression(pattern: str) -> re.Pattern[str]:
    """The whole pattern; `^` and `$` hold at line ends, so one search scans many paths at once."""
    segments = pattern.split("/")
    expression = "/".join(segment_source(s, last=i == len(segments) - 1) for i, s in enumerate(segments))
    return re.compile(f"^{expression}$", re.MULTILINE)


def path_within_stage(path: str) -> str:
    """`MlProdBaseline/Baseline/Network/Vpc` -> `Baseline/Network/Vpc`: the same in every account."""
    return path.partition("/")[2]
