"""Where the dataset lives: a local folder or any pyarrow filesystem URI (S3, ...).

Files appear only complete. Locally a file is written under a hidden temporary name in
the destination's root folder, flushed to disk, then renamed over the old one, which is
one atomic step; on an object store the whole file is uploaded with one PUT to its final
key, and object PUTs are atomic. Readers never see a half-written file, and a stream's
folder holds nothing but its data files: polars and DuckDB (`**`) read every file below
the folder they are given, hidden or not.
"""

from __future__ import annotations

import os
import re
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq

from target_parquet_sems.errors import DestinationReadError, DestinationWriteError
from target_parquet_sems.pausepoints import pause_point

TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{32}\.tmp$")


class DestinationError(ValueError):
    """The destination setting cannot be used."""


class Destination:
    """Reads and atomically writes Parquet files below one root folder."""

    def __init__(
        self,
        destination_path: str,
        *,
        s3_endpoint_url: str | None = None,
        s3_region: str | None = None,
        s3_access_key_id: str | None = None,
        s3_secret_access_key: str | None = None,
    ) -> None:
        if not destination_path:
            raise DestinationError("destination_path is empty")
        self.uri = destination_path
        self.is_local = "://" not in destination_path or destination_path.startswith("file://")
        self.s3_options: dict[str, str] = {}
        """pyarrow S3FileSystem arguments (endpoint_override, scheme, region, keys), if S3."""
        if self.is_local:
            local = destination_path.removeprefix("file://")
            self.scheme = "file"
            self.root = str(Path(local).expanduser().resolve())
            self.fs: pa_fs.FileSystem = pa_fs.LocalFileSystem()
            return
        scheme = self.scheme = destination_path.split("://", 1)[0].lower()
        if scheme in ("s3", "s3a"):
            self.s3_options, self.root = _s3_options(
                destination_path,
                endpoint_url=s3_endpoint_url
                or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL"),
                region=s3_region,
                access_key_id=s3_access_key_id,
                secret_access_key=s3_secret_access_key,
            )
            self.fs = pa_fs.S3FileSystem(**self.s3_options)
        else:
            try:
                self.fs, self.root = pa_fs.FileSystem.from_uri(destination_path)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise DestinationError(f"cannot open destination_path: {exc}") from None
        self.root = self.root.rstrip("/")

    def prepare(self) -> None:
        """Create a local destination's folder (object stores have none)."""
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type == pa_fs.FileType.File

    def is_folder(self, path: str) -> bool:
        return self.fs.get_file_info(path).type == pa_fs.FileType.Directory

    def read_table(self, path: str) -> pa.Table:
        """One file exactly (no partition discovery from its folder names)."""
        try:
            with self.fs.open_input_file(path) as handle:
                return pq.ParquetFile(handle).read()
        except (OSError, pa.ArrowException) as exc:
            raise DestinationReadError(self.uri_of(path), exc) from exc

    def read_schema(self, path: str) -> pa.Schema:
        try:
            with self.fs.open_input_file(path) as handle:
                return pq.ParquetFile(handle).schema_arrow
        except (OSError, pa.ArrowException) as exc:
            raise DestinationReadError(self.uri_of(path), exc) from exc

    def list_files(self, folder: str, name: str) -> list[str]:
        """Every file called `name` below `folder`, sorted for a stable order."""
        selector = pa_fs.FileSelector(folder, recursive=True, allow_not_found=True)
        return sorted(
            info.path
            for info in self.fs.get_file_info(selector)
            if info.type == pa_fs.FileType.File and info.base_name == name
        )

    def write_table(
        self,
        path: str,
        table: pa.Table,
        *,
        schema: pa.Schema,
        sorted_by: list[str],
        compression: str,
        row_group_size: int | None,
    ) -> None:
        """Write a complete Parquet file at `path`, replacing any old one in one step.

        `schema` is `table`'s schema with its metadata (descriptions); `sorted_by`, the
        columns the rows are sorted by, is recorded in the file.
        """
        table = pa.Table.from_arrays(table.columns, schema=schema)
        dictionary, encodings = column_encodings(table.schema, table)
        sorting = pq.SortingColumn.from_ordering(schema, [(c, "ascending") for c in sorted_by])
        self._write_atomically(
            path,
            lambda sink: pq.write_table(
                table,
                sink,
                compression=compression,
                row_group_size=row_group_size,
                use_dictionary=dictionary,
                column_encoding=encodings,
                sorting_columns=sorting or None,
            ),
        )

    def write_schema(self, path: str, schema: pa.Schema) -> None:
        """A Parquet file without rows that records a dataset's schema."""
        self._write_atomically(path, lambda sink: pq.write_metadata(schema, sink))

    def remove(self, path: str) -> None:
        self.fs.delete_file(path)

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open_input_stream(path) as handle:
            return bytes(handle.read())

    def write_bytes(self, path: str, data: bytes) -> None:
        """A small file (a run manifest, a lease), replaced in one step."""

        def write(sink: Any) -> None:
            if isinstance(sink, str):
                Path(sink).write_bytes(data)
            else:
                sink.write(data)

        self._write_atomically(path, write)

    def _write_atomically(self, path: str, write: Callable[[Any], None]) -> None:
        try:
            self._replace(path, write)
        except DestinationWriteError:
            raise
        except OSError as exc:
            raise DestinationWriteError(self.uri_of(path), exc) from exc

    def uri_of(self, path: str) -> str:
        """A path below the root as the user knows the destination (local or URI)."""
        if self.is_local:
            return path
        return self.uri.split("?", 1)[0].rstrip("/") + path.removeprefix(self.root)

    def _replace(self, path: str, write: Callable[[Any], None]) -> None:
        if not self.is_local:
            buffer = pa.BufferOutputStream()
            write(buffer)
            data = buffer.getvalue()
            with self.fs.open_output_stream(path) as out:
                out.write(data)
            return
        folder, name = path.rsplit("/", 1)
        Path(folder).mkdir(parents=True, exist_ok=True)
        # In the root, not in the file's folder: see the module's docstring.
        temp = f"{self.root}/.{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            write(temp)
            _fsync_file(temp)
            pause_point("before-rename")
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_folder(folder)

    def remove_stale_temp_files(self, folder: str | None = None) -> int:
        """Temporary files a killed run left in `folder` (default: the root) and below it.

        Nothing refers to them. Only while no other process writes to the destination.
        """
        start = Path(folder or self.root)
        if not self.is_local or not start.is_dir():
            return 0
        candidates = start.rglob(".*" + TEMP_SUFFIX) if folder else start.glob(".*" + TEMP_SUFFIX)
        removed = 0
        for entry in candidates:
            if _TEMP_NAME.match(entry.name):
                entry.unlink(missing_ok=True)
                removed += 1
        return removed


def column_encodings(
    schema: pa.Schema, table: pa.Table | None = None
) -> tuple[list[str], dict[str, str]]:
    """The columns to dictionary-encode, and the encoding of others (default: PLAIN).

    - Timestamps, dates and integers: DELTA_BINARY_PACKED. A time series' instants are
      evenly spaced, so their differences pack into a few bits (a month of 5-minute
      timestamps: 51 KB plain, under 1 KB delta-packed, both with zstd).
    - Text that repeats (ids, sources, JSON of a few shapes): dictionary.
    - Text that mostly does not (local clock times): DELTA_BYTE_ARRAY, which stores
      what each value shares with the one before only once.
    - Measurements (floats): PLAIN; dictionary makes them larger.
    Without `table` (a schema alone, as for a whole-table rewrite) text is dictionary-encoded.
    pyarrow, polars, DuckDB and pandas read them (tests/target/test_readers.py); Spark's
    vectorized reader does from 3.3 on (SPARK-36879, SPARK-37974).
    """
    dictionary: list[str] = []
    encodings: dict[str, str] = {}
    for field in schema:
        kind = field.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_integer(kind):
            encodings[field.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            if table is None:
                dictionary.append(field.name)
                continue
            column = table.column(field.name)
            distinct = pc.count_distinct(column, mode="only_valid").as_py()
            if distinct * 2 > len(column) - column.null_count:
                encodings[field.name] = "DELTA_BYTE_ARRAY"
            else:
                dictionary.append(field.name)
    return dictionary, encodings


def describe_os_error(error: OSError, known_path: str = "") -> str:
    """An OSError (or pyarrow's) in words, naming its file unless it is `known_path`."""
    if error.strerror:
        named = error.filename and str(error.filename) != known_path
        return f"{error.strerror}: {error.filename}" if named else error.strerror
    return str(error) or type(error).__name__


def _fsync_file(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable, not only the file's bytes."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without folder descriptors
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(descriptor)


def _s3_options(
    uri: str,
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> tuple[dict[str, str], str]:
    """pyarrow S3FileSystem arguments, pointed at an S3-compatible endpoint when given,
    and the root below the store (`bucket/prefix`).

    pyarrow ignores AWS_ENDPOINT_URL, so the endpoint is passed explicitly; an
    `endpoint_override`/`scheme` query on the URI itself is honoured as well.
    """
    parsed = urllib.parse.urlparse(uri)
    query = dict(urllib.parse.parse_qsl(parsed.query))
    options: dict[str, str] = {}
    if endpoint_url:
        endpoint = urllib.parse.urlparse(endpoint_url)
        if not endpoint.netloc:
            raise DestinationError(
                f"s3_endpoint_url must look like http://host:port, got {endpoint_url!r}"
            )
        options["endpoint_override"] = endpoint.netloc
        options["scheme"] = endpoint.scheme or "https"
    if "endpoint_override" in query:
        options["endpoint_override"] = query["endpoint_override"]
    if "scheme" in query:
        options["scheme"] = query["scheme"]
    if region or "region" in query:
        options["region"] = region or query["region"]
    if access_key_id and secret_access_key:
        options["access_key"] = access_key_id
        options["secret_key"] = secret_access_key
    root = f"{parsed.netloc}{parsed.path}".rstrip("/")
    if not parsed.netloc:
        raise DestinationError(f"destination_path {uri!r} names no bucket")
    return options, root
