"""Every use of singer-sdk's private API in this target, each with why there is no public way.

singer-sdk lets a target choose its sinks and its message reader publicly, but how each
Singer message is handled, when STATE is passed on and how BATCH files are opened are
underscore methods and a private module. They are used here and nowhere else: the rest of
the package works through the named hooks of `FencedTarget` and `open_batch_file`.
`tests/target/test_sdk_fence.py` checks each of them by name (existence, signature, a short
behaviour) and that no other module touches the SDK's private names, so an SDK upgrade that
changes one fails there first. singer-sdk is pinned to a minor version in pyproject.toml.
"""

from __future__ import annotations

import abc
import contextlib
import typing as t

# Private module, two names. BaseBatchFileEncoding: the type of a BATCH message's `encoding`
# (`format`, `compression`), which the SDK hands to the public `Sink.process_batch_files` but
# exports nowhere else. StorageTarget: resolves a BATCH manifest URL against the
# `batch_config` storage (root and fsspec parameters); the SDK's own `process_batch_files`
# uses it, and no public helper opens one file without decoding every record in Python.
from singer_sdk.helpers._batch import BaseBatchFileEncoding as BatchFileEncoding
from singer_sdk.helpers._batch import StorageTarget
from singer_sdk.target_base import Target

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    from singer_sdk.sinks import Sink

__all__ = ["BatchFileEncoding", "FencedTarget", "open_batch_file"]


class FencedTarget(Target, abc.ABC):
    """A Target whose private message handlers call the named hooks below."""

    # -- hooks for the target (public names, no SDK private API) --------------------------

    @abc.abstractmethod
    def process_record_message(self, message: t.Any) -> None:
        """A RECORD message, or whatever the target's message reader hands over for one."""

    @abc.abstractmethod
    def after_state_message(self, state: dict) -> None:
        """A STATE message was read; the SDK has taken it as the latest state."""

    @abc.abstractmethod
    def after_batch_message(self) -> None:
        """A BATCH message's files were handed to their sink."""

    @abc.abstractmethod
    def pass_on_state(self, state: dict) -> None:
        """`drain_all` has handed the batches over: the latest state may follow them out."""

    @abc.abstractmethod
    def on_termination_signal(self, signum: int) -> None:
        """SIGTERM or SIGINT arrived (this runs in the signal handler)."""

    # -- the private methods, overridden -----------------------------------------------

    def _process_record_message(self, message_dict: t.Any) -> None:
        # Why: the SDK's final `process_lines` hands each RECORD to this method, and there is
        # no public hook; the SDK's version decodes and validates record by record.
        self.process_record_message(message_dict)

    def _process_state_message(self, message_dict: dict) -> None:
        # Why: no public hook sees a STATE as it arrives; the SDK's version keeps it as
        # `_latest_state`, which its final `drain_all` passes on, so it still runs first.
        super()._process_state_message(message_dict)
        self.after_state_message(message_dict["value"])

    def _process_batch_message(self, message_dict: dict) -> None:
        # Why: no public hook runs after a BATCH message; a full sink must drain here.
        super()._process_batch_message(message_dict)
        self.after_batch_message()

    def _write_state_message(self, state: dict) -> None:
        # Why: the final `drain_all` emits the latest state through this method right after
        # handing batches to the sinks; the target must hold it until they are written.
        self.pass_on_state(state)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # Why: the SDK installs this method itself as the SIGTERM/SIGINT handler. Its own
        # version drains every sink and writes inside the handler, while the interrupted
        # main thread may hold a lock the writer threads need (a logging handler's, say):
        # a deadlock, seen in tests. It also exits with status 0, which tells the caller
        # the load finished. This one only asks the target to stop; see the hook.
        self.on_termination_signal(signum)

    # -- the private methods and attributes, called or read -----------------------------

    def emit_state(self, state: dict) -> None:
        """Write a STATE message to stdout now, as the SDK does."""
        # Why: the SDK's writing of the message (format, flush, log) has no public name.
        Target._write_state_message(self, state)

    def drain_if_records_too_old(self) -> None:
        """The SDK's drain of all sinks when records have waited five minutes."""
        # Why: its clock is reset inside the final `drain_all`; only this method reads it.
        self._handle_max_record_age()

    def pending_sinks(self) -> list[Sink]:
        """Every sink that may hold records: the active ones and those a new SCHEMA replaced."""
        # Why: a replaced sink waits in `_sinks_to_clear` until the next drain; no public
        # accessor lists it (nor the active ones as a collection).
        return [*self._sinks_active.values(), *self._sinks_to_clear]


@contextlib.contextmanager
def open_batch_file(sink: Sink, url: str) -> Iterator[t.IO[bytes]]:
    """Open one file named in a BATCH manifest, as the SDK's own `process_batch_files` does."""
    storage = sink.batch_config.storage if sink.batch_config else None
    head, tail = StorageTarget.split_url(url)
    with (storage or StorageTarget.from_url(head)).open(tail, mode="rb") as handle:
        yield handle
