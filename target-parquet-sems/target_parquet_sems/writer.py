"""Batches are converted and written on background threads while the next is read.

Two stages, one thread each, so three batches can be in progress: one read into
the sink, one being parsed into Arrow, one being merged into the dataset. Each
stage runs its jobs in submission order, and a STATE message passes through both
stages like a batch does: it goes out only after every batch submitted before it is
on disk. After a failed job, jobs submitted later do not run (so no later STATE is
passed on) while earlier ones still finish, and the reading thread raises the
job's error at its next call.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundWriter:
    """Parse stage, then write stage; at most one batch waits in each."""

    def __init__(self) -> None:
        self._parse = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-parse")
        self._write = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-write")
        self._parsing: Future[None] | None = None
        self._last_parse: Future[None] | None = None
        self._last_write: Future[None] | None = None
        self._error: BaseException | None = None
        self._failed_job: int | None = None
        self._jobs = 0

    def submit_batch(self, parse: Callable[[], Any], write: Callable[[Any], None]) -> None:
        """Queue a batch: `write(parse())`, first waiting for the batch being parsed."""
        if self._parsing is not None:
            self._parsing.result()  # jobs record their error instead of raising it
        self.raise_if_failed()
        number = self._next_job()

        def parse_then_queue_write() -> None:
            if self._skipped(number):
                return
            try:
                parsed = parse()
            except BaseException as exc:  # handed to the reading thread
                self._fail(number, exc)
                return
            # Hold the parsed batch here until the write stage is free, so that a slow
            # destination stalls the reader instead of piling up parsed batches in memory.
            if self._last_write is not None:
                self._last_write.result()
            self._last_write = self._write.submit(self._run, number, lambda: write(parsed))

        self._parsing = self._last_parse = self._parse.submit(parse_then_queue_write)

    def submit(self, job: Callable[[], None]) -> None:
        """Queue a small job (passing on a STATE) behind every batch queued so far."""
        self.raise_if_failed()
        number = self._next_job()

        def queue_write() -> None:
            self._last_write = self._write.submit(self._run, number, job)

        self._last_parse = self._parse.submit(queue_write)

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def settle(self) -> None:
        """Let queued jobs finish without raising: for when another error is on its way."""
        if self._last_parse is not None:
            self._last_parse.result()
        if self._last_write is not None:
            self._last_write.result()

    def wait(self) -> None:
        """Block until every queued job ran; raise the first failure."""
        self.settle()
        self.raise_if_failed()

    def close(self) -> None:
        self._parse.shutdown(wait=True)
        self._write.shutdown(wait=True)

    def _next_job(self) -> int:
        self._jobs += 1
        return self._jobs

    def _skipped(self, number: int) -> bool:
        """Jobs submitted after a failed one do not run; earlier ones do."""
        return self._failed_job is not None and number > self._failed_job

    def _fail(self, number: int, exc: BaseException) -> None:
        if self._failed_job is None or number < self._failed_job:
            self._failed_job = number
            self._error = exc

    def _run(self, number: int, job: Callable[[], None]) -> None:
        if self._skipped(number):
            return
        try:
            job()
        except BaseException as exc:  # handed to the reading thread, see raise_if_failed
            self._fail(number, exc)
