"""tap-sems: GoodWe SEMS portal data as Singer streams."""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import EMIT_ACTIVATE_VERSION_CONFIG

from tap_sems import REPOSITORY, SUMMARY, streams
from tap_sems._sdk import DiscoveryOrderTap
from tap_sems.backends import BACKENDS, Source
from tap_sems.client import SemsError
from tap_sems.settings import INTERVALS, default

# Exit codes: 1 the run stopped; 3 it finished, but some days were set aside.
STOPPED = 1
DAYS_SET_ASIDE = 3


# What the SDK does with emit_activate_version_messages, for this tap's streams.
ACTIVATE_VERSION_DESCRIPTION = (
    "Open the stations stream (a full table) with an ACTIVATE_VERSION message and give its "
    "records that version, so a target that implements it can drop stations no longer "
    "listed; plant_power and daily_energy are incremental and get none"
)


class SemsDaysSetAsideError(SemsError):
    """The run finished, but days or stations could not be read (fail_on_set_aside_days)."""


# A number, or its text: the SDK passes TAP_SEMS_* variables of number settings on as text.
SECONDS_OR_RATE = th.CustomType(
    {"type": ["number", "string"], "pattern": r"^\s*\d+(\.\d+)?\s*$", "minimum": 0}
)


class TapSems(DiscoveryOrderTap):
    # What `--about`, and so the Meltano plugin definition, says the tap is: the package's
    # description (pyproject.toml), which names the portal, both API generations and streams.
    __doc__ = SUMMARY

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
            description="First plant-local day to export, YYYY-MM-DD",
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
            description=(
                "For backend archive: a raw_dir of earlier runs, and/or a folder of the earlier "
                "exporter's raw_v2_YYYY-MM-DD.json legacy day files"
            ),
        ),
        th.Property(
            "raw_dir",
            th.StringType,
            description=(
                "Local folder where every data answer of the portal is kept as sent (gzipped "
                "JSON per station, endpoint and days), so backend archive can re-read it"
            ),
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
            "max_day_attempts",
            th.IntegerType,
            default=default("max_day_attempts"),
            description=(
                "Runs that try a day that cannot be read before it is set aside for good "
                "(still listed in the state and a warning, read again only when retry_days "
                "names it)"
            ),
        ),
        th.Property(
            "retry_days",
            th.ArrayType(th.StringType),
            description=(
                "Days set aside for good to read again in this run: YYYY-MM-DD, "
                "YYYY-MM-DD..YYYY-MM-DD, or all"
            ),
        ),
        th.Property(
            "fail_on_set_aside_days",
            th.BooleanType,
            default=default("fail_on_set_aside_days"),
            description=(
                "End a run in which days were set aside with exit code 3, after everything "
                "else was exported; false: exit 0 with warnings"
            ),
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
        # No schema default: Meltano would pass a definition's copy of it to later releases.
        th.Property(
            "user_agent",
            th.StringType,
            description=(
                "User-Agent header of every request to the portal; default: tap-sems/<its "
                f"version> (+{REPOSITORY})"
            ),
        ),
    ).to_dict()

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """Also declare emit_activate_version_messages: the SDK reads it but declares it for
        no tap, so neither Meltano nor TAP_SEMS_* variables would know it."""
        super().append_builtin_config(config_jsonschema)
        properties = config_jsonschema.setdefault("properties", {})
        for name, spec in EMIT_ACTIVATE_VERSION_CONFIG["properties"].items():
            properties.setdefault(name, spec | {"description": ACTIVATE_VERSION_DESCRIPTION})

    @cached_property
    def source(self) -> Source:
        """Settings, backend, stations and the report of the run, shared by the streams."""
        return Source(self.config, self.logger)

    def discover_streams(self) -> list[Stream]:
        """stations first (the others need its metadata), then plant_power, whose days
        daily_energy integrates (legacy and archive) or checks its statistics against."""
        return [
            streams.StationsStream(self, self.source),
            streams.PlantPowerStream(self, self.source),
            streams.DailyEnergyStream(self, self.source),
        ]

    def before_sync(self) -> None:
        """Settings that cannot work stop the run before the portal is asked anything."""
        _ = self.source.settings

    def after_sync(self) -> None:
        """Name the days set aside for good, and end non-zero if this run set any aside."""
        report = self.source.report
        report.warn_given_up(self.logger)
        summary = report.summary()
        if summary is None:
            return
        if not self.source.settings.fail_on_set_aside_days:
            self.logger.warning("%s", summary)
            return
        raise SemsDaysSetAsideError(
            f"{summary} This run ends with exit code {DAYS_SET_ASIDE} so schedulers notice; "
            "set fail_on_set_aside_days to false to end such runs with 0."
        )

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Every fatal error ends with one plain line at error level, the last the tap
        writes: what went wrong and what to do. The traceback only at debug level."""
        try:
            super().invoke(*args, **kwargs)
        except SemsDaysSetAsideError as error:
            cls.stop(f"tap-sems finished with days set aside. {error}", DAYS_SET_ASIDE)
        except SemsError as error:
            cls.stop(f"tap-sems stopped: {error}")
        except ConfigValidationError as error:
            problems = "; ".join(str(problem) for problem in error.errors) or str(error)
            cls.stop(
                f"tap-sems stopped: the settings are not valid: {problems}. See the settings "
                "table in the tap-sems README."
            )
        except BrokenPipeError:
            # Python would fail again flushing stdout at exit, after the line below.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            cls.stop(
                "tap-sems stopped: the program reading its output (the target) stopped "
                "reading, so nothing more could be sent. Its log says why."
            )
        except Exception as error:  # a bug: say so plainly, the traceback is for debug
            cls.stop(
                f"tap-sems stopped on an unexpected error ({type(error).__name__}: {error}). "
                "If the config, state and catalog files are valid, this is a bug in tap-sems: "
                "run again with TAP_SEMS_LOGLEVEL=debug to see where it happened, and report it."
            )

    @classmethod
    def stop(cls, line: str, code: int = STOPPED) -> None:
        cls.logger.debug("Where the run stopped:", exc_info=True)
        cls.logger.error("%s", line)
        sys.exit(code)


if __name__ == "__main__":
    TapSems.cli()
