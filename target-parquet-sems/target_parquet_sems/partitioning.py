"""The `partition_by` setting: Hive partitions from plain fields or date parts.

Partition columns are written only as folder names (`station_id=<uuid>/month=2026-09`),
so readers take their type from Hive discovery: text stays text unless every value
of a level looks like an integer. A year is then an integer, a month (`2026-09`) text.
"""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from target_parquet_sems.schema import StreamPlan, safe_column_name

GRANULARITIES = ("year", "month", "day")
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_PLAIN_KINDS = ("string", "integer", "boolean", "date")
_DATE_KINDS = ("date", "timestamp")
_DERIVED_LENGTH = {"month": 7, "day": 10}


class PartitionConfigError(ValueError):
    """The `partition_by` setting cannot be applied."""


@dataclass(frozen=True)
class PartitionSpec:
    """One level of a stream's Hive partitioning."""

    field: str
    """The record property the value comes from."""
    granularity: str | None
    """year, month or day for a date/date-time field; None for the plain value."""
    column: str
    """The partition column (and folder key) name."""

    @property
    def derived(self) -> bool:
        return self.granularity is not None


def parse_partition_by(setting: Any) -> dict[str, list[PartitionSpec]]:
    """Check the setting's shape and turn it into specs per stream name.

    Accepted per stream: a list whose items are a field name, or an object
    `{field, granularity[, name]}`. The column of a date part is named after its
    granularity (`month=2026-09`) unless `name` says otherwise.
    """
    if setting is None:
        return {}
    if not isinstance(setting, dict):
        raise PartitionConfigError(
            f"partition_by must map stream names to lists of fields, got {type(setting).__name__}"
        )
    result: dict[str, list[PartitionSpec]] = {}
    for stream, items in setting.items():
        if not isinstance(items, list) or not items:
            raise PartitionConfigError(
                f"partition_by.{stream} must be a non-empty list of fields, got {items!r}"
            )
        specs = [_parse_item(stream, item) for item in items]
        columns = [s.column for s in specs]
        if len(set(columns)) != len(columns):
            raise PartitionConfigError(
                f"partition_by.{stream} names the partition column(s) "
                f"{sorted({c for c in columns if columns.count(c) > 1})} more than once"
            )
        result[stream] = specs
    return result


def _parse_item(stream: str, item: Any) -> PartitionSpec:
    if isinstance(item, str):
        return PartitionSpec(item, None, _partition_column(stream, safe_column_name(item)))
    if isinstance(item, dict):
        unknown = set(item) - {"field", "granularity", "name"}
        if unknown or not isinstance(item.get("field"), str):
            raise PartitionConfigError(
                f"partition_by.{stream}: {item!r} must be a field name or "
                "{field: <name>, granularity: year|month|day[, name: <column>]}"
            )
        granularity = item.get("granularity")
        if granularity not in GRANULARITIES:
            raise PartitionConfigError(
                f"partition_by.{stream}: granularity of '{item['field']}' must be one of "
                f"{', '.join(GRANULARITIES)}, got {granularity!r}"
            )
        column = item.get("name") or granularity
        return PartitionSpec(item["field"], granularity, _partition_column(stream, str(column)))
    raise PartitionConfigError(f"partition_by.{stream}: cannot use {item!r} as a partition")


def _partition_column(stream: str, column: str) -> str:
    safe = safe_column_name(column)
    if safe.startswith("_"):
        raise PartitionConfigError(
            f"partition_by.{stream}: partition column '{column}' starts with '_'; "
            "readers skip folders named so, choose another name"
        )
    return safe


def check_specs(specs: list[PartitionSpec], plan: StreamPlan, stream: str) -> None:
    """The fields must exist with a type that makes a stable folder name."""
    columns = {f.column for f in plan.fields}
    for spec in specs:
        try:
            field_plan = plan.field_by_name(spec.field)
        except KeyError:
            raise PartitionConfigError(
                f"partition_by.{stream}: stream '{stream}' has no field '{spec.field}'"
            ) from None
        if spec.derived:
            if field_plan.kind not in _DATE_KINDS:
                raise PartitionConfigError(
                    f"partition_by.{stream}: '{spec.field}' is {field_plan.kind}; a "
                    f"{spec.granularity} partition needs a date or date-time field"
                )
            if spec.column in columns:
                raise PartitionConfigError(
                    f"partition_by.{stream}: the {spec.granularity} of '{spec.field}' would "
                    f"overwrite field '{spec.column}'; give it another column with `name`"
                )
        elif field_plan.kind not in _PLAIN_KINDS:
            raise PartitionConfigError(
                f"partition_by.{stream}: '{spec.field}' is {field_plan.kind}; plain "
                f"partitions need one of {', '.join(_PLAIN_KINDS)} (use a granularity "
                "for date-times)"
            )


_FORMATS = {"year": "YYYY", "month": "YYYY-MM", "day": "YYYY-MM-DD"}


def partition_description(spec: PartitionSpec, plan: StreamPlan) -> str | None:
    """What a partition column holds, for readers: it is in the folder names only."""
    source = plan.field_by_name(spec.field)
    if not spec.derived:
        return source.description
    text = f"The {spec.granularity} ({_FORMATS[str(spec.granularity)]}) of '{spec.field}'"
    return text + (", in UTC" if source.kind == "timestamp" else "")


def add_partition_columns(
    table: pa.Table, specs: list[PartitionSpec], plan: StreamPlan
) -> pa.Table:
    """Append the derived (date part) columns; plain ones are already there."""
    for spec in specs:
        if not spec.derived:
            continue
        source = table.column(plan.field_by_name(spec.field).column)
        dates = source if source.type == pa.date32() else pc.cast(source, pa.date32())
        if spec.granularity == "year":
            values = pc.cast(pc.year(dates), pa.int32())
        else:
            # ISO text of a date is YYYY-MM-DD: a month is its first 7 characters.
            text = pc.cast(dates, pa.string())
            values = pc.utf8_slice_codeunits(text, 0, _DERIVED_LENGTH[str(spec.granularity)])
        table = table.append_column(pa.field(spec.column, values.type), values)
    return table


def split_by_partition(
    table: pa.Table, specs: list[PartitionSpec]
) -> Iterator[tuple[str, pa.Table]]:
    """The rows of each partition with its folder (`a=1/b=x`), folders in sorted order.

    One stable sort groups each partition's rows together in arrival order; the
    partitions are then zero-copy slices, and folder names are made once each.
    """
    columns = [spec.column for spec in specs]
    ordered = table.sort_by([(column, "ascending") for column in columns])
    counts = (
        ordered.select(columns).group_by(columns, use_threads=False).aggregate([([], "count_all")])
    )
    partitions = []
    offset = 0
    for values in counts.to_pylist():
        size = values.pop("count_all")
        partitions.append((folder_name(values, specs), offset, size))
        offset += size
    for folder, start, size in sorted(partitions):
        yield folder, ordered.slice(start, size)


def folder_name(values: dict[str, Any], specs: list[PartitionSpec]) -> str:
    """`col=value/...`, values percent-encoded the way pyarrow's Hive discovery decodes them."""
    return "/".join(f"{spec.column}={_folder_value(values[spec.column])}" for spec in specs)


def _folder_value(value: Any) -> str:
    if value is None:
        return NULL_PARTITION
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return urllib.parse.quote(text, safe="")
