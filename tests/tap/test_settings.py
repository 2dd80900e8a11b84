"""Settings are checked once, with messages that say what to change; defaults live once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import EMIT_ACTIVATE_VERSION_CONFIG

from tap_sems.client import RetryPolicy
from tap_sems.settings import SemsConfigError, Settings, default
from tap_sems.tap import TapSems

BASE = {"account": "a@example.com", "password": "secret", "start_date": "2026-01-01"}


def settings(**config: Any) -> Settings:
    """As a run gets them: validated by the tap's JSON schema, then checked."""
    return Settings.from_config(TapSems(config={**BASE, **config}, validate_config=True).config)


def test_old_exporter_values_are_understood() -> None:
    checked = settings(station_ids=["a, b", "", "a"], end_date="latest")
    assert checked.station_ids == ("a", "b")
    assert checked.end_date is None
    assert settings(end_date="2026-02-01").end_date == dt.date(2026, 2, 1)


@pytest.mark.parametrize("written", ["01.03.2026", "12.01.2026", "2026/03/01", "2026-3-1"])
@pytest.mark.parametrize("name", ["start_date", "end_date", "retry_days"])
def test_dates_are_iso_days_only(name: str, written: str) -> None:
    config = {"start_date": "2026-01-01", name: [written] if name == "retry_days" else written}
    with pytest.raises(SemsConfigError) as refused:
        settings(**config)
    assert f"{name} '{written}' is not a date in the form YYYY-MM-DD" in str(refused.value)
    assert "for example 2026-03-01 for 1 March 2026" in str(refused.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"start_date": "2026-01-01T00:00:00"}, "is not a date in the form YYYY-MM-DD"),
        ({"start_date": "2026-02-30"}, "start_date '2026-02-30' is not a day of the calendar"),
        ({"start_date": "2099-01-01"}, "start_date 2099-01-01 is in the future"),
        ({"end_date": "soon"}, "end_date 'soon' is not a date"),
        ({"retry_days": ["2026-03-05..2026-03-01"]}, "the range ends before it starts"),
        ({"max_day_attempts": 0}, "max_day_attempts must be 1 or more"),
        ({"end_date": "2025-12-31"}, "end_date 2025-12-31 is before start_date"),
        ({"timezone": "Berlin"}, "timezone: 'Berlin' is neither an IANA time zone"),
        ({"fallback_utc_offset": "Europe/Berlin"}, "belongs in `timezone`"),
        ({"password": ""}, "needs the `account` and `password` settings"),
        ({"raw_dir": "s3://bucket/raw"}, "is not a local folder"),
        ({"user_agent": "house\nmonitor"}, "user_agent 'house\\\\nmonitor' is not one line"),
        ({"user_agent": "Haus-Überwachung"}, "not one line of printable ASCII"),
    ],
)
def test_unworkable_settings_are_named(config: dict[str, Any], message: str) -> None:
    with pytest.raises(SemsConfigError, match=message):
        settings(**config)


def test_the_latest_start_is_today_where_it_is_latest() -> None:
    from tap_sems.settings import latest_today

    evening = dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC)
    assert latest_today(evening) == dt.date(2026, 3, 2)  # already 2 March in Kiribati
    assert latest_today(evening.replace(hour=9)) == dt.date(2026, 3, 1)


def test_retry_days_name_days_ranges_or_all() -> None:
    chosen = settings(retry_days=["2026-03-01, 2026-03-10..2026-03-12"]).retry_days
    assert dt.date(2026, 3, 1) in chosen and dt.date(2026, 3, 11) in chosen
    assert dt.date(2026, 3, 2) not in chosen
    assert dt.date(2020, 1, 1) in settings(retry_days=["all"]).retry_days
    assert not settings().retry_days


def test_password_is_not_in_the_settings_repr() -> None:
    assert "secret" not in repr(settings())


def test_numbers_from_environment_text_are_read() -> None:
    checked = settings(max_requests_per_second=" 20.5 ", backoff_seconds="0", lookback_days=0)
    assert checked.policy.max_requests_per_second == 20.5
    assert checked.policy.backoff_seconds == 0
    assert checked.lookback_days == 0


def test_each_default_is_the_fields_and_the_schemas() -> None:
    """The schema's defaults are read from the dataclass fields, and nothing else sets one."""
    schema = TapSems.config_jsonschema["properties"]
    with_default = {name for name, spec in schema.items() if "default" in spec}
    with_default -= set(EMIT_ACTIVATE_VERSION_CONFIG["properties"])  # the SDK reads it
    assert {name: schema[name]["default"] for name in with_default} == {
        name: default(name) for name in with_default
    }
    # Without any of them in the config, a run gets exactly the field defaults.
    bare = Settings.from_config(BASE)
    assert bare == Settings(
        start_date=dt.date(2026, 1, 1), account="a@example.com", password="secret"
    )
    assert bare.policy == RetryPolicy()


def test_every_declared_setting_is_read() -> None:
    """A setting in the schema that no field holds would be accepted and then ignored."""

    class BareTap(Tap):
        """Only the settings the SDK adds to every tap (stream maps, flattening, batches)."""

        name = "bare"
        config_jsonschema = th.PropertiesList().to_dict()

        def discover_streams(self) -> list[Stream]:
            return []

    fields = {item.name for item in dataclasses.fields(Settings)}
    fields |= {item.name for item in dataclasses.fields(RetryPolicy)}
    declared = set(TapSems.config_jsonschema["properties"])
    builtins = set(BareTap(config={}, validate_config=False).config_jsonschema["properties"])
    assert builtins  # stream maps, flattening, batches: the SDK reads those itself
    builtins |= set(EMIT_ACTIVATE_VERSION_CONFIG["properties"])  # read by the SDK too
    assert declared - builtins - fields == set()
