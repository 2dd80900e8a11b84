"""Merge batches of rows into a stream's Parquet file or Hive-partitioned dataset.

Layout: `<root>/<stream>.parquet` without partitions, otherwise
`<root>/<stream>/<col>=<value>/.../data.parquet`, with the schema all of the stream's
files share recorded in `<root>/_schemas/<stream>/_common_metadata`: outside the stream's folder,
which holds data files only, so that every reader opens it as it is. Each partition is
one file with a fixed name, so replacing it is a single atomic rename: a run killed at any
moment leaves every partition either as it was or fully rewritten, and never two versions
of a row.

Partition columns live only in the folder names, as pyarrow's and Spark's Hive
writers do: `pyarrow.parquet.read_table(folder)` refuses a column that is both in
the files and in the folder names, so storing them twice would break it.
"""

from __future__ import annotations

import json
import logging

import pyarrow as pa

from target_parquet_sems.merge import conform_table, merge_rows
from target_parquet_sems.partitioning import (
    PartitionSpec,
    add_partition_columns,
    check_specs,
    partition_description,
    split_by_partition,
)
from target_parquet_sems.schema import (
    DESCRIPTION_KEY,
    SchemaMergeError,
    StreamPlan,
    safe_stream_name,
    unify_schemas,
    with_descriptions,
)
from target_parquet_sems.storage import Destination

DATA_FILE = "data.parquet"
DESCRIPTIONS_KEY = "column_descriptions"
"""File-level key: a JSON map of column name to description, partition columns included."""
SCHEMAS_FOLDER = "_schemas"
SCHEMA_FILE = "_common_metadata"
"""A Parquet file without rows; versions before 0.2 kept it in the stream's folder, which
broke polars and DuckDB's `**` globs."""
DELTA_LOG = "_delta_log"
"""The folder that makes a stream's folder a Delta table (table_format delta, delta.py)."""


class LayoutConflictError(ValueError):
    """The stream is stored both partitioned and not, or would be."""


class StreamStore:
    """What both layouts (these Hive folders, delta.py's tables) know of a stream."""

    def __init__(
        self,
        destination: Destination,
        stream_name: str,
        plan: StreamPlan,
        *,
        key_columns: list[str],
        partitions: list[PartitionSpec],
        compression: str,
        row_group_size: int | None,
        logger: logging.Logger,
    ) -> None:
        check_specs(partitions, plan, stream_name)
        self.stream_name = stream_name
        self.name = safe_stream_name(stream_name)
        """The stream's folder (or table) name at the destination."""
        self.destination = destination
        self.plan = plan
        self.key_columns = key_columns
        self.partitions = partitions
        self.partition_columns = [spec.column for spec in partitions]
        self.file_key_columns = [c for c in key_columns if c not in self.partition_columns]
        """Within one partition the partition columns are constant."""
        self.compression = compression
        self.row_group_size = row_group_size
        self.logger = logger
        self.locate()

    def locate(self) -> None:
        """Where the stream is in this layout; stops when it is stored another way."""
        raise NotImplementedError


class StreamDataset(StreamStore):
    """One stream's files, and the merged write of a batch into them."""

    def locate(self) -> None:
        folder_name, destination = self.name, self.destination
        if self.partitions:
            self.folder = destination.path(folder_name)
            self.single_file = None
        else:
            self.folder = destination.root
            self.single_file = destination.path(f"{folder_name}.parquet")
        self.schema_file = destination.path(SCHEMAS_FOLDER, folder_name, SCHEMA_FILE)
        self.location = folder_name if self.partitions else f"{folder_name}.parquet"
        """Where the stream is, relative to the destination's root."""
        self._refuse_other_layout(folder_name)
        self._tidied = False

    def _refuse_other_layout(self, folder_name: str) -> None:
        """Stop when the stream is already stored the other way (partition_by changed).

        Writing on would leave two copies of the stream side by side, and readers of
        either one would miss the other's rows.
        """
        single = self.destination.path(f"{folder_name}.parquet")
        folder = self.destination.path(folder_name)
        if self.destination.is_folder(f"{folder}/{DELTA_LOG}"):
            msg = (
                f"Stream '{folder_name}': {folder}/ is a Delta Lake table (table_format: delta "
                "wrote it); set table_format: delta to write it, or choose another destination."
            )
            raise LayoutConflictError(msg)
        if self.partitions and self.destination.exists(single):
            msg = (
                f"Stream '{folder_name}' is now partitioned (partition_by), but {single} holds "
                "it unpartitioned from an earlier run. Move that file away and re-load its "
                "rows (e.g. a --full-refresh run), or remove partition_by for this stream."
            )
            raise LayoutConflictError(msg)
        if not self.partitions and self.destination.is_folder(folder):
            msg = (
                f"Stream '{folder_name}' is now unpartitioned, but {folder}/ holds it "
                "partitioned from an earlier run. Move that folder away and re-load its rows "
                "(e.g. a --full-refresh run), or set partition_by for this stream again."
            )
            raise LayoutConflictError(msg)

    def write(self, incoming: pa.Table) -> int:
        """Merge `incoming` into the dataset; returns the number of files rewritten.

        Any schema conflict is found before the first file is touched.
        """
        try:
            return self._write(incoming)
        except SchemaMergeError as exc:
            raise SchemaMergeError(f"Stream '{self.stream_name}': {exc}") from None

    def _write(self, incoming: pa.Table) -> int:
        if self.single_file is not None:
            return self._write_file(self.single_file, incoming, None)
        if not self._tidied:
            self._tidy_earlier_layout()
            self._tidied = True
        with_partitions = add_partition_columns(incoming, self.partitions, self.plan)
        groups = [
            (folder, rows.drop_columns(self.partition_columns))
            for folder, rows in split_by_partition(with_partitions, self.partitions)
        ]
        incoming = incoming.drop_columns(
            [c for c in self.partition_columns if c in incoming.column_names]
        )
        stored_schema = self._stored_schema()
        schema = unify_schemas(stored_schema, incoming.schema)
        for folder, _ in groups:
            path = f"{self.folder}/{folder}/{DATA_FILE}"
            if self.destination.exists(path):
                schema = unify_schemas(schema, self.destination.read_schema(path))
        schema = self._described(schema)
        if stored_schema is None or not schema.equals(stored_schema, check_metadata=True):
            self._migrate(schema)
        written = 0
        for folder, rows in groups:
            written += self._write_file(f"{self.folder}/{folder}/{DATA_FILE}", rows, schema)
        return written

    def _write_file(self, path: str, rows: pa.Table, schema: pa.Schema | None) -> int:
        existing = self.destination.read_table(path) if self.destination.exists(path) else None
        if schema is None:
            unified = unify_schemas(existing.schema if existing is not None else None, rows.schema)
            schema = self._described(unified)
        old = conform_table(existing, schema) if existing is not None else None
        keyed = bool(self.key_columns)
        merged = merge_rows(old, conform_table(rows, schema), self._sort_key, keyed=keyed)
        if (
            existing is not None
            and existing.schema.equals(schema, check_metadata=True)
            and merged.equals(existing)
        ):
            return 0
        self._store(path, merged, schema)
        return 1

    @property
    def _sort_key(self) -> list[str]:
        """The key columns within one file: merged files are sorted by them."""
        return self.file_key_columns if self.single_file is None else self.key_columns

    def _store(self, path: str, table: pa.Table, schema: pa.Schema) -> None:
        self.destination.write_table(
            path,
            table,
            schema=schema,
            sorted_by=self._sort_key if self.key_columns else [],
            compression=self.compression,
            row_group_size=self.row_group_size,
        )

    def _described(self, schema: pa.Schema) -> pa.Schema:
        """The files' schema: column descriptions in the field metadata and, for readers
        that show no field metadata, as one JSON map (partition columns included)."""
        schema = with_descriptions(schema, self.plan)
        descriptions = {
            f.name: f.metadata[DESCRIPTION_KEY].decode()
            for f in schema
            if f.metadata and DESCRIPTION_KEY in f.metadata
        }
        for spec in self.partitions:
            text = partition_description(spec, self.plan)
            if text:
                descriptions[spec.column] = text
        if not descriptions:
            return schema.remove_metadata()
        text = json.dumps(descriptions, ensure_ascii=False, sort_keys=True)
        return schema.with_metadata(
            {
                DESCRIPTIONS_KEY: text,
                # pandas' read_parquet puts this into DataFrame.attrs.
                "PANDAS_ATTRS": json.dumps({DESCRIPTIONS_KEY: descriptions}, ensure_ascii=False),
            }
        )

    def _tidy_earlier_layout(self) -> None:
        """Move what versions before 0.2 kept in the stream's folder out of it.

        Those wrote temporary files and the schema record (`_common_metadata`) beside
        the partitions, where polars and DuckDB's `**` globs read them as data.
        """
        self.destination.remove_stale_temp_files(self.folder)
        legacy = f"{self.folder}/{SCHEMA_FILE}"
        if self.destination.exists(legacy):
            if not self.destination.exists(self.schema_file):
                self.destination.write_schema(
                    self.schema_file, self.destination.read_schema(legacy)
                )
            self.destination.remove(legacy)

    def _stored_schema(self) -> pa.Schema | None:
        """The schema every partition file shares, from the schema record.

        A dataset written before that record existed gets it from its files' schemas.
        """
        if self.destination.exists(self.schema_file):
            return self.destination.read_schema(self.schema_file)
        schema: pa.Schema | None = None
        for path in self.destination.list_files(self.folder, DATA_FILE):
            schema = unify_schemas(schema, self.destination.read_schema(path))
        return schema

    def _migrate(self, schema: pa.Schema) -> None:
        """Give every partition file the new schema, then record it.

        Readers infer a dataset's schema from one file, so all files must agree.
        The schema record is written last: a run killed halfway migrates again.
        """
        migrated = 0
        for path in self.destination.list_files(self.folder, DATA_FILE):
            if self.destination.read_schema(path).equals(schema, check_metadata=True):
                continue
            table = conform_table(self.destination.read_table(path), schema)
            if self.key_columns and self._sort_key:
                table = table.sort_by([(column, "ascending") for column in self._sort_key])
            self._store(path, table, schema)
            migrated += 1
        if migrated:
            self.logger.info("Schema changed: rewrote %d partition file(s) with it.", migrated)
        self.destination.write_schema(self.schema_file, schema)
