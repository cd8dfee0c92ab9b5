"""make synth's parallel cfn-lint: every template linted once, findings reported."""

from __future__ import annotations

import json
from pathlib import Path

from tools.lint_templates import _lint, shares


def test_shares_hold_every_file_once_and_balance_sizes(tmp_path: Path):
    files = []
    for index, size in enumerate([900, 500, 400, 300, 100, 100]):
        path = tmp_path / f"t{index}.template.json"
        path.write_text("x" * size)
        files.append(path)
    split = shares(files, 2)
    assert sorted(path for share in split for path in share) == sorted(files)
    assert sorted(sum(path.stat().st_size for path in share) for share in split) == [1100, 1200]
    assert shares(files[:1], 8) == [files[:1]]


def test_a_template_with_a_finding_is_reported(tmp_path: Path):
    template = tmp_path / "bad.template.json"
    template.write_text(json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Nope": 1}}}}))
    findings = _lint([template])
    assert len(findings) == 1 and "Nope" in findings[0]
