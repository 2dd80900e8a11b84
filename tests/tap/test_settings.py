"""Settings are checked once, with messages that say what to change."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tap_sems.backends import SemsConfigError
from tap_sems.tap import TapSems

BASE = {"account": "a@example.com", "password": "secret", "start_date": "2026-01-01"}


def settings(**config: Any):
    return TapSems(config={**BASE, **config}, validate_config=True).settings


def test_old_exporter_values_are_understood() -> None:
    checked = settings(station_ids=["a, b", "", "a"], end_date="latest")
    assert checked.station_ids == ("a", "b")
    assert checked.end_date is None
    assert settings(end_date="2026-02-01").end_date == dt.date(2026, 2, 1)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"end_date": "soon"}, "end_date 'soon' is not a date"),
        ({"end_date": "2025-12-31"}, "end_date 2025-12-31 is before start_date"),
        ({"timezone": "Berlin"}, "timezone: 'Berlin' is neither an IANA time zone"),
        ({"fallback_utc_offset": "Europe/Berlin"}, "belongs in `timezone`"),
        ({"password": ""}, "needs the `account` and `password` settings"),
        ({"backend": "archive", "archive_dir": "/tmp"}, "needs the `timezone` setting"),
        (
            {"backend": "archive", "archive_dir": "/tmp", "timezone": "Europe/Berlin"},
            "needs `station_ids`",
        ),
    ],
)
def test_unworkable_settings_are_named(config: dict[str, Any], message: str) -> None:
    with pytest.raises(SemsConfigError, match=message):
        settings(**config)


def test_password_is_not_in_the_settings_repr() -> None:
    assert "secret" not in repr(settings())
