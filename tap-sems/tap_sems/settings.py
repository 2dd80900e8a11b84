"""The tap's settings as one typed object, checked once.

Each default is defined once, on the dataclass field that holds the setting (`Settings`,
or `RetryPolicy` for the politeness and retry settings); the JSON schema in tap.py asks
`default(name)` for it. So `--about`, Meltano and a config read without the SDK (tests,
scripts) all see the same value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_sems.client import RetryPolicy, SemsError
from tap_sems.timeutil import load_zone

INTERVALS = (1, 5, 10, 15, 30, 60)
END_MEANS_TODAY = ("", "latest", "today", "now")


class SemsConfigError(SemsError):
    """Settings that cannot work; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one run."""

    start_date: dt.date
    backend: str = "semsplus"
    end_date: dt.date | None = None  # None: today in the plant's zone
    station_ids: tuple[str, ...] = ()  # empty: every station the account can see
    account: str = ""
    password: str = field(default="", repr=False)
    api_url: str | None = None
    archive_dir: Path | None = None
    timezone: str | None = None
    fallback_utc_offset: str | None = None
    interval_minutes: int = 5
    lookback_days: int = 2
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def max_gap_seconds(self) -> float:
        """Longest sampling gap bridged when integrating energy from a curve."""
        return max(3 * self.interval_minutes, 15) * 60.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check what the JSON schema cannot express; name the setting that is wrong."""

        def given(name: str) -> Any:
            value = config.get(name)
            return default(name) if value is None or value == "" else value

        backend = str(given("backend"))
        account, password = str(config.get("account") or ""), str(config.get("password") or "")
        if backend != "archive" and not (account and password):
            raise SemsConfigError(
                f"backend '{backend}' needs the `account` and `password` settings"
            )
        timezone = checked_zone("timezone", config.get("timezone"))
        fallback = checked_zone("fallback_utc_offset", config.get("fallback_utc_offset"))
        if backend == "archive" and not (timezone or fallback):
            raise SemsConfigError(
                "backend 'archive' needs the `timezone` setting (legacy day files only hold "
                "wall-clock times), for example Europe/Berlin"
            )
        interval = int(given("interval_minutes"))
        if interval not in INTERVALS:
            raise SemsConfigError(f"interval_minutes must be one of {list(INTERVALS)}")
        if not config.get("start_date"):
            raise SemsConfigError("the `start_date` setting is required (YYYY-MM-DD)")
        start = dt.date.fromisoformat(str(config["start_date"])[:10])
        end = parse_end_date(config.get("end_date"))
        if end and end < start:
            raise SemsConfigError(f"end_date {end} is before start_date {start}")
        station_ids = parse_station_ids(config.get("station_ids"))
        if backend == "archive":
            if not station_ids:
                raise SemsConfigError(
                    "backend 'archive' needs `station_ids` with the station the files belong to"
                )
            station_ids = station_ids[:1]
        archive_dir = config.get("archive_dir")
        return cls(
            backend=backend,
            start_date=start,
            end_date=end,
            station_ids=station_ids,
            account=account,
            password=password,
            api_url=config.get("api_url") or None,
            archive_dir=Path(archive_dir).expanduser() if archive_dir else None,
            timezone=timezone,
            fallback_utc_offset=fallback,
            interval_minutes=interval,
            lookback_days=max(0, int(given("lookback_days"))),
            policy=RetryPolicy(
                max_retries=int(given("max_retries")),
                backoff_seconds=float(given("backoff_seconds")),
                rate_limit_wait_seconds=float(given("rate_limit_wait_seconds")),
                request_timeout_seconds=float(given("request_timeout_seconds")),
                max_requests_per_second=float(given("max_requests_per_second")),
            ),
        )


def default(name: str) -> Any:
    """The default of setting `name`, from the field that holds it."""
    for owner in (Settings, RetryPolicy):
        for item in dataclasses.fields(owner):
            if item.name == name and item.default is not dataclasses.MISSING:
                return item.default
    raise KeyError(f"setting {name!r} has no default")


def checked_zone(name: str, value: Any) -> str | None:
    """`timezone` (an IANA name or a fixed offset) or `fallback_utc_offset` (an offset)."""
    if not value:
        return None
    try:
        zone = load_zone(str(value))
    except ValueError as error:
        raise SemsConfigError(f"{name}: {error}") from None
    if name == "fallback_utc_offset" and not isinstance(zone, dt.timezone):
        raise SemsConfigError(
            f"fallback_utc_offset '{value}' is not a UTC offset such as +08:00 "
            "(an IANA zone name belongs in `timezone`)"
        )
    return str(value)


def parse_end_date(value: Any) -> dt.date | None:
    """end_date as the earlier exporter's SEMS_END wrote it: a date, or latest/today/now."""
    text = str(value or "").strip()
    if text.lower() in END_MEANS_TODAY:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise SemsConfigError(f"end_date '{text}' is not a date (YYYY-MM-DD) or 'latest'") from None


def parse_station_ids(value: Any) -> tuple[str, ...]:
    """Items may hold comma-separated ids, as SEMS_STATION_ID="uuid-1,uuid-2" does."""
    listed = (part.strip() for item in value or [] for part in str(item).split(","))
    return tuple(dict.fromkeys(part for part in listed if part))
