"""JSON schemas of the tap's streams.

These are the contract with every target: target-parquet-sems types its columns from
them and sems-battery reads the `plant_power` columns by these names. Power is always
in watts, energy in kWh; a series the plant does not have is null, never 0.
"""

from __future__ import annotations

from singer_sdk import typing as th

# What a curve value is: the portal gives one value per instant of its grid (every
# `interval_minutes`), the inverter's reading uploaded for that instant; SEMS does not say
# whether it is a sample or an average over the interval before it.
AT_INSTANT = "W, at `timestamp` (the portal's curve value for that instant); null: no such series"

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
    th.Property(
        "timestamp",
        th.DateTimeType,
        required=True,
        description="UTC instant of the point (the plant's wall clock placed in its time zone)",
    ),
    th.Property(
        "time_local",
        th.StringType,
        description="The plant's wall clock as the portal gave it (YYYY-MM-DD HH:MM:SS)",
    ),
    th.Property("day", th.DateType, required=True, description="Plant-local date"),
    th.Property("pv_power_w", th.NumberType, description=f"PV (system) output, {AT_INSTANT}"),
    th.Property("load_power_w", th.NumberType, description=f"Household consumption, {AT_INSTANT}"),
    th.Property(
        "grid_power_w",
        th.NumberType,
        description=f"Grid exchange as the portal signs it, + export, - import; {AT_INSTANT}",
    ),
    th.Property(
        "grid_import_w",
        th.NumberType,
        description=f"Power drawn from the grid, >= 0 (0 while exporting); {AT_INSTANT}",
    ),
    th.Property(
        "grid_export_w",
        th.NumberType,
        description=f"Power fed into the grid, >= 0 (0 while importing); {AT_INSTANT}",
    ),
    th.Property(
        "battery_power_w",
        th.NumberType,
        description=f"Battery, + discharge (to the house), - charge; {AT_INSTANT}",
    ),
    th.Property(
        "battery_soc_pct",
        th.NumberType,
        description="Battery state of charge, % (0-100) at `timestamp`; null: no battery",
    ),
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
    th.Property("station_id", th.StringType, required=True, description="SEMS station UUID"),
    th.Property("name", th.StringType, description="Station name as set in the portal"),
    th.Property("capacity_kwp", th.NumberType, description="Installed PV peak power, kWp"),
    th.Property(
        "battery_capacity_kwh",
        th.NumberType,
        description="Battery capacity, kWh, as the portal states it; null when it states none",
    ),
    th.Property(
        "timezone",
        th.StringType,
        description=(
            "Time zone the tap used for this plant's wall-clock times: an IANA name, or a "
            "fixed offset such as +08:00 (fallback_utc_offset)"
        ),
    ),
    th.Property(
        "currency",
        th.StringType,
        description="Currency of the portal's income figures (e.g. EUR)",
    ),
    th.Property("address", th.StringType, description="Street address as set in the portal"),
    th.Property("latitude", th.NumberType, description="Degrees north (WGS 84)"),
    th.Property("longitude", th.NumberType, description="Degrees east (WGS 84)"),
    th.Property(
        "source",
        th.StringType,
        description="Backend and endpoint the metadata came from",
    ),
    th.Property(
        "extra",
        FREE_FORM_OBJECT,
        description="Station fields the tap does not map, as the portal sent them",
    ),
).to_dict()

DAILY_ENERGY = th.PropertiesList(
    th.Property("station_id", th.StringType, required=True, description="SEMS station UUID"),
    th.Property("day", th.DateType, required=True, description="Plant-local date"),
    th.Property("production_kwh", th.NumberType, description="PV energy produced that day, kWh"),
    th.Property(
        "consumption_kwh", th.NumberType, description="Household consumption that day, kWh"
    ),
    th.Property("grid_import_kwh", th.NumberType, description="Drawn from the grid that day, kWh"),
    th.Property("grid_export_kwh", th.NumberType, description="Fed into the grid that day, kWh"),
    th.Property("battery_charge_kwh", th.NumberType, description="Into the battery that day, kWh"),
    th.Property(
        "battery_discharge_kwh", th.NumberType, description="Out of the battery that day, kWh"
    ),
    th.Property(
        "method",
        th.StringType,
        description=(
            "'portal_statistics', 'integrated_power_curve', or "
            "'integrated_power_curve_statistics_rejected' (the portal's statistics fell "
            "grossly short of the curve's energy that day)"
        ),
    ),
    th.Property(
        "source",
        th.StringType,
        description="Backend and endpoint, or legacy file name, the figures came from",
    ),
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
