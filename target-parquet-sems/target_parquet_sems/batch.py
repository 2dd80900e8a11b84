"""One stream's pending batch: records kept as they came in, then parsed and checked at once.

RECORD lines stay the undecoded bytes the reader handed over, and BATCH files their bytes
(JSON lines) or rows (Parquet), in arrival order. When the batch is written it is converted
a slice at a time (convert.py), so each slice's raw JSON is released once it is parsed, and
every row is checked: key properties present, and with `validate_records` required fields.
"""

from __future__ import annotations

import gzip
import time
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from singer_sdk.exceptions import MissingKeyPropertiesError

from target_parquet_sems.convert import (
    DecodedRecords,
    PendingPart,
    RawRecords,
    RecordError,
    part_to_table,
)
from target_parquet_sems.schema import FieldPlan, StreamPlan

MAX_BATCH_BYTES = 64 * 1024 * 1024
"""A batch is full at this much buffered raw JSON, whatever `batch_size_rows` says."""
CONVERT_SLICE_ROWS = 20_000
"""Records converted at a time: raw JSON is released slice by slice, capping memory."""


class PendingBatch:
    """The records buffered for one stream since its last write."""

    def __init__(self, row_limit: int) -> None:
        self.row_limit = row_limit
        self._parts: list[PendingPart] = []
        """Closed parts (batch files, earlier record runs), in arrival order."""
        self._closed_rows = 0
        self._raws: list[t.Any] = []
        self._line_numbers: list[int] = []
        """The open run of RECORD lines, appended to on the hot path."""
        self._bytes = 0
        self._since = 0.0
        """When the oldest record still buffered arrived (time.monotonic)."""

    def __len__(self) -> int:
        return self._closed_rows + len(self._raws)

    @property
    def is_full(self) -> bool:
        return len(self) >= self.row_limit or self._bytes >= MAX_BATCH_BYTES

    @property
    def waited_seconds(self) -> float:
        """How long the oldest buffered record has waited (0 when there is none)."""
        return time.monotonic() - self._since if len(self) else 0.0

    def add_record_lines(self, lines: list[bytes], line_numbers: list[int]) -> int:
        """Buffer undecoded RECORD lines up to the row limit (at least one); returns how many.

        Taking no more than fits keeps every batch at its exact size.
        """
        if not len(self):
            self._since = time.monotonic()
        room = max(1, self.row_limit - len(self))
        if room < len(lines):
            lines, line_numbers = lines[:room], line_numbers[:room]
        self._raws.extend(lines)
        self._line_numbers.extend(line_numbers)
        self._bytes += sum(map(len, lines))
        return len(lines)

    def add_part(self, part: PendingPart, size_bytes: int = 0) -> None:
        if not len(self):
            self._since = time.monotonic()
        self._close_record_run()
        self._parts.append(part)
        self._closed_rows += len(part)
        self._bytes += size_bytes

    def take(self) -> tuple[list[PendingPart], int]:
        """Everything buffered, and its number of records; the batch is empty afterwards."""
        self._close_record_run()
        parts, rows = self._parts, self._closed_rows
        self._parts, self._closed_rows, self._bytes = [], 0, 0
        return parts, rows

    def _close_record_run(self) -> None:
        if self._raws:
            self._parts.append(RawRecords(self._raws, True, self._line_numbers))
            self._closed_rows += len(self._raws)
            self._raws, self._line_numbers = [], []


def read_batch_file(
    handle: t.IO[bytes], file_format: str, compression: str | None, source: str
) -> tuple[PendingPart, int]:
    """The records of one BATCH file, and the bytes of JSON they hold."""
    if file_format == "jsonl":
        data = handle.read()
        if compression == "gzip" or data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        raws = [line for line in data.splitlines() if line.strip()]
        return RawRecords(raws, False, None, source), len(data)
    if file_format == "parquet":
        return DecodedRecords(pq.read_table(handle).to_pylist(), source), 0
    msg = f"Unsupported BATCH encoding format: {file_format}"
    raise NotImplementedError(msg)


@dataclass(frozen=True)
class RowChecks:
    """What every row of a stream must hold beyond its types."""

    stream_name: str
    key_properties: list[str]
    key_columns: list[str]
    required: list[FieldPlan]
    """Fields that must not be null: required and not nullable (with `validate_records`)."""

    @classmethod
    def for_stream(
        cls, stream_name: str, plan: StreamPlan, key_properties: t.Sequence[str], *, validate: bool
    ) -> RowChecks:
        required = [f for f in plan.fields if f.must_not_be_null] if validate else []
        keys = list(key_properties)
        return cls(stream_name, keys, plan.key_columns(keys, stream_name), required)

    def check(self, table: pa.Table, part: PendingPart) -> None:
        """Key properties must be present and not null; so must required fields."""
        for name, column in zip(self.key_properties, self.key_columns, strict=True):
            if table.column(column).null_count:
                index = _first_null(table.column(column))
                msg = (
                    f"Stream '{self.stream_name}', {part.locate(index)}: key property "
                    f"'{name}' is missing or null (key properties: {self.key_properties})"
                )
                raise MissingKeyPropertiesError(msg)
        for field_plan in self.required:
            if table.column(field_plan.column).null_count:
                index = _first_null(table.column(field_plan.column))
                msg = (
                    f"Stream '{self.stream_name}', {part.locate(index)}: required field "
                    f"'{field_plan.name}' is missing or null"
                )
                raise RecordError(msg)


def parse_batch(parts: list[PendingPart], plan: StreamPlan, checks: RowChecks) -> pa.Table | None:
    """One checked Arrow table of a batch's parts (None when they hold no records).

    `parts` is emptied as it is converted.
    """
    tables = []
    for part in _in_slices(parts):
        table = part_to_table(part, plan)
        checks.check(table, part)
        tables.append(table)
    if not tables:
        return None
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _in_slices(parts: list[PendingPart]) -> Iterator[PendingPart]:
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
