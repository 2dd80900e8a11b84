"""One writer at a time on a plain-Parquet destination: the lease `<destination>/_lease.json`.

A Parquet dataset is rewritten a whole partition file at a time, so two targets writing
one destination at once would replace each other's files and lose rows without a word. A
run therefore takes the destination's lease before it reads any input and gives it back
at its end; a second run finds it taken and stops with a message naming the holder.
Station groups that must load in parallel need `table_format: delta`.

- A local folder, on a system with `flock` (Linux, macOS, BSD; also NFS mounts on Linux):
  an OS lock on the lease file, held while the process lives. The kernel lets go of it
  when the process ends, however it ends, so a killed run never leaves a stale lease
  behind; the file's content only names the holder for the message.
- An object store (S3, ...), or a system without `flock`: best effort. The file names its
  holder and when it last refreshed it (every `REFRESH_SECONDS` while the run lasts); a
  lease not refreshed for `STALE_SECONDS` is free. Taking it is read, write, read back,
  so two runs that start within the same instant can both get it; a holder that finds
  another run's name at its next refresh stops before writing anything more.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import threading
import typing as t
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from target_parquet_sems.storage import Destination

LEASE_FILE = "_lease.json"
REFRESH_SECONDS = 30.0
STALE_SECONDS = 120.0
ADVICE = (
    "A plain-Parquet destination takes one writer at a time; run the station groups one "
    "after another, give each its own destination_path, or set table_format: delta for "
    "writers in parallel."
)


class DestinationBusyError(RuntimeError):
    """Another run holds the destination's lease, or took it over."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: what the lease file says."""

    run_id: str
    host: str
    pid: int
    started_at: str
    writer: str
    refreshed_at: str = ""

    @classmethod
    def this_process(cls, run_id: str, writer: str, started_at: str) -> Holder:
        return cls(run_id, socket.gethostname(), os.getpid(), started_at, writer)

    @classmethod
    def parse(cls, data: bytes) -> Holder | None:
        try:
            fields = json.loads(data)
            return cls(**{k: fields[k] for k in cls.__dataclass_fields__ if k in fields})
        except (ValueError, TypeError):
            return None  # empty (being written) or not ours

    def encode(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode() + b"\n"

    def describe(self) -> str:
        where = f"pid {self.pid} on {self.host}, since {self.started_at}"
        return f"run {self.run_id} of {self.writer} ({where})"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def take_lease(destination: Destination, holder: Holder) -> Lease:
    """The destination's lease for `holder`, or DestinationBusyError naming who has it."""
    path = destination.path(LEASE_FILE)
    if destination.is_local and fcntl is not None:
        return LockedLease.acquire(path, holder)
    return RefreshedLease.acquire(destination, path, holder)


class Lease:
    """A taken lease; `release()` gives it back."""

    def __init__(self, path: str) -> None:
        self.path = path

    def raise_if_lost(self) -> None:
        """Raise DestinationBusyError when another run has taken the lease over."""

    def release(self) -> None:
        raise NotImplementedError


def _busy(path: str, holder: Holder | None, extra: str = "") -> DestinationBusyError:
    who = holder.describe() if holder else "another run"
    return DestinationBusyError(
        f"The destination is in use: {path} is held by {who}.{extra} {ADVICE}"
    )


class LockedLease(Lease):
    """An flock on the lease file, held for the life of the process (or of this object)."""

    def __init__(self, path: str, handle: t.BinaryIO) -> None:
        super().__init__(path)
        self._handle: t.BinaryIO | None = handle
        """Open while the lease is held; closing it (also when garbage-collected) lets go."""

    @classmethod
    def acquire(cls, path: str, holder: Holder) -> LockedLease:
        assert fcntl is not None
        while True:
            # Held open for as long as the lease is: no context manager.
            handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+b")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                held_by = Holder.parse(handle.read())
                handle.close()
                raise _busy(path, held_by) from None
            # The holder may have released (removed) the file between our open and lock:
            # then the lock is on a file nobody else will look at, so try again.
            try:
                same = os.fstat(handle.fileno()).st_ino == Path(path).stat().st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()
        handle.truncate(0)
        handle.seek(0)
        handle.write(holder.encode())
        handle.flush()
        os.fsync(handle.fileno())
        return cls(path, handle)

    def release(self) -> None:
        if self._handle is None:
            return
        Path(self.path).unlink(missing_ok=True)  # while still holding the lock
        self._handle.close()
        self._handle = None


class RefreshedLease(Lease):
    """A lease file with a refresh time, for stores without locks."""

    def __init__(self, destination: Destination, path: str, holder: Holder) -> None:
        super().__init__(path)
        self.destination = destination
        self.holder = holder
        self._lost: DestinationBusyError | None = None
        self._stop = threading.Event()
        self._refresher = threading.Thread(
            target=self._keep_refreshing, name="parquet-lease", daemon=True
        )

    @classmethod
    def acquire(cls, destination: Destination, path: str, holder: Holder) -> RefreshedLease:
        current = cls._read(destination, path)
        if current is not None and current.run_id != holder.run_id and not cls._stale(current):
            raise _busy(
                path,
                current,
                f" It was last refreshed at {current.refreshed_at}; if that run is gone, the "
                f"lease is free {STALE_SECONDS:.0f} s later, or remove the file.",
            )
        lease = cls(destination, path, holder)
        lease._write()
        lease._check()  # read back: a run that wrote just after this one has it now
        lease.raise_if_lost()
        lease._refresher.start()
        return lease

    @staticmethod
    def _read(destination: Destination, path: str) -> Holder | None:
        return Holder.parse(destination.read_bytes(path)) if destination.exists(path) else None

    @staticmethod
    def _stale(holder: Holder) -> bool:
        try:
            refreshed = datetime.datetime.fromisoformat(holder.refreshed_at)
        except ValueError:
            return True
        return (_now() - refreshed).total_seconds() > STALE_SECONDS

    def _write(self) -> None:
        stamped = Holder(**{**asdict(self.holder), "refreshed_at": _now().isoformat()})
        self.destination.write_bytes(self.path, stamped.encode())

    def _check(self) -> None:
        current = self._read(self.destination, self.path)
        if current is not None and current.run_id != self.holder.run_id:
            self._lost = _busy(self.path, current, " It took the lease over from this run.")

    def raise_if_lost(self) -> None:
        if self._lost is not None:
            raise self._lost

    def _keep_refreshing(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                self._check()
                if self._lost is not None:
                    return
                self._write()
            except OSError:
                continue  # retried at the next refresh: the store may be briefly away

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        current = self._read(self.destination, self.path)
        if current is not None and current.run_id == self.holder.run_id:
            self.destination.remove(self.path)
