"""tap-sems: GoodWe SEMS portal data as Singer streams."""

from __future__ import annotations

import datetime as dt
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter

from tap_sems import streams
from tap_sems.backends import BACKENDS, Backend, SemsConfigError, Settings
from tap_sems.client import RetryPolicy, SemsError
from tap_sems.parsing import Record
from tap_sems.stations import legacy_utc_offset_hours
from tap_sems.timeutil import load_zone

INTERVALS = [1, 5, 10, 15, 30, 60]
# A number, or its text: the SDK passes TAP_SEMS_* variables of number settings on as text.
SECONDS_OR_RATE = th.CustomType(
    {"type": ["number", "string"], "pattern": r"^\s*\d+(\.\d+)?\s*$", "minimum": 0}
)


class TapSems(Tap):
    """Every day of every station's power curve, incrementally."""

    name = "tap-sems"
    # msgspec serialises records several times faster than the default writer.
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property("account", th.StringType, description="SEMS portal login (e-mail)"),
        th.Property("password", th.StringType, secret=True, description="SEMS portal password"),
        th.Property(
            "station_ids",
            th.ArrayType(th.StringType),
            description="Station UUIDs; when empty, every station the account can see",
        ),
        th.Property(
            "start_date",
            th.DateType,
            required=True,
            description="First plant-local day to export",
        ),
        th.Property(
            "end_date",
            th.StringType,
            description="Last day (YYYY-MM-DD); empty or 'latest' means today in the plant's zone",
        ),
        th.Property(
            "backend",
            th.StringType,
            default="semsplus",
            allowed_values=list(BACKENDS),
            description="semsplus (the live API), legacy, or archive (a folder of legacy files)",
        ),
        th.Property(
            "api_url",
            th.StringType,
            description="Login base URL; defaults to the public SEMS+ (legacy: semsportal) host",
        ),
        th.Property(
            "archive_dir",
            th.StringType,
            description="For backend archive: folder of raw_v2_YYYY-MM-DD.json legacy day files",
        ),
        th.Property(
            "timezone",
            th.StringType,
            description="The plant's IANA time zone; default: from the portal's station data",
        ),
        th.Property(
            "fallback_utc_offset",
            th.StringType,
            description=(
                "Fixed UTC offset (e.g. +08:00) used only when neither `timezone` nor the "
                "portal names the plant's zone; ignores daylight saving (the earlier "
                "exporter's SEMS_TZ_OFFSET)"
            ),
        ),
        th.Property(
            "interval_minutes",
            th.IntegerType,
            default=5,
            allowed_values=INTERVALS,
            description="Sampling interval asked of SEMS+",
        ),
        th.Property(
            "lookback_days",
            th.IntegerType,
            default=2,
            description="Finished days re-read before the bookmark (the portal fills days late)",
        ),
        th.Property(
            "max_requests_per_second",
            SECONDS_OR_RATE,
            default=1,
            description="Politeness limit; 0 means no limit",
        ),
        th.Property(
            "max_retries", th.IntegerType, default=5, description="Retries of a failing request"
        ),
        th.Property(
            "backoff_seconds",
            SECONDS_OR_RATE,
            default=2,
            description="First wait after a transient failure; doubles each retry",
        ),
        th.Property(
            "rate_limit_wait_seconds",
            SECONDS_OR_RATE,
            default=300,
            description="Wait after the portal says GY0429 (rate limited)",
        ),
        th.Property(
            "request_timeout_seconds", SECONDS_OR_RATE, default=30, description="Per request"
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._station_records: dict[str, Record] = {}

    def discover_streams(self) -> list[Stream]:
        return [
            streams.StationsStream(self),
            streams.PlantPowerStream(self),
            streams.DailyEnergyStream(self),
        ]

    def load_streams(self) -> list[Stream]:  # type: ignore[misc]
        """Keep discovery order instead of the SDK's alphabetical one.

        stations first (it reads the metadata the others need), then plant_power, whose
        days daily_energy integrates without asking the portal for them again. The SDK
        marks this final only for typing; the tap has no parent/child streams to order.
        """
        return self.discover_streams()

    @cached_property
    def settings(self) -> Settings:
        """The configuration, checked for what JSON schema cannot express."""
        config: dict[str, Any] = dict(self.config)
        backend = config.get("backend") or "semsplus"
        if backend != "archive" and not (config.get("account") and config.get("password")):
            raise SemsConfigError(
                f"backend '{backend}' needs the `account` and `password` settings"
            )
        timezone = config.get("timezone") or None
        fallback = config.get("fallback_utc_offset") or None
        for name, value in (("timezone", timezone), ("fallback_utc_offset", fallback)):
            if value:
                try:
                    zone = load_zone(value)
                except ValueError as error:
                    raise SemsConfigError(f"{name}: {error}") from None
                if name == "fallback_utc_offset" and not isinstance(zone, dt.timezone):
                    raise SemsConfigError(
                        f"fallback_utc_offset '{value}' is not a UTC offset such as +08:00 "
                        "(an IANA zone name belongs in `timezone`)"
                    )
        if backend == "archive" and not (timezone or fallback):
            raise SemsConfigError(
                "backend 'archive' needs the `timezone` setting (legacy day files only hold "
                "wall-clock times), for example Europe/Berlin"
            )
        if int(config.get("interval_minutes", 5)) not in INTERVALS:
            raise SemsConfigError(f"interval_minutes must be one of {INTERVALS}")
        start = dt.date.fromisoformat(str(config["start_date"])[:10])
        end = parse_end_date(config.get("end_date"))
        if end and end < start:
            raise SemsConfigError(f"end_date {end} is before start_date {start}")
        # Items may hold comma-separated ids (SEMS_STATION_ID="uuid-1,uuid-2").
        listed = (
            part.strip() for item in config.get("station_ids") or [] for part in item.split(",")
        )
        station_ids = tuple(dict.fromkeys(part for part in listed if part))
        if backend == "archive":
            if not station_ids:
                raise SemsConfigError(
                    "backend 'archive' needs `station_ids` with the station the files belong to"
                )
            station_ids = station_ids[:1]
        return Settings(
            backend=backend,
            start_date=start,
            end_date=end,
            station_ids=station_ids,
            account=config.get("account") or "",
            password=config.get("password") or "",
            api_url=config.get("api_url") or None,
            archive_dir=Path(config["archive_dir"]).expanduser()
            if config.get("archive_dir")
            else None,
            timezone=timezone,
            fallback_utc_offset=fallback,
            interval_minutes=int(config.get("interval_minutes", 5)),
            lookback_days=max(0, int(config.get("lookback_days", 2))),
            policy=RetryPolicy(
                max_retries=int(config.get("max_retries", 5)),
                backoff_seconds=float(config.get("backoff_seconds", 2)),
                rate_limit_wait_seconds=float(config.get("rate_limit_wait_seconds", 300)),
                request_timeout_seconds=float(config.get("request_timeout_seconds", 30)),
                max_requests_per_second=float(config.get("max_requests_per_second", 1)),
            ),
        )

    @cached_property
    def backend(self) -> Backend:
        return BACKENDS[self.settings.backend](self.settings, self.logger)

    @cached_property
    def station_ids(self) -> list[str]:
        if self.settings.station_ids:
            return list(self.settings.station_ids)
        ids = self.backend.list_station_ids()
        if not ids:
            raise SemsError(f"The account '{self.settings.account}' can see no stations")
        self.logger.info("The account can see %d station(s)", len(ids))
        return ids

    def station_record(self, station_id: str) -> Record:
        """Station metadata (one request per station and run), with the zone in use."""
        record = self._station_records.get(station_id)
        if record is None:
            record = dict(self.backend.station_record(station_id))
            fallback = self.settings.fallback_utc_offset
            if self.settings.timezone:
                record["timezone"] = self.settings.timezone
            elif not record.get("timezone") and fallback:
                self.logger.warning(
                    "Station %s: the portal names no time zone; using the fixed offset %s "
                    "(fallback_utc_offset). Daylight saving is ignored: set `timezone` to "
                    "the plant's IANA zone if its clocks change.",
                    station_id,
                    fallback,
                )
                record["timezone"] = fallback
            self._station_records[station_id] = record
        return record

    def station_zone(self, station_id: str) -> dt.tzinfo:
        """`timezone`, else the zone the portal names, else `fallback_utc_offset`."""
        if self.settings.timezone:
            return load_zone(self.settings.timezone)
        record = self.station_record(station_id)
        if record.get("timezone"):
            return load_zone(record["timezone"])
        offset = legacy_utc_offset_hours(record)
        hint = f" (it only gives the UTC offset {offset:+g} h)" if offset is not None else ""
        raise SemsConfigError(
            f"Station {station_id}: the portal does not say which time zone the plant is in"
            f"{hint}, and wall-clock times cannot be placed in UTC without one. Set the "
            "`timezone` setting to the plant's IANA zone, for example Europe/Berlin."
        )

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Stop with one clear line, not a traceback, on problems the user can fix."""
        try:
            super().invoke(*args, **kwargs)
        except SemsError as error:
            cls.logger.error("tap-sems stopped: %s", error)
            sys.exit(1)


def parse_end_date(value: Any) -> dt.date | None:
    """end_date as the earlier exporter's SEMS_END wrote it: a date, or latest/today/now."""
    text = str(value or "").strip()
    if text.lower() in ("", "latest", "today", "now"):
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise SemsConfigError(f"end_date '{text}' is not a date (YYYY-MM-DD) or 'latest'") from None


if __name__ == "__main__":
    TapSems.cli()
