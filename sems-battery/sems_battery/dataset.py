"""Read one station's power history from the `plant_power` stream the target writes.

`data` may be the target's destination folder (holding `plant_power.parquet`, a Hive folder
`plant_power/station_id=.../month=.../`, or a Delta Lake table `plant_power/` with its
`_delta_log/`), that file, folder or table itself, or a URI that pyarrow understands
(`s3://bucket/prefix?endpoint_override=host:port&scheme=http`, ...). The format is told by
the folder: a `_delta_log/` makes it a Delta table, read through deltalake. Only the needed
columns are read, and the station and dates are pushed down as filters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from pyarrow import fs

from sems_battery.errors import DataError
from sems_battery.history import History, build_history

STREAM = "plant_power"
POWER_COLUMNS = (
    "pv_power_w",
    "load_power_w",
    "grid_power_w",
    "grid_import_w",
    "grid_export_w",
    "battery_power_w",
    "battery_soc_pct",
)
STATIONS = "stations"
TIME_LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
DELTA_LOG = "_delta_log"
URI_SCHEMES = {"s3": "s3", "gcs": "gs", "abfs": "abfs", "hdfs": "hdfs"}


@dataclass(frozen=True)
class Place:
    """A file, folder or table on a filesystem, and how the user named where it is."""

    filesystem: fs.FileSystem
    path: str
    label: str  # what the user gave, for messages
    options: tuple[tuple[str, str], ...] = ()  # the URI's query (endpoint, region, ...)

    def child(self, name: str) -> Place:
        return replace(self, path=f"{self.path.rstrip('/')}/{name}")

    def parent(self) -> Place:
        return replace(self, path=self.path.rstrip("/").rsplit("/", 1)[0])

    def kind(self) -> fs.FileType:
        return self.filesystem.get_file_info(self.path).type

    @property
    def is_delta(self) -> bool:
        return self.child(DELTA_LOG).kind() == fs.FileType.Directory

    def delta_uri(self) -> tuple[str, dict[str, str]]:
        """The table URI and storage options deltalake needs for this place."""
        scheme = URI_SCHEMES.get(self.filesystem.type_name)
        if scheme is None:
            return self.path, {}
        query = dict(self.options)
        storage: dict[str, str] = {}
        if "endpoint_override" in query:
            protocol = query.get("scheme", "https")
            storage["AWS_ENDPOINT_URL"] = f"{protocol}://{query['endpoint_override']}"
            if protocol == "http":
                storage["AWS_ALLOW_HTTP"] = "true"
        for option, name in (
            ("region", "AWS_REGION"),
            ("access_key", "AWS_ACCESS_KEY_ID"),
            ("secret_key", "AWS_SECRET_ACCESS_KEY"),
        ):
            if option in query:
                storage[name] = query[option]
        return f"{scheme}://{self.path}", storage


def _place(data: str | Path) -> Place:
    text = str(data)
    if "://" in text:
        try:
            filesystem, path = fs.FileSystem.from_uri(text)
        except (pa.ArrowInvalid, ValueError, OSError) as error:
            raise DataError(f"cannot open {text}: {error}; check the URI and its options") from None
        query = tuple(parse_qsl(text.partition("?")[2]))
        return Place(filesystem, path, text, query)
    return Place(fs.LocalFileSystem(), str(Path(text).expanduser().resolve()), text)


def locate(data: str | Path) -> Place:
    """The plant_power file, folder or table that `data` points at."""
    place = _place(data)
    try:
        kind = place.kind()
    except OSError as error:
        raise DataError(
            f"cannot reach {data}: {error}; check the address and the credentials"
        ) from None
    if kind == fs.FileType.NotFound:
        raise DataError(
            f"no dataset at {data}: the path does not exist; point --data at the folder the "
            "target writes (holding plant_power)"
        )
    if kind == fs.FileType.File or place.is_delta:
        return place
    found = [
        candidate
        for candidate in (place.child(f"{STREAM}.parquet"), place.child(STREAM))
        if candidate.kind() in (fs.FileType.File, fs.FileType.Directory)
    ]
    if len(found) == 2:
        raise DataError(
            f"{data} holds both {STREAM}.parquet and a {STREAM}/ folder; point --data at the "
            "one to use"
        )
    return found[0] if found else place


def _open_delta(place: Place) -> ds.Dataset:
    try:
        from deltalake import DeltaTable
    except ImportError:
        raise DataError(
            f"{place.label} is a Delta Lake table; reading it needs the deltalake package: "
            "pip install 'sems-battery[delta]'"
        ) from None
    uri, storage = place.delta_uri()
    try:
        return DeltaTable(uri, storage_options=storage or None).to_pyarrow_dataset()
    except Exception as error:  # deltalake raises its own types and OSError alike
        raise DataError(
            f"cannot read the Delta table {place.path}: {error}; check the path and the credentials"
        ) from None


def _open(place: Place) -> ds.Dataset:
    """The plant_power dataset (Parquet with Hive partitions, whatever type they were written
    as, or a Delta table)."""
    data = place.label
    if place.kind() == fs.FileType.Directory and place.is_delta:
        dataset = _open_delta(place)
        if "timestamp" not in dataset.schema.names:
            raise DataError(
                f"{data} is not a plant_power table: it has no timestamp column; point --data "
                "at the target's destination"
            )
        return dataset
    filesystem, path = place.filesystem, place.path
    try:
        dataset = ds.dataset(path, filesystem=filesystem, format="parquet", partitioning="hive")
    except pa.ArrowTypeError:
        # A column written as dictionary in the files and found as plain text in the
        # folder names (or the other way round): read partitions as dictionaries too.
        partitioning = ds.HivePartitioning.discover(infer_dictionary=True)
        dataset = ds.dataset(
            path, filesystem=filesystem, format="parquet", partitioning=partitioning
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(
            f"{data} is not a readable Parquet dataset ({error}); point --data at the "
            "target's output"
        ) from None
    if not dataset.files:
        raise DataError(
            f"no Parquet files under {data}: run the pipeline first "
            "(meltano run tap-sems target-parquet-sems)"
        )
    if "timestamp" not in dataset.schema.names:
        raise DataError(
            f"{data} is not a plant_power dataset: it has no timestamp column "
            f"(columns: {', '.join(dataset.schema.names)})"
        )
    return dataset


def _station_filter(dataset: ds.Dataset, station: str) -> ds.Expression:
    """Compare in the column's own type where possible, so partitions are pruned by name."""
    field_type = dataset.schema.field("station_id").type
    if pa.types.is_string(field_type) or pa.types.is_dictionary(field_type):
        return ds.field("station_id") == station
    if pa.types.is_integer(field_type) and station.lstrip("-").isdigit():
        return ds.field("station_id") == int(station)  # a numeric-looking Hive partition
    return ds.field("station_id").cast(pa.string()) == station


def _date_filter(
    dataset: ds.Dataset, start: dt.date | None, end: dt.date | None
) -> ds.Expression | None:
    names = dataset.schema.names
    expression: ds.Expression | None = None

    def both(extra: ds.Expression) -> None:
        nonlocal expression
        expression = extra if expression is None else expression & extra

    month_type = dataset.schema.field("month").type if "month" in names else None
    if month_type is not None and pa.types.is_string(month_type):
        # Lets pyarrow skip whole month partitions before opening any file.
        if start is not None:
            both(ds.field("month") >= start.strftime("%Y-%m"))
        if end is not None:
            both(ds.field("month") <= end.strftime("%Y-%m"))
    day_type = dataset.schema.field("day").type if "day" in names else None
    if day_type is not None and (pa.types.is_date(day_type) or pa.types.is_string(day_type)):
        # A `day=YYYY-MM-DD` Hive partition arrives as text; ISO dates compare alike.
        def day(value: dt.date) -> pa.Scalar:
            if pa.types.is_string(day_type):
                return pa.scalar(value.isoformat())
            return pa.scalar(value, pa.date32())

        if start is not None:
            both(ds.field("day") >= day(start))
        if end is not None:
            both(ds.field("day") <= day(end))
    else:
        utc = dt.UTC
        if start is not None:
            moment = dt.datetime.combine(start, dt.time(), utc)
            both(ds.field("timestamp") >= pa.scalar(moment, pa.timestamp("us", tz="UTC")))
        if end is not None:
            moment = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), utc)
            both(ds.field("timestamp") < pa.scalar(moment, pa.timestamp("us", tz="UTC")))
    return expression


def _station_facts(plant_power: Place, station: str | None) -> tuple[str, float | None]:
    """The station's name and battery capacity from the `stations` stream next to
    plant_power, when the dataset has one (it is optional: an error reading it is no error)."""
    if station is None:
        return "", None
    root = plant_power.parent()
    for candidate in (root.child(f"{STATIONS}.parquet"), root.child(STATIONS)):
        try:
            kind = candidate.kind()
            if kind == fs.FileType.NotFound:
                continue
            if kind == fs.FileType.Directory and candidate.is_delta:
                table = _open_delta(candidate).to_table()
            else:
                table = ds.dataset(
                    candidate.path,
                    filesystem=candidate.filesystem,
                    format="parquet",
                    partitioning="hive",
                ).to_table()
        except (pa.ArrowException, OSError, ValueError, DataError):
            continue
        if "station_id" not in table.column_names:
            continue
        rows = table.filter(pc.equal(table.column("station_id").cast(pa.string()), station))
        if rows.num_rows == 0:
            continue
        last = rows.slice(rows.num_rows - 1).to_pylist()[0]
        name = last.get("name") if isinstance(last.get("name"), str) else ""
        capacity = last.get("battery_capacity_kwh")
        valid = isinstance(capacity, (int, float)) and capacity > 0
        return name or "", float(capacity) if valid else None
    return "", None


def station_ids(dataset: ds.Dataset, where: ds.Expression | None = None) -> list[str]:
    if "station_id" not in dataset.schema.names:
        return []
    column = dataset.to_table(columns=["station_id"], filter=where).column("station_id")
    values = pc.unique(column.cast(pa.string()) if column.type != pa.string() else column)
    return sorted(str(v) for v in values.to_pylist() if v is not None)


def _floats(table: pa.Table, name: str) -> np.ndarray | None:
    if name not in table.column_names:
        return None
    column = table.column(name)
    if pa.types.is_null(column.type):
        return np.full(table.num_rows, np.nan)
    try:
        values = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise DataError(f"column {name} holds {column.type}, not numbers") from None
    return values.to_numpy(zero_copy_only=False)


def _timestamps_us(table: pa.Table) -> np.ndarray:
    column = table.column("timestamp")
    if not pa.types.is_timestamp(column.type):
        raise DataError(f"column timestamp holds {column.type}, not timestamps")
    if column.null_count:
        raise DataError(f"{column.null_count} rows have no timestamp")
    return column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64()).to_numpy()


def _wall_clock_us(table: pa.Table, time_us: np.ndarray) -> np.ndarray | None:
    """The plant's clock from `time_local`; a row without it takes the offset of the row
    before it (the first rows take the first known offset)."""
    if "time_local" not in table.column_names:
        return None
    text = table.column("time_local")
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    parsed = pc.strptime(text, format=TIME_LOCAL_FORMAT, unit="us", error_is_null=True)
    known = np.asarray(pc.is_valid(parsed).to_numpy(zero_copy_only=False), dtype=bool)
    if not known.any():
        return None
    local = np.asarray(
        pc.fill_null(parsed.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    if known.all():
        return local
    order = np.argsort(time_us, kind="stable")
    known_in_order = known[order]
    source = np.maximum.accumulate(np.where(known_in_order, np.arange(order.size), -1))
    source[source < 0] = int(np.argmax(known_in_order))
    offsets = (local - time_us)[order][source]
    result = np.empty_like(time_us)
    result[order] = time_us[order] + offsets
    return result


def load_history(
    data: str | Path,
    *,
    station: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    timezone: str | None = None,
    gap_limit_minutes: float | None = None,
) -> History:
    """One station's history between two plant-local dates (both included)."""
    if start is not None and end is not None and end < start:
        raise DataError(f"the end date {end} is before the start date {start}")
    place = locate(data)
    dataset = _open(place)
    names = dataset.schema.names
    dates = _date_filter(dataset, start, end)
    if station is None:
        stations = station_ids(dataset, dates)
        if len(stations) > 1:
            raise DataError(
                f"the dataset holds {len(stations)} stations; choose one with --station: "
                + ", ".join(stations)
            )
        station = stations[0] if stations else None
    where = dates
    if station is not None and "station_id" in names:
        chosen = _station_filter(dataset, station)
        where = chosen if where is None else chosen & where
    columns = [c for c in ("timestamp", "time_local", *POWER_COLUMNS) if c in names]
    table = dataset.to_table(columns=columns, filter=where)
    if table.num_rows == 0:
        if station is not None and station not in station_ids(dataset):
            raise DataError(
                f"station {station} is not in the dataset; choose one with --station: "
                + (", ".join(station_ids(dataset)) or "(it has no station ids)")
            )
        span = f" between {start or 'the start'} and {end or 'the end'}" if start or end else ""
        raise DataError(
            f"the dataset has no power samples{' for station ' + station if station else ''}{span}"
            + ("; widen --from/--to" if span else "")
        )
    time_us = _timestamps_us(table)
    wall_clock = _wall_clock_us(table, time_us)
    history = build_history(
        time_us,
        pv_w=_floats(table, "pv_power_w"),
        load_w=_floats(table, "load_power_w"),
        grid_power_w=_floats(table, "grid_power_w"),
        grid_import_w=_floats(table, "grid_import_w"),
        grid_export_w=_floats(table, "grid_export_w"),
        battery_power_w=_floats(table, "battery_power_w"),
        battery_soc_pct=_floats(table, "battery_soc_pct"),
        local_us=wall_clock,
        station_id=station or "",
        gap_limit_minutes=gap_limit_minutes,
        local_time_source="UTC (the data has no plant clock)"
        if wall_clock is None
        else "plant clock",
    )
    name, battery_kwh = _station_facts(place, station)
    history = replace(history, station_name=name, battery_capacity_kwh=battery_kwh)
    if timezone:
        history = history.in_timezone(timezone)
    return history
