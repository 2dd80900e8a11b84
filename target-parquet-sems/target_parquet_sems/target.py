"""target-parquet-sems: any Singer stream into a merged, typed, partitioned Parquet dataset."""

from __future__ import annotations

import copy
import typing as t

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.helpers.capabilities import (
    BATCH_CONFIG,
    FLATTENING_CONFIG,
    STREAM_MAPS_CONFIG,
    TARGET_VALIDATE_RECORDS_CONFIG,
    PluginCapabilities,
    TargetCapabilities,
)

from target_parquet_sems._sdk import FencedTarget
from target_parquet_sems.dataset import StreamDataset
from target_parquet_sems.partitioning import (
    GRANULARITIES,
    PartitionConfigError,
    PartitionSpec,
    parse_partition_by,
)
from target_parquet_sems.pausepoints import pause_point
from target_parquet_sems.reader import (
    RawRecordReader,
    RecordRun,
    map_run,
    passes_through,
    run_of_message,
)
from target_parquet_sems.sinks import ParquetSink
from target_parquet_sems.storage import Destination, DestinationError
from target_parquet_sems.writer import BackgroundWriter

if t.TYPE_CHECKING:
    from pathlib import PurePath

    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.singerlib.encoding.base import GenericSingerReader

    from target_parquet_sems.delta import DeltaStreamDataset

COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
TABLE_FORMATS = ("parquet", "delta")
_UNSUPPORTED_SETTINGS = {
    "add_record_metadata": "the _sdc metadata columns are not written by this target",
}

_PARTITION_ITEM = th.CustomType(
    {
        "anyOf": [
            {"type": "string", "description": "A field whose value names the partition"},
            {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "A date or date-time field"},
                    "granularity": {"type": "string", "enum": list(GRANULARITIES)},
                    "name": {
                        "type": "string",
                        "description": "Partition column name (default: the granularity)",
                    },
                },
                "required": ["field", "granularity"],
                "additionalProperties": False,
            },
        ]
    }
)


class TargetParquetSems(FencedTarget):
    """Writes each stream as a merged (on its key), typed Parquet file or Hive dataset."""

    name = "target-parquet-sems"
    default_sink_class = ParquetSink
    message_reader_class = RawRecordReader

    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
        PluginCapabilities.BATCH,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "destination_path",
            th.StringType,
            required=True,
            title="Destination path",
            description=(
                "Local folder, or a filesystem URI such as s3://bucket/prefix. Each stream "
                "becomes <destination>/<stream>.parquet, or <destination>/<stream>/ with "
                "partition_by or table_format delta."
            ),
        ),
        th.Property(
            "table_format",
            th.StringType(allowed_values=list(TABLE_FORMATS)),
            default="parquet",
            title="Table format",
            description=(
                "parquet: plain Parquet files in Hive folders, one writer per destination. "
                "delta: each stream a Delta Lake table that any number of targets may write "
                "at once (station groups in parallel); needs target-parquet-sems[delta]."
            ),
        ),
        th.Property(
            "compression",
            th.StringType(allowed_values=list(COMPRESSIONS)),
            default="zstd",
            description="Parquet compression codec.",
        ),
        th.Property(
            "partition_by",
            th.ObjectType(additional_properties=th.ArrayType(_PARTITION_ITEM)),
            title="Partition by",
            description=(
                "Per stream, the Hive partition levels: a field name, or "
                "{field, granularity: year|month|day[, name]} for a date or date-time field. "
                'As JSON: {"plant_power": ["station_id", {"field": "day", '
                '"granularity": "month"}]}'
            ),
        ),
        th.Property(
            "row_group_size",
            th.IntegerType,
            default=100_000,
            description="Maximum rows per Parquet row group.",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=50_000,
            description=(
                "Records buffered per stream before the target writes them and passes "
                "on the latest STATE. Larger batches rewrite partitions less often."
            ),
        ),
        th.Property(
            "s3_endpoint_url",
            th.StringType,
            description=(
                "Endpoint of an S3-compatible store, e.g. http://127.0.0.1:9000 "
                "(defaults to AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then AWS itself)."
            ),
        ),
        th.Property("s3_region", th.StringType, description="S3 region."),
        th.Property(
            "s3_access_key_id",
            th.StringType,
            description="S3 access key (default: the AWS credential chain).",
        ),
        th.Property(
            "s3_secret_access_key",
            th.StringType,
            secret=True,
            description="S3 secret key (default: the AWS credential chain).",
        ),
    ).to_dict()

    def __init__(
        self,
        *,
        config: dict | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_reader: GenericSingerReader | None = None,
    ) -> None:
        self.writer = BackgroundWriter()
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            message_reader=message_reader,
        )
        self._last_emitted_state: dict | None = None
        if isinstance(self.message_reader, RawRecordReader):
            # Input that stops the run still lets what was acknowledged finish writing.
            self.message_reader.on_error = self.writer.settle
        errors = [
            f"'{key}' is not supported: {why}"
            for key, why in _UNSUPPORTED_SETTINGS.items()
            if self.config.get(key)
        ]
        try:
            self.partition_specs: dict[str, list[PartitionSpec]] = parse_partition_by(
                self.config.get("partition_by")
            )
        except PartitionConfigError as exc:
            errors.append(str(exc))
        try:
            self.destination = Destination(
                self.config.get("destination_path", ""),
                s3_endpoint_url=self.config.get("s3_endpoint_url"),
                s3_region=self.config.get("s3_region"),
                s3_access_key_id=self.config.get("s3_access_key_id"),
                s3_secret_access_key=self.config.get("s3_secret_access_key"),
            )
        except DestinationError as exc:
            errors.append(str(exc))
        try:
            self.dataset_class = dataset_class(self.config.get("table_format", "parquet"))
        except ImportError as exc:
            errors.append(str(exc))
        if errors:
            raise ConfigValidationError("Invalid target-parquet-sems settings", errors=errors)
        # Sinks drain one after another on this thread: Arrow already spreads each
        # batch over the cores, and every extra thread costs a malloc arena of memory.
        self.max_parallelism = 1

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """Advertise only the built-in settings this target honours.

        `load_method` and `add_record_metadata` are left out: keyed streams are always
        merged and unkeyed ones appended, and no _sdc columns are written.
        """
        properties = config_jsonschema.setdefault("properties", {})
        for settings in (
            BATCH_CONFIG,
            TARGET_VALIDATE_RECORDS_CONFIG,
            STREAM_MAPS_CONFIG,
            FLATTENING_CONFIG,
        ):
            for name, setting in settings["properties"].items():
                properties.setdefault(name, setting)

    # --- records ------------------------------------------------------------------

    def process_record_message(self, message: dict | RecordRun) -> None:
        """Buffer RECORD lines undecoded; a full sink drains all and passes on STATE.

        The reader hands over runs of consecutive records of one stream, so this
        runs once per run, not once per record.
        """
        if isinstance(message, RecordRun):
            run = message
        else:  # from a message reader other than this target's own
            run = run_of_message(message, getattr(self.message_reader, "line_number", 0))
        self.writer.raise_if_failed()
        maps = self.mapper.stream_maps.get(run.stream)
        if maps and not passes_through(run.stream, maps):
            for mapped_run in map_run(run, maps):
                self._buffer_run(mapped_run)
        else:
            self._buffer_run(run)
        self.drain_if_records_too_old()

    def _buffer_run(self, run: RecordRun) -> None:
        """Add record lines to their sink; a full sink drains all and passes on STATE."""
        if not self.sink_exists(run.stream):
            msg = (
                f"Input line {run.line_numbers[0]}: a record for stream '{run.stream}' came "
                "before the stream's SCHEMA message."
            )
            raise RecordsWithoutSchemaException(msg)
        sink = t.cast("ParquetSink", self.get_sink(run.stream))
        lines, numbers = run.lines, run.line_numbers
        while lines:
            taken = sink.add_record_lines(lines, numbers)
            if sink.is_full:
                self.logger.info(
                    "Target sink for '%s' is full (%d records). Draining all sinks...",
                    run.stream,
                    sink.current_size,
                )
                self.drain_all()
            lines, numbers = lines[taken:], numbers[taken:]

    # --- state ----------------------------------------------------------------------

    def after_state_message(self, state: dict) -> None:
        """Pass the state on at once when no record is waiting to be written."""
        if state and not any(sink.current_size for sink in self.pending_sinks()):
            self.pass_on_state(copy.deepcopy(state))

    def after_batch_message(self) -> None:
        """BATCH files are buffered like records, and count toward a full sink."""
        if any(sink.is_full for sink in self.pending_sinks()):
            self.drain_all()

    def pass_on_state(self, state: dict) -> None:
        """Queue the state behind the batches being written: it goes out once they are."""
        self.writer.submit(lambda: self._emit_state_once(state))

    def _emit_state_once(self, state: dict) -> None:
        """A drain that wrote nothing new does not repeat the state."""
        if state == self._last_emitted_state:
            return
        pause_point("before-state")
        self.emit_state(state)
        self._last_emitted_state = copy.deepcopy(state)

    # --- the end ----------------------------------------------------------------------

    def process_endofpipe(self) -> None:
        """Write what is left, then wait until every batch and state is out."""
        try:
            super().process_endofpipe()
            self.writer.wait()
        finally:
            self.writer.close()

    def before_termination(self) -> None:
        """On SIGTERM/SIGINT, finish writing (and pass on the state) before leaving."""
        self.drain_all(is_endofpipe=True)
        self.writer.wait()


def dataset_class(table_format: str) -> type[StreamDataset] | type[DeltaStreamDataset]:
    """What a sink writes its batches into; deltalake is imported only for Delta tables."""
    if table_format != "delta":
        return StreamDataset
    try:
        from target_parquet_sems.delta import DeltaStreamDataset
    except ImportError as exc:
        msg = (
            f"table_format 'delta' needs the deltalake package ({exc}): install "
            "'target-parquet-sems[delta]' (in Meltano: pip_url: target-parquet-sems[delta])"
        )
        raise ImportError(msg) from None
    return DeltaStreamDataset


if __name__ == "__main__":
    TargetParquetSems.cli()
