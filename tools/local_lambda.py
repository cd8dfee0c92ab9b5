"""Running the platform's Lambda handlers in this process: the tests and the local rehearsal
load lambda/<function>/handler.py the same way, and invoke it with a context of the same shape."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(__file__).resolve().parents[1] / "lambda"


def load_handler(function: str) -> ModuleType:
    """Import lambda/<function>/handler.py under a unique name (every folder has a handler.py)."""
    path = FUNCTIONS / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{function}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve postponed annotations through it
    spec.loader.exec_module(module)
    return module


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that the handlers and Powertools read."""

    remaining_ms: int = 300_000
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:555555555555:function:test-function"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
