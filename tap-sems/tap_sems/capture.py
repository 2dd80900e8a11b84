"""Raw capture: every data answer the portal sent, kept on disk and read back offline.

With `raw_dir` set, the API backends hand each successful data answer to `RawCapture`
before they parse it, so a day's answer is on disk before any record of that day is
emitted. `CaptureFolder` reads such a folder back for `backend: archive`.

Layout (see tap-sems/README.md), one gzipped JSON file per answer:

    <raw_dir>/<station_id>/semsplus/power_curve/2026-03-01..2026-03-07.json.gz
    <raw_dir>/<station_id>/semsplus/statistics/2026-01-01..2026-12-31.json.gz
    <raw_dir>/<station_id>/semsplus/station_detail.json.gz
    <raw_dir>/<station_id>/legacy/power_chart/2026-03-01.json.gz
    <raw_dir>/<station_id>/legacy/station_detail.json.gz
    <raw_dir>/account/semsplus/station_list/page-1.json.gz
    <raw_dir>/account/legacy/station_list.json.gz

Each file is an envelope whose last member, `answer`, holds the answer's bytes exactly as
the portal sent them; the members before it say when and what was asked. Login answers,
request headers (token, signature) and the password are never written: only data answers
reach `keep`, and a request's headers are not part of an `Exchange`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote

import msgspec

from tap_sems.client import Exchange, SemsError, Topic
from tap_sems.result_codes import Outcome
from tap_sems.timeutil import iter_days

FORMAT = "tap-sems raw capture 1"
ACCOUNT_FOLDER = "account"  # station ids are UUIDs, so this never collides with one
GENERATIONS = ("semsplus", "legacy")
DAY_ENDPOINTS = ("power_curve", "statistics", "power_chart")
COMPRESS_LEVEL = 1  # a tenth of the bytes for a tenth of a second per station-year
TEMP_SUFFIX = ".tmp"
_DAYS_NAME = re.compile(
    r"^(?P<first>\d{4}-\d{2}-\d{2})(?:\.\.(?P<last>\d{4}-\d{2}-\d{2}))?\.json\.gz$"
)
_CAPTURED_AT = re.compile(rb'"captured_at"\s*:\s*"([^"]+)"')


class CaptureError(SemsError):
    """raw_dir cannot be written, or a capture file cannot be read."""


def station_folder(station_id: str) -> str:
    """A station id as one safe folder name (UUIDs stay as they are)."""
    return quote(station_id, safe="-_").replace(".", "%2E")


def capture_path(generation: str, topic: Topic) -> PurePosixPath | None:
    """Where the answer to `topic` is kept, relative to raw_dir; None: never kept."""
    if topic.endpoint == "station_list":
        name = f"page-{topic.page}.json.gz" if topic.page is not None else "station_list.json.gz"
        folder = PurePosixPath(ACCOUNT_FOLDER, generation)
        return folder / "station_list" / name if topic.page is not None else folder / name
    if topic.station_id is None:
        return None  # the login, and anything not about a station
    base = PurePosixPath(station_folder(topic.station_id), generation)
    if topic.endpoint == "station_detail":
        return base / "station_detail.json.gz"
    if topic.endpoint in DAY_ENDPOINTS and topic.first and topic.last:
        return base / topic.endpoint / f"{days_name(topic.first, topic.last)}.json.gz"
    return None


def days_name(first: dt.date, last: dt.date) -> str:
    return first.isoformat() if first == last else f"{first}..{last}"


class RawCapture:
    """Writes data answers under raw_dir, each atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CaptureError(f"raw_dir '{root}' cannot be created: {error}") from None
        if not root.is_dir():
            raise CaptureError(f"raw_dir '{root}' is not a folder")

    def keep(self, exchange: Exchange) -> None:
        """An observer of the API client: keep a successful data answer."""
        if exchange.answer.outcome is not Outcome.SUCCESS or exchange.topic.endpoint == "login":
            return
        relative = capture_path(exchange.generation, exchange.topic)
        if relative is None:
            return
        document = envelope(exchange)
        path = self.root.joinpath(*relative.parts)
        try:
            write_atomically(path, gzip.compress(document, COMPRESS_LEVEL, mtime=0))
        except OSError as error:
            raise CaptureError(
                f"cannot keep the raw answer in '{path}': {error}. Free the space or fix "
                "raw_dir (or unset it) and run again; nothing of these days was emitted."
            ) from None


def envelope(exchange: Exchange) -> bytes:
    """The capture file's JSON: what was asked, then the answer's bytes unchanged."""
    topic = exchange.topic
    head = {
        "format": FORMAT,
        "captured_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        # The request's time, which the API run took as the moment the days were read.
        "sent_at": exchange.answer.sent_at.isoformat(timespec="microseconds"),
        "generation": exchange.generation,
        "endpoint": topic.endpoint,
        "station_id": topic.station_id,
        "first_day": topic.first.isoformat() if topic.first else None,
        "last_day": topic.last.isoformat() if topic.last else None,
        "request": exchange.request(),
        "http_status": exchange.answer.status,
    }
    # The answer parsed as JSON, so its bytes are a valid JSON value as they are.
    return msgspec.json.encode(head)[:-1] + b',"answer":' + exchange.answer.raw.strip() + b"}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# ---- reading a capture folder back ------------------------------------------------------


@dataclass(frozen=True)
class CaptureFile:
    """One kept answer covering `first..last` (station detail: no days)."""

    path: Path
    generation: str
    endpoint: str
    first: dt.date | None = None
    last: dt.date | None = None

    @property
    def span(self) -> int:
        return (self.last - self.first).days if self.first and self.last else 0

    @property
    def captured_at(self) -> str:
        """When it was kept; newer answers for a day replace older ones on replay."""
        return captured_at(self.path, self.path.stat().st_mtime_ns)

    def answer(self) -> Any:
        """The portal's answer, decoded exactly as the API client decodes it."""
        return load_envelope(self.path, self.path.stat().st_mtime_ns)["answer"]

    @property
    def read_at(self) -> dt.datetime:
        """When the portal was asked (captures of earlier versions: when the file was kept)."""
        try:
            sent = load_envelope(self.path, self.path.stat().st_mtime_ns).get("sent_at")
        except CaptureError:
            sent = None
        if isinstance(sent, str):
            return dt.datetime.fromisoformat(sent)
        return dt.datetime.fromtimestamp(self.path.stat().st_mtime, dt.UTC)


@lru_cache(maxsize=4096)
def captured_at(path: Path, version: int) -> str:
    """`version` (the file's mtime) keeps the cache right when a capture is replaced."""
    try:
        with gzip.open(path) as handle:
            head = handle.read(512)
    except (OSError, EOFError) as error:
        raise CaptureError(f"{path}: cannot be read ({error})") from None
    found = _CAPTURED_AT.search(head)
    if found:
        return found.group(1).decode()
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return stamp.isoformat(timespec="microseconds")


@lru_cache(maxsize=8)
def load_envelope(path: Path, version: int) -> Mapping[str, Any]:
    try:
        with gzip.open(path) as handle:
            document = msgspec.json.decode(handle.read())
    except (OSError, EOFError, msgspec.DecodeError) as error:
        raise CaptureError(f"{path}: not a readable capture ({error})") from None
    if not isinstance(document, Mapping) or "answer" not in document:
        raise CaptureError(f"{path}: not a tap-sems capture (no 'answer')")
    return document


class CaptureFolder:
    """A raw_dir written by RawCapture, indexed by station, endpoint and day."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, dict[str, list[CaptureFile]]] = {}
        self._newest: dict[tuple[str, str], dict[dt.date, CaptureFile]] = {}
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if not folder.is_dir() or folder.name == ACCOUNT_FOLDER:
                continue
            found = self._index_station(folder)
            if found:
                self._files[unquote(folder.name)] = found

    def _index_station(self, folder: Path) -> dict[str, list[CaptureFile]]:
        found: dict[str, list[CaptureFile]] = {}
        for generation in GENERATIONS:
            base = folder / generation
            detail = base / "station_detail.json.gz"
            if detail.is_file():
                found.setdefault("station_detail", []).append(
                    CaptureFile(detail, generation, "station_detail")
                )
            for endpoint in DAY_ENDPOINTS:
                for path in sorted((base / endpoint).glob("*.json.gz")):
                    match = _DAYS_NAME.match(path.name)
                    if match is None:
                        continue
                    first = dt.date.fromisoformat(match["first"])
                    last = dt.date.fromisoformat(match["last"] or match["first"])
                    kind = "curve" if endpoint in ("power_curve", "power_chart") else endpoint
                    found.setdefault(kind, []).append(
                        CaptureFile(path, generation, endpoint, first, last)
                    )
        return found

    @property
    def station_ids(self) -> list[str]:
        return list(self._files)

    def station_detail(self, station_id: str) -> CaptureFile | None:
        """The newest station detail kept (SEMS+ or legacy)."""
        details = self._files.get(station_id, {}).get("station_detail", [])
        return max(details, key=lambda f: f.captured_at, default=None)

    def runs(
        self, station_id: str, kind: str, first: dt.date, last: dt.date
    ) -> Iterator[tuple[dt.date, dt.date, CaptureFile | None]]:
        """Consecutive days of first..last with the same source: the newest answer kept
        for each day (`kind` "curve" or "statistics"), or None where none was."""
        newest = self._newest_by_day(station_id, kind)
        run_first, run_file = first, newest.get(first)
        for day in iter_days(first, last):
            chosen = newest.get(day)
            if chosen != run_file:
                yield run_first, day - dt.timedelta(days=1), run_file
                run_first, run_file = day, chosen
        yield run_first, last, run_file

    def _newest_by_day(self, station_id: str, kind: str) -> dict[dt.date, CaptureFile]:
        """Each day's newest capture (a shorter window wins a tie, as the later re-read)."""
        key = (station_id, kind)
        if key not in self._newest:
            newest: dict[dt.date, CaptureFile] = {}
            files = self._files.get(station_id, {}).get(kind, [])
            for capture in sorted(files, key=lambda f: (f.captured_at, -f.span)):
                assert capture.first is not None and capture.last is not None
                newest.update(dict.fromkeys(iter_days(capture.first, capture.last), capture))
            self._newest[key] = newest
        return self._newest[key]
