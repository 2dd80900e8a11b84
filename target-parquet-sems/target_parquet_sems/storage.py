"""Where the dataset lives: a local folder or any pyarrow filesystem URI (S3, ...).

Files appear only complete. Locally a file is written under a hidden name in its
final folder, flushed to disk, then renamed over the old one, which is one atomic
step; on an object store the whole file is uploaded with one PUT to its final key,
and object PUTs are atomic. Readers never see a half-written file.
"""

from __future__ import annotations

import glob
import os
import re
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq

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

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type == pa_fs.FileType.File

    def is_folder(self, path: str) -> bool:
        return self.fs.get_file_info(path).type == pa_fs.FileType.Directory

    def read_table(self, path: str) -> pa.Table:
        """One file exactly (no partition discovery from its folder names)."""
        with self.fs.open_input_file(path) as handle:
            return pq.ParquetFile(handle).read()

    def read_schema(self, path: str) -> pa.Schema:
        with self.fs.open_input_file(path) as handle:
            return pq.ParquetFile(handle).schema_arrow

    def list_files(self, folder: str, name: str) -> list[str]:
        """Every file called `name` below `folder`, sorted for a stable order."""
        selector = pa_fs.FileSelector(folder, recursive=True, allow_not_found=True)
        return sorted(
            info.path
            for info in self.fs.get_file_info(selector)
            if info.type == pa_fs.FileType.File and info.base_name == name
        )

    def write_table(
        self, path: str, table: pa.Table, *, compression: str, row_group_size: int | None
    ) -> None:
        """Write a complete Parquet file at `path`, replacing any old one in one step."""
        self._write_atomically(
            path,
            lambda sink: pq.write_table(
                table,
                sink,
                compression=compression,
                row_group_size=row_group_size,
                use_dictionary=_dictionary_columns(table.schema),
            ),
        )

    def write_schema(self, path: str, schema: pa.Schema) -> None:
        """A `_common_metadata` file: the schema of the dataset, without rows."""
        self._write_atomically(path, lambda sink: pq.write_metadata(schema, sink))

    def _write_atomically(self, path: str, write: Callable[[Any], None]) -> None:
        folder, name = path.rsplit("/", 1)
        if not self.is_local:
            buffer = pa.BufferOutputStream()
            write(buffer)
            data = buffer.getvalue()
            with self.fs.open_output_stream(path) as out:
                out.write(data)
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        temp = f"{folder}/.{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            write(temp)
            _fsync_file(temp)
            pause_point("before-rename")
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_folder(folder)

    def remove_stale_temp_files(self, folder: str, target_name: str | None = None) -> int:
        """Temp files left by a killed run: nothing refers to them, readers skip them.

        With `target_name`, only that file's temp files in `folder` itself; else every
        temp file below `folder`.
        """
        if not self.is_local or not Path(folder).is_dir():
            return 0
        if target_name is None:
            candidates = Path(folder).rglob(".*" + TEMP_SUFFIX)
        else:
            candidates = Path(folder).glob(f".{glob.escape(target_name)}.*{TEMP_SUFFIX}")
        removed = 0
        for entry in candidates:
            if _TEMP_NAME.match(entry.name):
                entry.unlink(missing_ok=True)
                removed += 1
        return removed


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode text only: on measurements and timestamps it costs time and
    makes files larger, on repeated text (ids, sources) it pays."""
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


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
