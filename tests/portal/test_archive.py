"""Legacy day files: both variants hold what the legacy endpoint serves for the day."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from sems_fake_portal import DEMO_STATION_ID, FakePortal, demo_station
from sems_fake_portal.archive import write_legacy_day_files
from sems_fake_portal.client import LegacySession

FIRST, LAST = date(2026, 6, 12), date(2026, 6, 15)  # the last one is today, partial


def test_response_variant_equals_the_endpoint_answer(
    tmp_path: Path, portal: FakePortal, legacy: LegacySession, fixed_now: datetime
) -> None:
    written = write_legacy_day_files(
        tmp_path, demo_station(), FIRST, LAST, variant="response", now=fixed_now
    )
    assert [path.name for path in written] == [
        "raw_v2_2026-06-12.json",
        "raw_v2_2026-06-13.json",
        "raw_v2_2026-06-14.json",
        "raw_v2_2026-06-15.json",
    ]
    for path in written:
        day = date.fromisoformat(path.stem.removeprefix("raw_v2_"))
        saved = json.loads(path.read_text(encoding="utf-8"))
        served = legacy.power_chart(DEMO_STATION_ID, day).json()
        assert saved == served
    today = json.loads(written[-1].read_text(encoding="utf-8"))
    assert today["data"]["lines"][0]["xy"][-1]["x"] == "16:00"
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in written]  # no .tmp


def test_data_variant_is_the_bare_data_object(
    tmp_path: Path, legacy: LegacySession, fixed_now: datetime
) -> None:
    (path,) = write_legacy_day_files(
        tmp_path, demo_station(), FIRST, FIRST, variant="data", now=fixed_now
    )
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert set(saved) == {"generateData", "lines"}
    assert saved == legacy.power_chart(DEMO_STATION_ID, FIRST).json()["data"]


def test_days_after_today_are_not_written(tmp_path: Path, fixed_now: datetime) -> None:
    written = write_legacy_day_files(
        tmp_path, demo_station(), date(2026, 6, 14), date(2026, 6, 20), now=fixed_now
    )
    assert [p.name for p in written] == ["raw_v2_2026-06-14.json", "raw_v2_2026-06-15.json"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="variant"):
        write_legacy_day_files(tmp_path, demo_station(), FIRST, LAST, variant="zip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before"):
        write_legacy_day_files(tmp_path, demo_station(), LAST, FIRST)


def test_archive_command(tmp_path: Path) -> None:
    folder = tmp_path / "json_export"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sems_fake_portal",
            "archive",
            str(folder),
            "--from",
            "2025-12-30",
            "--to",
            "2026-01-02",
            "--variant",
            "data",
            "--now",
            "2026-06-15T12:00:00+00:00",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "wrote 4 day files" in result.stdout
    names = sorted(p.name for p in folder.iterdir())
    assert names[0] == "raw_v2_2025-12-30.json" and names[-1] == "raw_v2_2026-01-02.json"
    saved = json.loads((folder / "raw_v2_2026-01-01.json").read_text(encoding="utf-8"))
    assert len(saved["lines"][0]["xy"]) == 288
