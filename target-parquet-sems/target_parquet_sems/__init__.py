"""Singer target writing any stream into a merged, typed, partitioned Parquet dataset."""
