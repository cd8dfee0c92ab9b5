"""Helpers for testing the functions under lambda/: event samples, the handler loader and
context shared with the rehearsal (tools.local_lambda), and a loopback HTTP server standing in for CloudFormation's presigned response URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tools.local_lambda import LocalContext, load_handler

__all__ = ["LocalContext", "ResponseRecorder", "event", "load_handler"]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def event(name: str, **overrides: Any) -> dict[str, Any]:
    """An event sample from tests/events/, with top-level keys replaced."""
    sample: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return {**sample, **overrides}


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
