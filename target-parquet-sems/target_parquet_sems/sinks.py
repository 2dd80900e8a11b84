"""The Parquet sink: buffers raw records, writes each batch as a merged update."""

from __future__ import annotations

import gzip
import typing as t

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.helpers._batch import BatchFileFormat, StorageTarget
from singer_sdk.sinks import BatchSink

from target_parquet_sems.convert import (
    DecodedRecords,
    PendingPart,
    RawRecords,
    RecordError,
    part_to_table,
)
from target_parquet_sems.dataset import StreamDataset
from target_parquet_sems.partitioning import check_specs
from target_parquet_sems.schema import SchemaMergeError, plan_stream, safe_stream_name

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BaseBatchFileEncoding
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_parquet_sems.target import TargetParquetSems

MAX_BATCH_BYTES = 64 * 1024 * 1024
"""Drain before buffered raw records reach this size, whatever `batch_size_rows` says."""


class ParquetSink(BatchSink):
    """One stream's buffer and its Parquet dataset."""

    MAX_SIZE_DEFAULT = 50_000

    def __init__(
        self,
        target: TargetParquetSems,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.plan = plan_stream(self.schema, stream_name)
        self.key_columns = [self._key_column(name) for name in self.key_properties]
        partitions = target.partition_specs.get(stream_name, [])
        check_specs(partitions, self.plan, stream_name)
        self.dataset = StreamDataset(
            target.destination,
            safe_stream_name(stream_name),
            self.plan,
            key_columns=self.key_columns,
            partitions=partitions,
            compression=target.config.get("compression", "zstd"),
            row_group_size=target.config.get("row_group_size"),
            logger=self.logger,
        )
        self._parts: list[PendingPart] = []
        """Closed parts (batch files, earlier record runs), in arrival order."""
        self._closed_rows = 0
        self._raws: list[t.Any] = []
        self._line_numbers: list[int] = []
        """The open run of RECORD messages, appended to on the hot path."""
        self._pending_bytes = 0
        self._row_limit = self.max_size
        self._writer = target.writer

    def _key_column(self, name: str) -> str:
        try:
            return self.plan.field_by_name(name).column
        except KeyError:
            msg = f"Stream '{self.stream_name}': key property '{name}' is not in its schema"
            raise SchemaMergeError(msg) from None

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """None: records are checked per batch by Arrow's typed parsing instead.

        Per-record jsonschema validation is what makes plain SDK targets slow; the
        Arrow route rejects wrong types and unparsable dates, and `validate_records`
        adds the required-field checks (see `_check_rows`).
        """
        return None

    # --- buffering ----------------------------------------------------------------

    @property
    def current_size(self) -> int:
        return self._closed_rows + len(self._raws)

    @property
    def is_full(self) -> bool:
        return self.current_size >= self._row_limit or self._pending_bytes >= MAX_BATCH_BYTES

    @property
    def room(self) -> int:
        """Records that still fit before the batch is full."""
        return max(0, self._row_limit - self.current_size)

    def add_record_lines(self, lines: list[bytes], line_numbers: list[int]) -> bool:
        """Buffer undecoded RECORD message lines; True when the sink is now full."""
        self._raws.extend(lines)
        self._line_numbers.extend(line_numbers)
        self._pending_bytes += sum(map(len, lines))
        return self.is_full

    def _close_record_run(self) -> None:
        if self._raws:
            self._parts.append(RawRecords(self._raws, True, self._line_numbers))
            self._closed_rows += len(self._raws)
            self._raws, self._line_numbers = [], []

    def _add_part(self, part: PendingPart) -> None:
        self._close_record_run()
        self._parts.append(part)
        self._closed_rows += len(part)

    def process_record(self, record: dict, context: dict) -> None:
        """Records that went through the SDK's own route (already decoded)."""
        self._add_part(DecodedRecords([record], "a record message"))

    def process_batch_files(self, encoding: BaseBatchFileEncoding, files: t.Sequence[str]) -> None:
        """Singer BATCH messages: buffer the files' records like RECORD messages."""
        storage = self.batch_config.storage if self.batch_config else None
        for path in files:
            head, tail = StorageTarget.split_url(path)
            file_storage = storage or StorageTarget.from_url(head)
            with file_storage.open(tail, mode="rb") as handle:
                if encoding.format == BatchFileFormat.JSONL:
                    data = handle.read()
                    if encoding.compression == "gzip" or data[:2] == b"\x1f\x8b":
                        data = gzip.decompress(data)
                    raws = [line for line in data.splitlines() if line.strip()]
                    part: PendingPart = RawRecords(raws, False, None, f"batch file {path}")
                    self._pending_bytes += len(data)
                elif encoding.format == BatchFileFormat.PARQUET:
                    rows = pq.read_table(handle).to_pylist()
                    part = DecodedRecords(rows, f"batch file {path}")
                else:
                    msg = f"Unsupported BATCH encoding format: {encoding.format}"
                    raise NotImplementedError(msg)
            self._add_part(part)

    # --- writing ------------------------------------------------------------------

    def process_batch(self, context: dict) -> None:
        """Hand everything buffered to the background writer as one merged update."""
        self._close_record_run()
        parts, self._parts = self._parts, []
        rows = self._closed_rows
        self._closed_rows = 0
        self._pending_bytes = 0
        if not parts:
            return
        self.tally_record_read(rows)
        self._writer.submit_batch(
            lambda: self._parse_batch(parts), lambda batch: self._write_batch(batch, rows)
        )

    def _parse_batch(self, parts: list[PendingPart]) -> pa.Table | None:
        """Convert and check the buffered records (background parse stage)."""
        tables = []
        for part in _in_slices(parts):
            table = part_to_table(part, self.plan)
            self._check_rows(table, part)
            tables.append(table)
        if not tables:
            return None
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def _write_batch(self, batch: pa.Table | None, rows: int) -> None:
        """Merge a parsed batch into the dataset (background write stage)."""
        if batch is None:
            return
        files = self.dataset.write(batch)
        self.record_counter_metric.increment(rows)
        self.logger.info(
            "Stream '%s': merged %d record(s) into %d rewritten file(s).",
            self.stream_name,
            rows,
            files,
        )

    def _check_rows(self, table: pa.Table, part: PendingPart) -> None:
        """Key properties must be present; with validation, required fields too."""
        for name, column in zip(self.key_properties, self.key_columns, strict=True):
            nulls = table.column(column).null_count
            if nulls:
                index = _first_null(table.column(column))
                msg = (
                    f"Stream '{self.stream_name}', {part.locate(index)}: key property "
                    f"'{name}' is missing or null (key properties: {list(self.key_properties)})"
                )
                raise MissingKeyPropertiesError(msg)
        if not self.validate_schema:
            return
        for field_plan in self.plan.fields:
            if field_plan.must_not_be_null and table.column(field_plan.column).null_count:
                index = _first_null(table.column(field_plan.column))
                msg = (
                    f"Stream '{self.stream_name}', {part.locate(index)}: required field "
                    f"'{field_plan.name}' is missing or null"
                )
                raise RecordError(msg)


CONVERT_SLICE_ROWS = 20_000
"""Records converted at a time: raw JSON is released slice by slice, capping memory."""


def _in_slices(parts: list[PendingPart]) -> t.Iterator[PendingPart]:
    """Hand out the parts in slices, dropping each slice's raw JSON once handed out."""
    parts.reverse()
    while parts:
        part = parts.pop()
        if not isinstance(part, RawRecords):
            yield part
            continue
        for start in range(0, len(part.raws), CONVERT_SLICE_ROWS):
            end = start + CONVERT_SLICE_ROWS
            yield RawRecords(
                part.raws[start:end],
                part.enveloped,
                None if part.line_numbers is None else part.line_numbers[start:end],
                part.source,
                first_index=part.first_index + start,
            )
            part.raws[start:end] = [None] * len(part.raws[start:end])


def _first_null(column: pa.ChunkedArray) -> int:
    return int(pc.index(pc.is_null(column), True).as_py())
