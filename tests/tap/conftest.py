"""Running the tap as its users do: a subprocess against the fake portal on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, FakePortal

FAST_RETRIES = {
    "max_requests_per_second": 0,
    "backoff_seconds": 0.01,
    "rate_limit_wait_seconds": 0.05,
    "request_timeout_seconds": 5,
}


@dataclass
class TapRun:
    """What one tap run wrote: Singer messages on stdout, logs on stderr."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]

    def bookmarks(self, stream: str, state: dict[str, Any] | None = None) -> dict[str, str]:
        """station_id -> bookmarked day in `state` (default: the last STATE written)."""
        value = self.final_state if state is None else state
        partitions = value.get("bookmarks", {}).get(stream, {}).get("partitions", [])
        return {
            p["context"]["station_id"]: p["replication_key_value"]
            for p in partitions
            if "replication_key_value" in p
        }


def tap_command(config_path: Path, state_path: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", "tap_sems.tap", "--config", str(config_path)]
    if state_path is not None:
        command += ["--state", str(state_path)]
    return command


@pytest.fixture
def run_tap(tmp_path: Path) -> Callable[..., TapRun]:
    """Run tap-sems with a config (and state, and environment variables); parse what it wrote."""
    runs = 0

    def run(
        config: dict[str, Any],
        state: dict[str, Any] | None = None,
        *,
        env: dict[str, str] | None = None,
    ) -> TapRun:
        nonlocal runs
        runs += 1
        config_path = tmp_path / f"config-{runs}.json"
        config_path.write_text(json.dumps(config))
        state_path = None
        if state is not None:
            state_path = tmp_path / f"state-{runs}.json"
            state_path.write_text(json.dumps(state))
        done = subprocess.run(
            tap_command(config_path, state_path),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=os.environ | (env or {}),
        )
        messages = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        return TapRun(done.returncode, done.stdout, done.stderr, messages)

    return run


@pytest.fixture
def portal() -> Iterator[FakePortal]:
    """The demo account on the real clock."""
    with FakePortal() as running:
        yield running


@pytest.fixture
def tap_config() -> Callable[..., dict[str, Any]]:
    """A tap config for the demo account on a portal, with fast retries."""

    def make(portal: FakePortal, backend: str = "semsplus", **overrides: Any) -> dict[str, Any]:
        return {
            "backend": backend,
            "account": DEMO_ACCOUNT,
            "password": DEMO_PASSWORD,
            "api_url": portal.url,
            **FAST_RETRIES,
            **overrides,
        }

    return make
