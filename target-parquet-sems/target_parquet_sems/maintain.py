"""`target-parquet-sems-maintain`: keep the Delta tables of a destination fast to read and small.

Daily runs of many station groups make many commits. Each one replaces the files of the
partitions it touched (one file per partition, so keyed tables need no compaction), but the
replaced files stay for time travel, files of commits that never happened (a killed run, a
commit redone after a conflict) stay unreferenced, and the log grows by one entry a commit.
This command, run daily or weekly next to the loads (it is safe while they run):

- compacts small files (appended, unkeyed streams) into larger ones;
- vacuums: deletes files no version younger than `--vacuum-hours` refers to, and
  unreferenced files that old (a running load's files are minutes old, never that old);
- writes a checkpoint and removes log entries older than the table's log retention
  (30 days by default), so opening a table reads one checkpoint instead of every commit.

It reads the target's own settings: `--config target.json`, or `--config ENV` for the
TARGET_PARQUET_SEMS_* variables (as Meltano sets them for `meltano invoke`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

MIN_VACUUM_HOURS = 1
DEFAULT_VACUUM_HOURS = 168  # Delta's own default retention: a week of time travel


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="target-parquet-sems-maintain",
        description="Compact, vacuum and checkpoint the Delta tables at the target's destination.",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="the target's config file (repeatable), or ENV for TARGET_PARQUET_SEMS_* variables",
    )
    parser.add_argument(
        "--stream", action="append", help="only this stream's table (default: every table)"
    )
    parser.add_argument(
        "--vacuum-hours",
        type=int,
        default=DEFAULT_VACUUM_HOURS,
        help=f"keep files that versions of the last N hours need (default {DEFAULT_VACUUM_HOURS})",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted")
    args = parser.parse_args(argv)
    if args.vacuum_hours < MIN_VACUUM_HOURS:
        parser.error(
            f"--vacuum-hours must be at least {MIN_VACUUM_HOURS}: a shorter retention could "
            "delete the data files of a commit a running load is about to make"
        )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        maintain(args.config, args.stream, args.vacuum_hours, dry_run=args.dry_run)
    except Exception as exc:  # one plain line, not a traceback
        sys.exit(f"target-parquet-sems-maintain: {type(exc).__name__}: {exc}")


def maintain(
    config: list[str], streams: list[str] | None, vacuum_hours: int, *, dry_run: bool
) -> None:
    from target_parquet_sems.schema import safe_stream_name
    from target_parquet_sems.target import TargetParquetSems, dataset_class

    settings: dict = {}
    for path in config:
        if path != "ENV":  # later files win, as with the target itself
            settings.update(json.loads(Path(path).read_text(encoding="utf-8")))
    target = TargetParquetSems(config=settings, parse_env_config="ENV" in config)
    dataset_class("delta")  # names the missing extra, if it is missing
    from target_parquet_sems.delta import maintain_table, table_names, table_uri

    logger = logging.getLogger("target-parquet-sems-maintain")
    names = [safe_stream_name(s) for s in streams] if streams else table_names(target.destination)
    if not names:
        logger.info("No Delta tables at %s.", table_uri(target.destination, ""))
    for name in names:
        report = maintain_table(
            target.destination,
            name,
            vacuum_hours=vacuum_hours,
            dry_run=dry_run,
            compression=target.config["compression"],
            row_group_size=target.config["row_group_size"],
            logger=logger,
        )
        logger.info("%s: %s", name, report)


if __name__ == "__main__":
    main()
