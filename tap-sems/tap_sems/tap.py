"""tap-sems: GoodWe SEMS portal data as Singer streams."""

from __future__ import annotations

import sys
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter

from tap_sems import streams
from tap_sems._sdk import DiscoveryOrderTap
from tap_sems.backends import BACKENDS, Source
from tap_sems.client import SemsError
from tap_sems.settings import INTERVALS, default

# A number, or its text: the SDK passes TAP_SEMS_* variables of number settings on as text.
SECONDS_OR_RATE = th.CustomType(
    {"type": ["number", "string"], "pattern": r"^\s*\d+(\.\d+)?\s*$", "minimum": 0}
)


class TapSems(DiscoveryOrderTap):
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
            default=default("backend"),
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
            default=default("interval_minutes"),
            allowed_values=list(INTERVALS),
            description="Sampling interval asked of SEMS+",
        ),
        th.Property(
            "lookback_days",
            th.IntegerType,
            default=default("lookback_days"),
            description="Finished days re-read before the bookmark (the portal fills days late)",
        ),
        th.Property(
            "max_requests_per_second",
            SECONDS_OR_RATE,
            default=default("max_requests_per_second"),
            description="Politeness limit; 0 means no limit",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=default("max_retries"),
            description="Retries of a failing request",
        ),
        th.Property(
            "backoff_seconds",
            SECONDS_OR_RATE,
            default=default("backoff_seconds"),
            description="First wait after a transient failure; doubles each retry",
        ),
        th.Property(
            "rate_limit_wait_seconds",
            SECONDS_OR_RATE,
            default=default("rate_limit_wait_seconds"),
            description="Wait after the portal says GY0429 (rate limited)",
        ),
        th.Property(
            "request_timeout_seconds",
            SECONDS_OR_RATE,
            default=default("request_timeout_seconds"),
            description="Per request",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """stations first (the others need its metadata), then plant_power, whose days
        daily_energy integrates without asking the portal again (legacy and archive)."""
        source = Source(self.config, self.logger)
        return [
            streams.StationsStream(self, source),
            streams.PlantPowerStream(self, source),
            streams.DailyEnergyStream(self, source),
        ]

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Stop with one clear line, not a traceback, on problems the user can fix."""
        try:
            super().invoke(*args, **kwargs)
        except SemsError as error:
            cls.logger.error("tap-sems stopped: %s", error)
            sys.exit(1)


if __name__ == "__main__":
    TapSems.cli()
