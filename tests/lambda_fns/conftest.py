"""Helpers for testing the functions under lambda/: loading a handler module by folder,
and a loopback HTTP server standing in for CloudFormation's presigned response URL."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def load_handler(function: str) -> ModuleType:
    """Import lambda/<function>/handler.py under a unique name (every folder has a handler.py)."""
    path = ROOT / "lambda" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{function}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve postponed annotations through it
    spec.loader.exec_module(module)
    return module


def event(name: str, **overrides: Any) -> dict[str, Any]:
    """An event sample from tests/events/, with top-level keys replaced."""
    sample: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return {**sample, **overrides}


@dataclass
class LambdaContextStub:
    remaining_ms: int = 300_000
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:555555555555:function:test-function"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class ResponseRecorder:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def cloudformation() -> Iterator[ResponseRecorder]:
    """Collects what a custom resource handler PUTs to its ResponseURL (127.0.0.1 only)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ResponseRecorder(f"http://127.0.0.1:{server.server_port}/response", received)
    finally:
        server.shutdown()
        server.server_close()
