"""The Parquet sink: one stream's pending batch and dataset, written in the background."""

from __future__ import annotations

import typing as t

from singer_sdk import metrics
from singer_sdk.sinks import BatchSink

from target_parquet_sems._sdk import open_batch_file
from target_parquet_sems.batch import PendingBatch, RowChecks, parse_batch, read_batch_file
from target_parquet_sems.schema import plan_stream

if t.TYPE_CHECKING:
    import pyarrow as pa
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_parquet_sems._sdk import BatchFileEncoding
    from target_parquet_sems.target import TargetParquetSems


class StreamRecordCounter(metrics.Counter):
    """The `record_count` metric of one stream, shared by every sink the stream gets.

    A new SCHEMA replaces a stream's sink, and the SDK cleans up (logs the counter of) only
    the sinks still around at the end, so one counter per stream keeps every record
    counted. Cleaning up twice does not log a second, empty line.
    """

    def __init__(self, stream_name: str) -> None:
        reference = metrics.record_counter(stream_name)
        super().__init__(reference.metric, reference.tags, log_interval=reference.log_interval)
        self.closed_once = False

    def exit(self) -> None:
        if self.value or not self.closed_once:
            super().exit()
        self.closed_once = True


class ParquetSink(BatchSink):
    """One stream's buffer and its Parquet dataset."""

    @property
    def process_activate_version_messages(self) -> bool:
        """Keyed streams are merged and unkeyed ones appended: no version of a table is
        ever replaced, so ACTIVATE_VERSION has nothing to do here (the SDK then says it
        ignores the message, instead of promising `_sdc_deleted_at` columns)."""
        return False

    def __init__(
        self,
        target: TargetParquetSems,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        self.record_counters = target.record_counters  # before the SDK asks for the counter
        super().__init__(target, stream_name, schema, key_properties)
        self.plan = plan_stream(self.schema, stream_name)
        self.checks = RowChecks.for_stream(
            stream_name, self.plan, self.key_properties, validate=self.validate_schema
        )
        self.dataset = target.dataset_class(
            target.destination,
            stream_name,
            self.plan,
            key_columns=self.checks.key_columns,
            partitions=target.partition_specs.get(stream_name, []),
            compression=target.config["compression"],
            row_group_size=target.config["row_group_size"],
            logger=self.logger,
        )
        self.pending = PendingBatch(row_limit=self.max_size)
        self._writer = target.writer
        self._record_written = target.record_written

    def get_sink_record_counter(self) -> metrics.Counter:
        """The stream's counter: records are counted as they are received."""
        counter = self.record_counters.get(self.stream_name)
        if counter is None:
            counter = self.record_counters[self.stream_name] = StreamRecordCounter(self.stream_name)
        return counter

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """None: records are checked per batch by Arrow's typed parsing instead.

        Per-record jsonschema validation is what makes plain SDK targets slow; the
        Arrow route rejects wrong types and unparsable dates, and `validate_records`
        adds the required-field checks (see `batch.RowChecks`).
        """
        return None

    @property
    def current_size(self) -> int:
        return len(self.pending)

    @property
    def is_full(self) -> bool:
        return self.pending.is_full

    @property
    def waited_seconds(self) -> float:
        return self.pending.waited_seconds

    def add_record_lines(self, lines: list[bytes], line_numbers: list[int]) -> int:
        """Buffer undecoded RECORD lines, as many as fit the batch; returns how many."""
        taken = self.pending.add_record_lines(lines, line_numbers)
        self.record_counter_metric.increment(taken)
        return taken

    def process_batch_files(self, encoding: BatchFileEncoding, files: t.Sequence[str]) -> None:
        """Singer BATCH messages: buffer the files' records like RECORD messages."""
        for url in files:
            with open_batch_file(self, url) as handle:
                part, size = read_batch_file(
                    handle, encoding.format, encoding.compression, f"batch file {url}"
                )
            self.pending.add_part(part, size)
            self.record_counter_metric.increment(len(part))

    def process_batch(self, context: dict) -> None:
        """Hand everything buffered to the background writer as one merged update."""
        parts, rows = self.pending.take()
        if parts:
            self._writer.submit_batch(
                lambda: parse_batch(parts, self.plan, self.checks),
                lambda table: self._write(table, rows),
            )

    def _write(self, table: pa.Table | None, rows: int) -> None:
        """Merge a parsed batch into the dataset (background write stage)."""
        if table is None:
            return
        files = self.dataset.write(table)
        self._record_written(self.stream_name, self.dataset.location, rows)
        self.logger.info(
            "Stream '%s': merged %d record(s) into %d rewritten file(s).",
            self.stream_name,
            rows,
            files,
        )
