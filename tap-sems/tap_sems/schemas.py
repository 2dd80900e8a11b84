"""JSON schemas of the tap's streams.

These are the contract with every target: target-parquet-sems types its columns from
them and sems-battery reads the `plant_power` columns by these names. Power is always
in watts, energy in kWh; a series the plant does not have is null, never 0.
"""

from __future__ import annotations

from singer_sdk import typing as th

PLANT_POWER_KEY = ("station_id", "timestamp")
DAILY_ENERGY_KEY = ("station_id", "day")
STATIONS_KEY = ("station_id",)

# `extra`: keys and values as the portal sent them, known only when they arrive. Declared
# without `properties`, so that schema flattening (the SDK's `flattening_enabled`) turns it
# into one JSON text column, as it does every object whose keys are not declared; with an
# empty `properties` the SDK drops it from the flattened schema and spreads its keys over
# record fields no SCHEMA message declares, which targets then silently drop.
FREE_FORM_OBJECT = th.CustomType({"type": ["object"], "additionalProperties": True})

PLANT_POWER = th.PropertiesList(
    th.Property("station_id", th.StringType, required=True, description="SEMS station UUID"),
    th.Property("timestamp", th.DateTimeType, required=True, description="UTC instant"),
    th.Property(
        "time_local",
        th.StringType,
        description="The plant's wall clock as the portal gave it (YYYY-MM-DD HH:MM:SS)",
    ),
    th.Property("day", th.DateType, required=True, description="Plant-local date"),
    th.Property("pv_power_w", th.NumberType, description="PV (system) output"),
    th.Property("load_power_w", th.NumberType, description="Household consumption"),
    th.Property(
        "grid_power_w",
        th.NumberType,
        description="Grid as the portal reports it: + export, - import",
    ),
    th.Property("grid_import_w", th.NumberType, description="Power drawn from the grid, >= 0"),
    th.Property("grid_export_w", th.NumberType, description="Power fed into the grid, >= 0"),
    th.Property("battery_power_w", th.NumberType, description="+ discharge, - charge"),
    th.Property("battery_soc_pct", th.NumberType, description="Battery state of charge"),
    th.Property(
        "source",
        th.StringType,
        description="Backend and endpoint, or legacy file name, the point came from",
    ),
    th.Property(
        "extra",
        FREE_FORM_OBJECT,
        description="Series the tap does not map, under their portal key and in their portal unit",
    ),
    th.Property(
        "complete",
        th.BooleanType,
        description="False for a day that was not over when read (today): more points may follow",
    ),
).to_dict()

STATIONS = th.PropertiesList(
    th.Property("station_id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("capacity_kwp", th.NumberType, description="Installed PV peak power"),
    th.Property("battery_capacity_kwh", th.NumberType, description="null when the portal has none"),
    th.Property("timezone", th.StringType, description="IANA time zone used for this plant"),
    th.Property("currency", th.StringType),
    th.Property("address", th.StringType),
    th.Property("latitude", th.NumberType),
    th.Property("longitude", th.NumberType),
    th.Property("source", th.StringType),
    th.Property(
        "extra",
        FREE_FORM_OBJECT,
        description="Station fields the tap does not map, as the portal sent them",
    ),
).to_dict()

DAILY_ENERGY = th.PropertiesList(
    th.Property("station_id", th.StringType, required=True),
    th.Property("day", th.DateType, required=True, description="Plant-local date"),
    th.Property("production_kwh", th.NumberType),
    th.Property("consumption_kwh", th.NumberType),
    th.Property("grid_import_kwh", th.NumberType),
    th.Property("grid_export_kwh", th.NumberType),
    th.Property("battery_charge_kwh", th.NumberType),
    th.Property("battery_discharge_kwh", th.NumberType),
    th.Property(
        "method",
        th.StringType,
        description=(
            "'portal_statistics', 'integrated_power_curve', or "
            "'integrated_power_curve_statistics_rejected' (the portal's statistics fell "
            "grossly short of the curve's energy that day)"
        ),
    ),
    th.Property("source", th.StringType),
    th.Property(
        "complete",
        th.BooleanType,
        description="False for a day that was not over when read (today): the totals will grow",
    ),
    th.Property(
        "read_through",
        th.DateTimeType,
        description="UTC instant the day was read up to: when it was read, or its end if over",
    ),
).to_dict()
