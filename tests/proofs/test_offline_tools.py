"""The offline proof tools read the cloud assembly's JSON and load none of the CDK (issue #21):
importing aws_cdk loads jsii and its Node runtime, seconds that `make synth` would pay again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

CDK_PACKAGES = ("aws_cdk", "constructs", "jsii")


@pytest.mark.parametrize("tool", ["tools.preflight", "tools.flows"])
def test_the_proof_tools_load_no_cdk(tool):
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {tool}; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({CDK_PACKAGES!r})))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
