"""Save, then compare, everything the offline proof tools print and write for an assembly.

    python -m bench.outputs save DIR [--assembly cdk.out] [--config config/example.yaml]
    python -m bench.outputs compare DIR [--assembly cdk.out] [--config config/example.yaml]

For work that must not change a result (making the proofs faster): `save` before the change,
`compare` after it. Recorded per tool: its exit status, stdout and stderr for `tools.preflight`
and `tools.flows`, and for `tools.bootstrap_commands` also every policy file it writes. The
preflight's elapsed time (the number at the end of its last line) is the only part masked.
`compare` prints what differs and exits 1 when anything does.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_ELAPSED = re.compile(r"(?m)^(preflight: .*), [0-9.]+ s$")


def _run(module: str, arguments: list[str], cwd: Path) -> dict[str, str]:
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    stdout = _ELAPSED.sub(r"\1, <elapsed> s", completed.stdout)
    return {"rc": f"{completed.returncode}\n", "stdout": stdout, "stderr": completed.stderr}


def outputs(assembly: Path, config: Path) -> dict[str, str]:
    """Every output by name: `<tool>.<rc|stdout|stderr>` and `bootstrap/<policy file>`."""
    found: dict[str, str] = {}
    for tool in ("preflight", "flows"):
        for part, text in _run(f"tools.{tool}", [str(assembly), str(config)], ROOT).items():
            found[f"{tool}.{part}"] = text
    # Run where its default policy directory (printed in its commands) is an empty scratch one.
    with tempfile.TemporaryDirectory() as scratch:
        for part, text in _run("tools.bootstrap_commands", [str(config), str(assembly)], Path(scratch)).items():
            found[f"bootstrap_commands.{part}"] = text
        for policy in sorted((Path(scratch) / "build" / "bootstrap").glob("*")):
            found[f"bootstrap/{policy.name}"] = policy.read_text()
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=("save", "compare"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--assembly", type=Path, default=ROOT / "cdk.out")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "example.yaml")
    args = parser.parse_args(argv)
    current = outputs(args.assembly.resolve(), args.config.resolve())
    if args.action == "save":
        for name, text in current.items():
            (args.directory / name).parent.mkdir(parents=True, exist_ok=True)
            (args.directory / name).write_text(text)
        print(f"saved {len(current)} outputs to {args.directory}")
        return 0
    saved = {
        str(path.relative_to(args.directory)): path.read_text()
        for path in sorted(args.directory.rglob("*"))
        if path.is_file()
    }
    names = saved.keys() | current.keys()
    differing = sorted(name for name in names if saved.get(name) != current.get(name))
    for name in differing:
        print(f"differs: {name}")
    print(f"{len(names) - len(differing)} of {len(names)} outputs identical")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
