"""Delta Lake tables (`table_format: delta`): one stream, one table, any number of writers.

Each stream is a Delta table at `<destination>/<stream>`, partitioned as `partition_by`
says (the partition columns are table columns, kept in the log rather than in the files).
A batch becomes one Delta commit, and the STATE behind it goes out only once that commit
is made, so a kill at any moment leaves the table at its last commit: readable, and holding
everything acknowledged. Data files of a commit that never happened are invisible to
readers and removed by `target-parquet-sems-maintain` (a full vacuum).

Streams with key properties: a batch replaces the partitions it touches. The rows stored
in them are read at the table version V the commit is based on, merged with the batch
(last record per key wins, as in the Parquet layout) and written back by an overwrite
whose predicate names exactly those partitions. delta-rs records that predicate as what
the commit read, so its conflict checker refuses the commit if a writer committed after V
to any of those partitions (new data: ConcurrentAppend; rewritten data:
ConcurrentDeleteRead). The commit is then redone from the start on the newer version,
with jittered exponential backoff, a bounded number of times. Writers on other
partitions (disjoint station groups) never conflict: delta-rs moves their commits to
the next free version by itself. An unpartitioned keyed stream is one partition (the
predicate `true`). Partitions whose content would not change are not written at all.

Streams without keys are appended: appends never conflict with each other.

Schema changes: new columns (also struct fields) are added with the write
(`schema_mode="merge"`). A wider type (an integer column becoming a number) cannot be
changed in place: delta-rs would cast the new values to the old type. The table is
rewritten once with the wider schema instead, streamed batch by batch, in one commit
whose predicate `true` conflicts with any concurrent commit, and then the batch is
written. Concurrent writers see the new schema as a metadata change and redo their commit.

Creating a table races too: the commit of version 0 is refused for all but one writer
(delta-rs reports the others' protocol and metadata as a conflict), and the losers merge
into the winner's table on their next attempt.
"""

from __future__ import annotations

import logging
import random
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pa_fs
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.writer import ColumnProperties, WriterProperties

from target_parquet_sems.dataset import DATA_FILE, DELTA_LOG, LayoutConflictError, StreamStore
from target_parquet_sems.merge import conform_table, merge_rows
from target_parquet_sems.partitioning import (
    add_partition_columns,
    split_by_partition,
)
from target_parquet_sems.pausepoints import pause_point
from target_parquet_sems.schema import (
    SchemaMergeError,
    unify_schemas,
)
from target_parquet_sems.storage import Destination, column_encodings

COMMIT_ATTEMPTS = 12
"""Attempts at one batch's commit before the run stops. Conflicts only arise between writers
of the same partitions (or a schema change), and each attempt lets at least one contender
through; the random waits between attempts (a window doubling from BACKOFF_FIRST_SECONDS to
BACKOFF_MAX_SECONDS) add up to two minutes at the very most."""
BACKOFF_FIRST_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 20.0
_COMPRESSIONS = {
    "zstd": "ZSTD",
    "snappy": "SNAPPY",
    "gzip": "GZIP",
    "brotli": "BROTLI",
    "lz4": "LZ4_RAW",  # what pyarrow writes for "lz4"
    "none": "UNCOMPRESSED",
}


class DeltaCommitError(RuntimeError):
    """A batch's commit kept conflicting with other writers, or cannot be made at all."""


class _TableCreatedMeanwhileError(Exception):
    """Another writer created the table between our look and our create: merge into it."""


Result = TypeVar("Result")


def storage_options(destination: Destination) -> dict[str, str]:
    """delta-rs storage options from the target's S3 settings.

    delta-rs reads the usual AWS_* variables itself (credentials, region, and on stores
    without conditional writes AWS_S3_ALLOW_UNSAFE_RENAME); the target's settings win.
    """
    s3 = destination.s3_options
    options: dict[str, str] = {}
    if "endpoint_override" in s3:
        scheme = s3.get("scheme", "https")
        options["AWS_ENDPOINT_URL"] = f"{scheme}://{s3['endpoint_override']}"
        if scheme == "http":
            options["AWS_ALLOW_HTTP"] = "true"
    if "region" in s3:
        options["AWS_REGION"] = s3["region"]
    if "access_key" in s3:
        options["AWS_ACCESS_KEY_ID"] = s3["access_key"]
        options["AWS_SECRET_ACCESS_KEY"] = s3["secret_key"]
    return options


def table_uri(destination: Destination, name: str) -> str:
    """Where delta-rs finds the table: a local path, or `s3://bucket/prefix/<name>`."""
    path = destination.path(name)
    return path if destination.is_local else f"{destination.scheme}://{path}"


def writer_properties(
    schema: pa.Schema,
    compression: str,
    row_group_size: int | None,
    table: pa.Table | None = None,
) -> WriterProperties:
    """The Parquet settings of the Parquet layout: its encodings (storage.column_encodings)."""
    dictionary, encodings = column_encodings(schema, table)
    columns = {name: ColumnProperties(dictionary_enabled=True) for name in dictionary}
    columns.update(
        (name, ColumnProperties(dictionary_enabled=False, encoding=encoding))  # type: ignore[arg-type]
        for name, encoding in encodings.items()
    )
    return WriterProperties(
        compression=_COMPRESSIONS[compression],  # type: ignore[arg-type]
        max_row_group_size=row_group_size,
        default_column_properties=ColumnProperties(dictionary_enabled=False),
        column_properties=columns,
    )


def retry_on_conflict(
    operation: Callable[[], Result],
    *,
    what: str,
    logger: logging.Logger,
    attempts: int | None = None,
) -> Result:
    """Run `operation` (which reads the table and commits) until no other writer overtakes
    it, waiting a jittered, growing while between attempts; stop after `attempts`."""
    attempts = attempts or COMMIT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except (CommitFailedError, _TableCreatedMeanwhileError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if attempt == attempts:
                msg = (
                    f"{what} still conflicted with other writers after {attempts} attempts "
                    f"({reason}); nothing of it was committed. Run again."
                )
                raise DeltaCommitError(msg) from None
            delay = backoff_seconds(attempt)
            logger.info(
                "%s: another writer committed first (%s); trying again in %.2f s "
                "(attempt %d of %d).",
                what,
                reason,
                delay,
                attempt + 1,
                attempts,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def backoff_seconds(attempt: int) -> float:
    """Full jitter: a random wait in a window that doubles with each failed attempt, so
    writers that collided once spread out instead of colliding again in step."""
    window = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
    return random.uniform(0, window)


class DeltaStreamDataset(StreamStore):
    """One stream's Delta table, and the write of a batch into it as one commit."""

    def locate(self) -> None:
        self.uri = table_uri(self.destination, self.name)
        self.location = self.name
        """Where the stream is, relative to the destination's root."""
        self.storage_options = storage_options(self.destination)
        self._table: DeltaTable | None = None
        self._refuse_parquet_layout()

    def _refuse_parquet_layout(self) -> None:
        """Stop when the stream is stored in the plain Parquet layout (table_format changed).

        A Delta table in that folder would leave the old files outside the table, where
        its readers miss their rows and a full vacuum deletes them. The Parquet layout's
        files have a fixed name; a folder holding only other files is a Delta table whose
        first commit another writer is making.
        """
        if self.destination.is_folder(self.destination.path(self.name, DELTA_LOG)):
            return
        single = self.destination.path(f"{self.name}.parquet")
        old = single if self.destination.exists(single) else None
        if old is None:
            old = next(
                iter(self.destination.list_files(self.destination.path(self.name), DATA_FILE)), None
            )
        if old is not None:
            msg = (
                f"Stream '{self.name}' is to be a Delta table (table_format: delta), but "
                f"{old} holds it as plain Parquet from an earlier run. Move that away and "
                "re-load its rows (e.g. a --full-refresh run), or set table_format: parquet."
            )
            raise LayoutConflictError(msg)

    # --- the write -----------------------------------------------------------------------

    def write(self, incoming: pa.Table) -> int:
        """Merge (or append) `incoming` in one commit; returns the partitions written.

        A commit that conflicts with another writer's is redone on the newer version.
        """
        rows = add_partition_columns(incoming, self.partitions, self.plan)
        try:
            return retry_on_conflict(
                lambda: self._write_once(rows),
                what=f"Stream '{self.name}': the commit of a batch to {self.uri}",
                logger=self.logger,
            )
        except SchemaMergeError as exc:
            raise SchemaMergeError(f"Stream '{self.name}': {exc}") from None

    def _write_once(self, rows: pa.Table) -> int:
        table = self._load()
        if table is None:
            return self._create(rows)
        self._check_partitioning(table)
        stored = pa.schema(table.schema().to_arrow())
        schema = unify_schemas(stored, rows.schema)
        if _widened(stored, schema):
            self._rewrite_with(table, schema)
            table = self._load()
            assert table is not None
            stored = pa.schema(table.schema().to_arrow())
            schema = unify_schemas(stored, rows.schema)
        rows = conform_table(rows, schema)
        schema_mode: Literal["merge"] | None = None if schema.equals(stored) else "merge"
        parts = list(self._partition_values(rows))
        if not self.key_columns:
            self._commit(table, rows, schema_mode=schema_mode, predicate=None)
            return len(parts)
        changed: list[pa.Table] = []
        changed_values: list[dict[str, Any]] = []
        stored_rows = self._stored_partitions(table, [values for values, _ in parts], schema)
        for values, new in parts:
            old = stored_rows.get(_value_key(values))
            merged = merge_rows(old, new, self.file_key_columns, keyed=True)
            if old is not None and merged.equals(old):
                continue
            changed.append(merged)
            changed_values.append(values)
        if not changed:
            return 0
        self._commit(
            table,
            pa.concat_tables(changed),
            schema_mode=schema_mode,
            predicate=self._predicate(changed_values),
        )
        return len(changed)

    # --- reading what is stored ---------------------------------------------------------

    def _load(self) -> DeltaTable | None:
        """The table at its latest version, or None before its first commit."""
        if self._table is not None:
            self._table.update_incremental()
            return self._table
        try:
            self._table = DeltaTable(self.uri, storage_options=self.storage_options)
        except TableNotFoundError:
            return None
        return self._table

    def _check_partitioning(self, table: DeltaTable) -> None:
        stored = list(table.metadata().partition_columns)
        if stored != self.partition_columns:
            msg = (
                f"Stream '{self.name}': the Delta table {self.uri} is partitioned by "
                f"{stored or 'nothing'}, but partition_by now says "
                f"{self.partition_columns or 'nothing'}. Set partition_by back, or write the "
                "stream to a new destination (a --full-refresh run) to change it."
            )
            raise LayoutConflictError(msg)

    def _partition_values(self, rows: pa.Table) -> Iterator[tuple[dict[str, Any], pa.Table]]:
        """Each partition's values and rows; an unpartitioned table is one partition."""
        if not self.partitions:
            yield {}, rows
            return
        for _, part in split_by_partition(rows, self.partitions):
            yield part.select(self.partition_columns).slice(0, 1).to_pylist()[0], part

    def _stored_partitions(
        self, table: DeltaTable, partitions: list[dict[str, Any]], schema: pa.Schema
    ) -> dict[tuple[Any, ...], pa.Table]:
        """The stored rows of these partitions at the version `table` was read at.

        The files of a partition come from the log and are read with the destination's own
        filesystem: deltalake's dataset would list every file of the table and read through
        a Python filesystem layer, several times slower. Tables this target did not write
        alone (deletion vectors, column mapping) are read through deltalake.
        """
        if table.protocol().reader_features:
            dataset = table.to_pyarrow_dataset()
            wanted = _partition_filter(partitions) if self.partitions else None
            stored = conform_table(dataset.to_table(filter=wanted), schema)
            return {_value_key(v): part for v, part in self._partition_values(stored)}
        keys = {_value_key(values) for values in partitions}
        columns = [f"partition.{column}" for column in self.partition_columns]
        actions = pa.table(table.get_add_actions(flatten=True)).select(["path", *columns])
        files: dict[tuple[Any, ...], list[str]] = {}
        for action in actions.to_pylist():
            key = tuple((c, action[f"partition.{c}"]) for c in self.partition_columns)
            if key in keys:
                files.setdefault(key, []).append(urllib.parse.unquote(action["path"]))
        stored = {}
        for key, paths in files.items():
            parts = [
                self.destination.read_table(self.destination.path(self.name, p)) for p in paths
            ]
            rows = (
                pa.concat_tables(parts, promote_options="permissive")
                if len(parts) > 1
                else parts[0]
            )
            for column, value in key:
                rows = rows.append_column(column, pa.array([value] * rows.num_rows))
            stored[key] = conform_table(rows, schema)
        return stored

    # --- commits -------------------------------------------------------------------------

    def _create(self, rows: pa.Table) -> int:
        """The table's first commit. mode="error" refuses to write into a table another
        writer created meanwhile, which a plain write would append to without merging."""
        rows = merge_rows(None, rows, self.key_columns) if self.key_columns else rows
        try:
            write_deltalake(
                self.uri,
                _handed_over(rows),
                mode="error",
                partition_by=self.partition_columns or None,
                name=self.name,
                storage_options=self.storage_options,
                writer_properties=self._writer_properties(rows.schema, rows),
            )
        except DeltaError as exc:
            if isinstance(exc, CommitFailedError):
                raise
            if DeltaTable.is_deltatable(self.uri, storage_options=self.storage_options):
                raise _TableCreatedMeanwhileError(str(exc)) from None
            raise
        self.logger.info("Stream '%s': created the Delta table %s.", self.name, self.uri)
        return len(list(self._partition_values(rows)))

    def _commit(
        self,
        table: DeltaTable,
        rows: pa.Table,
        *,
        schema_mode: Literal["merge"] | None,
        predicate: str | None,
    ) -> None:
        """One commit based on the version `table` was read at (delta-rs does not reload it
        before committing, which is what makes its conflict check cover our read): an
        overwrite of the partitions `predicate` names, or without one an append."""
        properties = self._writer_properties(rows.schema, rows)
        if predicate is None:
            write_deltalake(
                table,
                _handed_over(rows),
                mode="append",
                schema_mode=schema_mode,
                writer_properties=properties,
            )
        else:
            write_deltalake(
                table,
                _handed_over(rows),
                mode="overwrite",
                schema_mode=schema_mode,
                predicate=predicate,
                writer_properties=properties,
            )

    def _rewrite_with(self, table: DeltaTable, schema: pa.Schema) -> None:
        """Rewrite the whole table with a wider schema, in one commit, batch by batch."""
        self.logger.info(
            "Stream '%s': a column type widens; rewriting the Delta table %s with the new "
            "schema (version %d).",
            self.name,
            self.uri,
            table.version(),
        )
        dataset = table.to_pyarrow_dataset()
        batches = (
            batch
            for stored in dataset.to_batches()
            for batch in conform_table(pa.Table.from_batches([stored]), schema).to_batches()
        )
        write_deltalake(
            table,
            pa.RecordBatchReader.from_batches(schema, batches),
            mode="overwrite",
            schema_mode="overwrite",
            predicate="true",
            writer_properties=self._writer_properties(schema),
        )

    def _writer_properties(
        self, schema: pa.Schema, rows: pa.Table | None = None
    ) -> WriterProperties:
        return writer_properties(schema, self.compression, self.row_group_size, rows)

    def _predicate(self, partitions: list[dict[str, Any]]) -> str:
        """SQL naming exactly these partitions: what the commit read, and what it replaces."""
        if not self.partitions:
            return "true"
        return " OR ".join(
            "(" + " AND ".join(_sql_equals(column, value) for column, value in values.items()) + ")"
            for values in partitions
        )


def _handed_over(rows: pa.Table) -> pa.RecordBatchReader:
    """The rows as a stream delta-rs pulls from while it writes the data files.

    The pause point sits after the last batch, before the end of the stream: the rows are
    with delta-rs, which writes its data files and commits once the stream ends.
    """

    def batches() -> Iterator[pa.RecordBatch]:
        yield from rows.to_batches()
        pause_point("delta-before-commit")

    return pa.RecordBatchReader.from_batches(rows.schema, batches())


def _widened(stored: pa.Schema, unified: pa.Schema) -> bool:
    """Whether a stored column's type changes (not only gains struct fields)."""
    return any(_type_widened(field.type, unified.field(field.name).type) for field in stored)


def _type_widened(old: pa.DataType, new: pa.DataType) -> bool:
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        children = {new.field(i).name: new.field(i).type for i in range(new.num_fields)}
        return any(
            _type_widened(old.field(i).type, children[old.field(i).name])
            for i in range(old.num_fields)
        )
    if pa.types.is_list(old) and pa.types.is_list(new):
        return _type_widened(old.value_type, new.value_type)
    return old != new


def _value_key(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values.items())


def _partition_filter(partitions: list[dict[str, Any]]) -> pc.Expression:
    """The Arrow filter of the same partitions as `DeltaStreamDataset._predicate`."""
    expression: pc.Expression | None = None
    for values in partitions:
        conjunction: pc.Expression | None = None
        for column, value in values.items():
            term = pc.field(column).is_null() if value is None else pc.field(column) == value
            conjunction = term if conjunction is None else conjunction & term
        assert conjunction is not None
        expression = conjunction if expression is None else expression | conjunction
    assert expression is not None
    return expression


def _sql_equals(column: str, value: Any) -> str:
    name = '"' + column.replace('"', '""') + '"'
    if value is None:
        return f"{name} IS NULL"
    if isinstance(value, bool):
        return f"{name} = {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"{name} = {value}"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"{name} = '" + text.replace("'", "''") + "'"


# --- maintenance (target-parquet-sems-maintain) -------------------------------------------


def table_names(destination: Destination) -> list[str]:
    """The Delta tables directly below the destination."""
    selector = pa_fs.FileSelector(destination.root, recursive=False, allow_not_found=True)
    return sorted(
        info.base_name
        for info in destination.fs.get_file_info(selector)
        if info.type == pa_fs.FileType.Directory
        and destination.is_folder(destination.path(info.base_name, DELTA_LOG))
    )


def maintain_table(
    destination: Destination,
    name: str,
    *,
    vacuum_hours: int,
    dry_run: bool,
    compression: str,
    row_group_size: int | None,
    logger: logging.Logger,
) -> str:
    """Compact, vacuum (also files no commit refers to), checkpoint; says what it did."""
    uri = table_uri(destination, name)
    options = storage_options(destination)

    def load() -> DeltaTable:
        return DeltaTable(uri, storage_options=options)

    def compact() -> dict[str, Any]:
        table = load()
        schema = pa.schema(table.schema().to_arrow())
        properties = writer_properties(schema, compression, row_group_size)
        return table.optimize.compact(writer_properties=properties)

    def vacuum() -> list[str]:
        return load().vacuum(
            retention_hours=vacuum_hours,
            dry_run=dry_run,
            enforce_retention_duration=False,
            full=True,
        )

    done = []
    if not dry_run:
        metrics = retry_on_conflict(compact, what=f"Compacting {uri}", logger=logger)
        done.append(
            f"compacted {metrics['numFilesRemoved']} file(s) into {metrics['numFilesAdded']}"
        )
    deleted = retry_on_conflict(vacuum, what=f"Vacuuming {uri}", logger=logger)
    done.append(f"{'would delete' if dry_run else 'deleted'} {len(deleted)} unused file(s)")
    if not dry_run:
        table = load()
        table.create_checkpoint()
        table.cleanup_metadata()
        done.append(f"checkpoint at version {table.version()}")
    return "; ".join(done)
