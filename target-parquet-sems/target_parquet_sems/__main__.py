"""`python -m target_parquet_sems`: the same as the `target-parquet-sems` command."""

from target_parquet_sems.target import TargetParquetSems

TargetParquetSems.cli()
