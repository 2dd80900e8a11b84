"""Reading the dataset from an S3-compatible store (moto's server on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import fs

from sems_battery import DataError
from sems_battery.dataset import load_history

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_hive_dataset_on_s3_reads_like_the_local_copy(
    s3_endpoint: str,
    credentials: None,
    year_table: pa.Table,
    tmp_path: Path,
    dataset_writer: dict[str, Callable[..., Path]],
) -> None:
    spring = year_table.slice(0, 45 * 288)
    dataset_writer["hive"](spring, tmp_path / "output")
    s3 = fs.S3FileSystem(
        endpoint_override=s3_endpoint, scheme="http", region="us-east-1", allow_bucket_creation=True
    )
    s3.create_dir("sems")
    fs.copy_files(str(tmp_path / "output"), "sems/output", destination_filesystem=s3)

    query = f"endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"
    remote = load_history(f"s3://sems/output?{query}")
    local = load_history(tmp_path / "output")
    assert len(remote) == len(local) == spring.num_rows
    for name in ("time_us", "local_us", "pv_kw", "load_kw", "duration_h"):
        assert np.array_equal(getattr(remote, name), getattr(local, name)), name

    with pytest.raises(DataError, match="no dataset at s3://sems/elsewhere"):
        load_history(f"s3://sems/elsewhere?{query}")
