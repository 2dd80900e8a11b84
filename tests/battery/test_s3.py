"""Reading the dataset from an S3-compatible store (moto's server on loopback)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import fs

from sems_battery import DataError
from sems_battery.dataset import load_history

pytestmark = pytest.mark.slow


def test_hive_dataset_on_s3_reads_like_the_local_copy(
    s3_endpoint: str,
    s3_credentials: None,
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
