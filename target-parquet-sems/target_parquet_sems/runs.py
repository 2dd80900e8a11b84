"""A manifest per run at the destination's root: `_runs/<started>-<run id>.json`.

Readers tell a finished load from one in progress or one that broke off, and see what each
run wrote and which state it acknowledged. Each run writes its own file, replacing it whole
(a rename, or one PUT on S3), so concurrent writers never contend for one: written when the
run starts (`running`), now and then while it runs, and when it ends (`complete`, `failed`
or `interrupted`). A run killed without a chance to say so stays `running`; see the README.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from target_parquet_sems.storage import Destination

RUNS_FOLDER = "_runs"
PROGRESS_SECONDS = 60.0
"""A running manifest is rewritten at most this often, when a STATE is passed on."""


def new_run_id() -> str:
    """Meltano's run id when Meltano passes one on (`MELTANO_RUN_ID`), else a new one."""
    return os.environ.get("MELTANO_RUN_ID") or uuid.uuid4().hex


def _iso(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class RunManifest:
    """The record of one run; `start`, then `wrote`/`acknowledged`, then `finish`."""

    def __init__(
        self, destination: Destination, run_id: str, *, writer: dict[str, str], table_format: str
    ) -> None:
        self.destination = destination
        self.run_id = run_id
        self.started_at = datetime.datetime.now(datetime.UTC)
        self.path = destination.path(
            RUNS_FOLDER, f"{self.started_at:%Y%m%dT%H%M%S.%f}Z-{run_id}.json"
        )
        self.writer = {**writer, "host": socket.gethostname(), "pid": os.getpid()}
        self.table_format = table_format
        self.streams: dict[str, dict[str, Any]] = {}
        self.state: dict | None = None
        self.status = ""
        self._written_at = 0.0

    def start(self) -> None:
        self._write("running")

    def wrote(self, stream: str, location: str, records: int) -> None:
        """`records` more records of `stream` are in the dataset (at `location`, relative)."""
        entry = self.streams.setdefault(stream, {"path": location, "records_written": 0})
        entry["records_written"] += records

    def acknowledged(self, state: dict) -> None:
        """A STATE was passed on: everything it covers is written."""
        self.state = state
        if time.monotonic() - self._written_at >= PROGRESS_SECONDS:
            self._write("running")

    def finish(self, status: str, error: str | None = None) -> None:
        """The run ended; only the first call counts."""
        if self.status in ("complete", "failed", "interrupted"):
            return
        self._write(status, error)

    def _write(self, status: str, error: str | None = None) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ended = status != "running"
        document: dict[str, Any] = {
            "run_id": self.run_id,
            "status": status,
            "started_at": _iso(self.started_at),
            "updated_at": _iso(now),
            "finished_at": _iso(now) if ended else None,
            "writer": self.writer,
            "table_format": self.table_format,
            "streams": self.streams,
            "state": self.state,
        }
        if error:
            document["error"] = error
        self.destination.write_bytes(self.path, json.dumps(document, indent=2).encode() + b"\n")
        self.status = status
        self._written_at = time.monotonic()
