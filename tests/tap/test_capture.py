"""raw_dir: every data answer kept as sent, and replayed offline by backend archive."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    FakePortal,
    Station,
    demo_station,
    station_uuid,
)
from tap_sems.backends import Source, StationDirectory, open_backend
from tap_sems.capture import CaptureError
from tap_sems.settings import SemsConfigError, Settings

BERLIN = ZoneInfo("Europe/Berlin")
STREAMS = ("stations", "plant_power", "daily_energy")
HAMBURG = Station(
    id=station_uuid("capture-hamburg"),
    name="Meter no battery Hamburg",
    latitude=53.55,
    longitude=9.99,
    capacity_kwp=8.0,
    battery_kwh=0.0,
    address="Elbchaussee 2, 22763 Hamburg",
)
TWO_STATIONS = Account(DEMO_ACCOUNT, DEMO_PASSWORD, [demo_station(), HAMBURG])


def capture_files(root: Path) -> dict[str, dict[str, Any]]:
    """Relative path -> decoded capture, for every file below root."""
    return {
        path.relative_to(root).as_posix(): json.loads(gzip.decompress(path.read_bytes()))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def assert_nothing_secret(root: Path, secrets: list[str]) -> None:
    texts = [gzip.decompress(path.read_bytes()).decode() for path in root.rglob("*.gz")]
    assert texts
    leaked = [secret for secret in secrets if any(secret in text for text in texts)]
    assert leaked == []


@pytest.mark.parametrize("backend", ["semsplus", "legacy"])
def test_replay_of_the_raw_capture_gives_the_api_records(
    run_tap, tap_config, tmp_path: Path, backend: str
) -> None:
    raw = tmp_path / "raw"
    days = {"start_date": "2026-06-01", "end_date": "2026-06-09"}
    # The legacy station data names no zone, so both legacy runs need the setting.
    zone = {"timezone": "Europe/Berlin"} if backend == "legacy" else {}
    with FakePortal([TWO_STATIONS]) as portal:
        api = run_tap(tap_config(portal, backend, raw_dir=str(raw), **days, **zone))
        assert api.returncode == 0, api.stderr
        secrets = portal.secrets()
        portal.clear_requests()
        # No station ids and (SEMS+) no zone: both come from the capture.
        replay = run_tap({"backend": "archive", "archive_dir": str(raw), **days, **zone})
        assert replay.returncode == 0, replay.stderr
        assert portal.requests == []  # not one request: the capture is enough

    for stream in STREAMS:
        records = api.records(stream)
        assert records, stream
        assert replay.records(stream) == records, stream  # same keys, values, UTC times
    assert len(api.records("plant_power")) == 2 * 9 * 288
    for stream in ("plant_power", "daily_energy"):
        assert replay.bookmarks(stream) == api.bookmarks(stream)

    files = capture_files(raw)
    demo, hamburg = DEMO_STATION_ID, HAMBURG.id
    if backend == "semsplus":
        per_station = [
            "semsplus/power_curve/2026-06-01..2026-06-07.json.gz",
            "semsplus/power_curve/2026-06-08..2026-06-09.json.gz",
            "semsplus/station_detail.json.gz",
            "semsplus/statistics/2026-06-01..2026-06-09.json.gz",
        ]
        account = ["account/semsplus/station_list/page-1.json.gz"]
    else:
        per_station = [
            *(f"legacy/power_chart/2026-06-0{day}.json.gz" for day in range(1, 10)),
            "legacy/station_detail.json.gz",
        ]
        account = ["account/legacy/station_list.json.gz"]
    expected = account + [f"{sid}/{name}" for sid in (demo, hamburg) for name in per_station]
    assert sorted(files) == sorted(expected)  # and no temp file left behind
    first = files[f"{demo}/{per_station[0]}"]
    assert (first["generation"], first["station_id"], first["first_day"]) == (
        backend,
        demo,
        "2026-06-01",
    )
    assert str(first["answer"]["code"]) in ("0", "00000")
    assert_nothing_secret(raw, secrets)


def test_replay_of_a_day_not_yet_over_gives_the_api_records(
    run_tap, tap_config, tmp_path: Path
) -> None:
    """Today is read through the moment the request was sent: the capture keeps that moment,
    so the replayed partial day says the same as the API run (complete, read_through)."""
    raw = tmp_path / "raw"
    today = dt.datetime.now(BERLIN).date()
    days = {"start_date": (today - dt.timedelta(days=1)).isoformat()}
    with FakePortal() as portal:
        api = run_tap(tap_config(portal, raw_dir=str(raw), **days))
        assert api.returncode == 0, api.stderr
    replay = run_tap({"backend": "archive", "archive_dir": str(raw), **days})
    assert replay.returncode == 0, replay.stderr
    energy = {record["day"]: record for record in api.records("daily_energy")}
    if today.isoformat() not in energy:  # midnight passed between the two reads
        pytest.skip("the day changed during the test")
    assert energy[today.isoformat()]["complete"] is False
    for stream in STREAMS:
        assert replay.records(stream) == api.records(stream), stream


def test_the_newest_capture_of_a_day_is_replayed(run_tap, tap_config, tmp_path: Path) -> None:
    """A day read again later (the lookback) replays as the later run emitted it."""
    raw = tmp_path / "raw"
    noon = dt.datetime(2026, 6, 9, 12, 0, tzinfo=BERLIN)
    with FakePortal(now=noon) as portal:
        config = tap_config(portal, raw_dir=str(raw), start_date="2026-06-01", lookback_days=2)
        first = run_tap({**config, "end_date": "2026-06-09"})
        assert first.returncode == 0, first.stderr
        portal.now = dt.datetime(2026, 6, 12, 0, 30, tzinfo=BERLIN)
        second = run_tap({**config, "end_date": "2026-06-11"}, state=first.final_state)
        assert second.returncode == 0, second.stderr
    replay = run_tap(
        {
            "backend": "archive",
            "archive_dir": str(raw),
            "start_date": "2026-06-01",
            "end_date": "2026-06-11",
        }
    )
    assert replay.returncode == 0, replay.stderr
    for stream in ("plant_power", "daily_energy"):
        expected = [r for r in first.records(stream) if r["day"] < "2026-06-08"]
        expected += second.records(stream)  # 2026-06-08 .. 2026-06-11, re-read
        assert replay.records(stream) == expected, stream
    # The first run saw half of 2026-06-09; the replay has all of it, as the second run.
    power_days = [r["day"] for r in replay.records("plant_power")]
    assert (
        power_days.count("2026-06-09")
        == 288
        > [r["day"] for r in first.records("plant_power")].count("2026-06-09")
    )


def test_each_answer_is_on_disk_before_its_window_is_handed_on(portal, tap_config, tmp_path):
    raw = tmp_path / "raw"
    config = tap_config(portal, raw_dir=str(raw), start_date="2026-06-01")
    source = Source(config, logging.getLogger("test"))
    windows = source.backend.curve_windows(
        DEMO_STATION_ID, dt.date(2026, 6, 1), dt.date(2026, 6, 9), BERLIN
    )
    folder = raw / DEMO_STATION_ID / "semsplus" / "power_curve"
    assert next(windows).last == dt.date(2026, 6, 7)
    assert sorted(path.name for path in folder.iterdir()) == ["2026-06-01..2026-06-07.json.gz"]
    assert next(windows).last == dt.date(2026, 6, 9)
    assert len(list(folder.iterdir())) == 2


def test_an_answer_that_cannot_be_kept_stops_before_its_records(
    portal, run_tap, tap_config, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    # A folder where the second window's file belongs: the rename onto it fails.
    blocked = raw / DEMO_STATION_ID / "semsplus" / "power_curve" / "2026-06-08..2026-06-09.json.gz"
    blocked.mkdir(parents=True)
    config = tap_config(portal, raw_dir=str(raw), start_date="2026-06-01", end_date="2026-06-09")
    run = run_tap(config)
    assert run.returncode == 1
    assert f"cannot keep the raw answer in '{blocked}'" in run.stderr
    assert "Traceback" not in run.stderr
    days = sorted({r["day"] for r in run.records("plant_power")})
    assert days == [f"2026-06-0{day}" for day in range(1, 8)]  # the first window only
    assert run.bookmarks("plant_power") == {DEMO_STATION_ID: "2026-06-07"}


def test_a_raw_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    config = {"account": "a@example.com", "password": "pw", "start_date": "2026-06-01"}
    settings = Settings.from_config({**config, "raw_dir": str(a_file)})
    with pytest.raises(CaptureError, match=f"raw_dir .{a_file}."):
        open_backend(settings, logging.getLogger("test"))


def test_legacy_day_files_still_need_their_station_and_zone(tmp_path: Path) -> None:
    (tmp_path / "raw_v2_2026-06-01.json").write_text("{}")
    base = {"backend": "archive", "archive_dir": str(tmp_path), "start_date": "2026-06-01"}
    logger = logging.getLogger("test")
    with pytest.raises(SemsConfigError, match="needs the `timezone` setting"):
        open_backend(Settings.from_config(base), logger)
    settings = Settings.from_config({**base, "timezone": "Europe/Berlin"})
    directory = StationDirectory(open_backend(settings, logger), settings, logger)
    with pytest.raises(SemsConfigError, match="needs `station_ids`"):
        _ = directory.ids
