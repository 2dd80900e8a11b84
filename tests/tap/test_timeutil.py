"""Wall clock to UTC on ordinary and daylight-saving days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tap_sems.timeutil import DayClock, NonexistentLocalTimeError, chunk_days, load_zone

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def test_ordinary_day_uses_one_offset() -> None:
    clock = DayClock(dt.date(2026, 7, 1), BERLIN)
    assert clock.fixed_offset == dt.timedelta(hours=2)
    assert clock.to_utc(dt.datetime(2026, 7, 1, 12, 0)) == dt.datetime(2026, 7, 1, 10, tzinfo=UTC)


def test_autumn_repeated_hour_is_placed_by_occurrence() -> None:
    clock = DayClock(dt.date(2026, 10, 25), BERLIN)
    assert clock.fixed_offset is None
    wall = dt.datetime(2026, 10, 25, 2, 30)
    first, second = clock.to_utc(wall, 0), clock.to_utc(wall, 1)
    assert first == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second == dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="more than twice"):
        clock.to_utc(wall, 2)


def test_spring_gap_does_not_exist() -> None:
    clock = DayClock(dt.date(2026, 3, 29), BERLIN)
    with pytest.raises(NonexistentLocalTimeError):
        clock.to_utc(dt.datetime(2026, 3, 29, 2, 15))
    assert clock.to_utc(dt.datetime(2026, 3, 29, 3, 0)) == dt.datetime(2026, 3, 29, 1, tzinfo=UTC)


def test_repeated_unambiguous_time_is_an_error() -> None:
    clock = DayClock(dt.date(2026, 10, 25), BERLIN)
    with pytest.raises(ValueError, match="not ambiguous"):
        clock.to_utc(dt.datetime(2026, 10, 25, 12, 0), 1)


def test_zone_names_are_checked() -> None:
    with pytest.raises(ValueError, match="neither an IANA time zone name"):
        load_zone("CET+1")
    with pytest.raises(ValueError, match="at most 14 hours"):
        load_zone("+15:00")


@pytest.mark.parametrize(
    ("text", "hours"), [("+08:00", 8), ("-05:00", -5), ("UTC+1", 1), ("+0530", 5.5)]
)
def test_fixed_offsets_as_the_old_exporter_wrote_them(text: str, hours: float) -> None:
    zone = load_zone(text)
    assert zone.utcoffset(None) == dt.timedelta(hours=hours)
    clock = DayClock(dt.date(2026, 10, 25), zone)
    assert clock.to_utc(dt.datetime(2026, 10, 25, 12)) == dt.datetime(
        2026, 10, 25, 12, tzinfo=UTC
    ) - dt.timedelta(hours=hours)


def test_chunk_days_covers_range_without_overlap() -> None:
    chunks = list(chunk_days(dt.date(2026, 1, 1), dt.date(2026, 1, 16), 7))
    assert chunks == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 7)),
        (dt.date(2026, 1, 8), dt.date(2026, 1, 14)),
        (dt.date(2026, 1, 15), dt.date(2026, 1, 16)),
    ]
