"""How a fatal error ends a run: one plain line saying what went wrong and what to do.

It is logged at error level as the run's last line, so it is what Meltano shows last. The
traceback is logged at debug level only (`--log-level debug` in Meltano, or
`TARGET_PARQUET_SEMS_LOGLEVEL=debug`). Errors of this package carry their advice already;
this module adds it for errors that come from elsewhere (the SDK, the operating system).
"""

from __future__ import annotations

import errno
import os

from singer_sdk.exceptions import (
    ConfigValidationError,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_parquet_sems.convert import RecordError
from target_parquet_sems.partitioning import PartitionConfigError

DEBUG_HINT = (
    "Run again with --log-level debug in Meltano (or TARGET_PARQUET_SEMS_LOGLEVEL=debug) for "
    "the details, and report it with them."
)
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}
_RESUMES = (
    "Everything up to the last state passed on is in the dataset; the next run resumes from there."
)


class DestinationWriteError(OSError):
    """Writing a file of the dataset failed; names the file."""

    def __init__(self, path: str, cause: OSError) -> None:
        reason = os.strerror(cause.errno) if cause.errno else str(cause)
        if cause.errno in _NO_SPACE:
            advice = (
                "Free space on that disk (or raise the quota or file size limit) and run "
                f"again. {_RESUMES}"
            )
        elif cause.errno in _NOT_ALLOWED:
            advice = f"Let this user write to that folder and run again. {_RESUMES}"
        else:
            advice = f"Check the destination and run again. {_RESUMES}"
        super().__init__(cause.errno, f"Could not write {path}: {reason}. {advice}")
        self.path = path


class DestinationReadError(OSError):
    """A file of the dataset cannot be read back for a merge; names the file."""

    def __init__(self, path: str, cause: Exception) -> None:
        errno_ = getattr(cause, "errno", None)
        reason = os.strerror(errno_) if errno_ else str(cause).splitlines()[0]
        super().__init__(
            errno_,
            f"Could not read {path} to merge new rows into it: {reason}. If it is damaged or "
            "not a file this target wrote, move it away and load its rows again (for example "
            "with a --full-refresh run); the rest of the dataset is unchanged.",
        )
        self.path = path


_ADVICE: tuple[tuple[type[BaseException], str], ...] = (
    (
        InvalidInputLine,
        "{text}. The input must be Singer messages, one per line: check what the tap writes "
        "to its standard output. " + _RESUMES,
    ),
    (RecordsWithoutSchemaException, "{text} The tap must send a stream's SCHEMA before it."),
    (
        MissingKeyPropertiesError,
        "{text}. Nothing of that batch was written; the tap must fill its key.",
    ),
    (
        RecordError,
        "{text}. Nothing of that record's batch was written: fix the record in the tap, or "
        "the stream's schema. " + _RESUMES,
    ),
    (PartitionConfigError, "{text}. Fix partition_by in the target's settings."),
)
"""What to do, for errors whose message says only what went wrong."""


def fatal_message(error: BaseException) -> str:
    """The one line that ends a failed run."""
    text = (str(error).strip() or type(error).__name__).replace("\n", " ")
    if isinstance(error, ConfigValidationError):
        problems = "; ".join(str(e) for e in error.errors) or text
        return f"Invalid settings: {problems}. Fix them in the target's configuration."
    for kind, advice in _ADVICE:
        if isinstance(error, kind):
            return advice.format(text=text)
    if isinstance(error, DestinationWriteError | DestinationReadError):
        return text
    if isinstance(error, OSError):
        reason = os.strerror(error.errno) if error.errno else text
        where = f" ({error.filename})" if error.filename else ""
        return f"{reason}{where}. {DEBUG_HINT}"
    if type(error).__module__.startswith("target_parquet_sems"):
        return text  # this package's errors say what to do
    return f"{type(error).__name__}: {text}. {DEBUG_HINT}"
