"""Named points where a test can freeze the target, to kill it at a known moment mid-write.

With `TARGET_PARQUET_SEMS_TEST_PAUSE_AT=<point>:<n>` the n-th pass through `<point>` writes
`paused at <point> #<n>` to stderr and blocks that thread for good; `tests/target/test_kill.py`
then kills the process. Points:

- `before-rename`: a file's temporary copy is complete on disk, not yet renamed over the old
  file (local destinations);
- `before-state`: a batch is written, the STATE that follows it not yet passed on;
- `delta-before-commit`: (table_format delta) delta-rs has been handed the batch's rows and
  writes them once the stream of rows ends; the commit that would make them visible is not
  made.

Not for real runs: unset, each point costs one comparison.
"""

from __future__ import annotations

import os
import sys
import threading

ENVIRONMENT_VARIABLE = "TARGET_PARQUET_SEMS_TEST_PAUSE_AT"

_point, _, _nth = os.environ.get(ENVIRONMENT_VARIABLE, "").partition(":")
_passes = 0


def pause_point(name: str) -> None:
    """Block here for good when the environment asks for this pass through `name`."""
    global _passes  # noqa: PLW0603 - one counter per process, as the variable is
    if name != _point:
        return
    _passes += 1
    if _passes == int(_nth or 1):
        sys.stderr.write(f"paused at {name} #{_passes}\n")
        sys.stderr.flush()
        threading.Event().wait()
