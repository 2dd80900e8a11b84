"""Merge batches of rows into a stream's Parquet file or Hive-partitioned dataset.

Layout: `<root>/<stream>.parquet` without partitions, otherwise
`<root>/<stream>/<col>=<value>/.../data.parquet` plus `<root>/<stream>/_common_metadata`
holding the files' schema. Each partition is one file with a fixed name, so
replacing it is a single atomic rename: a run killed at any moment leaves every
partition either as it was or fully rewritten, and never two versions of a row.

Partition columns live only in the folder names, as pyarrow's and Spark's Hive
writers do: `pyarrow.parquet.read_table(folder)` refuses a column that is both in
the files and in the folder names, so storing them twice would break it.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from target_parquet_sems.merge import conform_table, merge_rows
from target_parquet_sems.partitioning import (
    PartitionSpec,
    add_partition_columns,
    check_specs,
    split_by_partition,
)
from target_parquet_sems.schema import StreamPlan, safe_stream_name, unify_schemas
from target_parquet_sems.storage import Destination

DATA_FILE = "data.parquet"
SCHEMA_FILE = "_common_metadata"
DELTA_LOG = "_delta_log"
"""The folder that makes a stream's folder a Delta table (table_format delta, delta.py)."""


class LayoutConflictError(ValueError):
    """The stream is stored both partitioned and not, or would be."""


class StreamDataset:
    """One stream's files, and the merged write of a batch into them."""

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
        folder_name = safe_stream_name(stream_name)
        self.destination = destination
        self.plan = plan
        self.key_columns = key_columns
        self.partitions = partitions
        partition_columns = {spec.column for spec in partitions}
        self.partition_columns = [spec.column for spec in partitions]
        self.file_key_columns = [c for c in key_columns if c not in partition_columns]
        """Within one partition folder the partition columns are constant."""
        self.compression = compression
        self.row_group_size = row_group_size
        self.logger = logger
        if partitions:
            self.folder = destination.path(folder_name)
            self.single_file = None
        else:
            self.folder = destination.root
            self.single_file = destination.path(f"{folder_name}.parquet")
        self._refuse_other_layout(folder_name)

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
        if self.single_file is not None:
            folder, name = self.single_file.rsplit("/", 1)
            self.destination.remove_stale_temp_files(folder, name)
            return self._write_file(self.single_file, incoming, None)
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
        if schema != stored_schema:
            self._migrate(schema)
        self.destination.remove_stale_temp_files(self.folder)
        written = 0
        for folder, rows in groups:
            written += self._write_file(f"{self.folder}/{folder}/{DATA_FILE}", rows, schema)
        return written

    def _write_file(self, path: str, rows: pa.Table, schema: pa.Schema | None) -> int:
        existing = self.destination.read_table(path) if self.destination.exists(path) else None
        if schema is None:
            schema = unify_schemas(existing.schema if existing is not None else None, rows.schema)
        old = conform_table(existing, schema) if existing is not None else None
        keyed = bool(self.key_columns)
        key_columns = self.file_key_columns if self.single_file is None else self.key_columns
        merged = merge_rows(old, conform_table(rows, schema), key_columns, keyed=keyed)
        if existing is not None and existing.schema == schema and merged.equals(existing):
            return 0
        self.destination.write_table(
            path, merged, compression=self.compression, row_group_size=self.row_group_size
        )
        return 1

    def _stored_schema(self) -> pa.Schema | None:
        """The schema every partition file shares, from `_common_metadata`.

        A dataset written before that file existed gets it from its files' schemas.
        """
        schema_path = f"{self.folder}/{SCHEMA_FILE}"
        if self.destination.exists(schema_path):
            return self.destination.read_schema(schema_path)
        schema: pa.Schema | None = None
        for path in self.destination.list_files(self.folder, DATA_FILE):
            schema = unify_schemas(schema, self.destination.read_schema(path))
        return schema

    def _migrate(self, schema: pa.Schema) -> None:
        """Give every partition file the new schema, then record it.

        Readers infer a dataset's schema from one file, so all files must agree.
        `_common_metadata` is written last: a run killed halfway migrates again.
        """
        migrated = 0
        for path in self.destination.list_files(self.folder, DATA_FILE):
            if self.destination.read_schema(path) == schema:
                continue
            table = conform_table(self.destination.read_table(path), schema)
            self.destination.write_table(
                path, table, compression=self.compression, row_group_size=self.row_group_size
            )
            migrated += 1
        if migrated:
            self.logger.info("Schema changed: rewrote %d partition file(s) with it.", migrated)
        self.destination.write_schema(f"{self.folder}/{SCHEMA_FILE}", schema)
