"""A Singer message reader that leaves RECORD messages undecoded.

Decoding each record into Python dicts (with Decimals) is where a plain SDK target
spends most of its time. Here a RECORD line is kept as the bytes it arrived as and
Arrow parses a whole batch of them at once when the sink drains; the record's JSON
is checked there, and a bad line is reported with its line number before anything
of its batch is written.

Recognising a RECORD line costs one `startswith`: the first RECORD line of a stream
is decoded in full, and when it begins `{"type": "RECORD", "stream": "<name>",
"record": ` the reader remembers those bytes. Later lines that begin with exactly
them are RECORD messages of that stream (what every singer-sdk tap writes); any
other line is decoded in full. Consecutive records reach the target as one
`RecordRun`. Every other message is decoded and handled by the SDK as usual.

With stream maps (or flattening) a run is decoded record by record, mapped by the SDK's
maps and encoded again (`map_run`), so Arrow still parses the mapped records a batch at
a time; without them, or with maps that change nothing, records stay undecoded.
"""

from __future__ import annotations

import io
import sys
import typing as t
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import msgspec
from singer_sdk.io_base import GenericSingerReader, SingerMessageType
from singer_sdk.mapper import SameRecordTransform, StreamMap
from singer_sdk.singerlib.exceptions import InvalidInputLine

_SHOWN_CHARS = 200
READ_BYTES = 1 << 16
"""Input is read in blocks of up to this size."""
RUN_LENGTH = 1000
"""Records handed to the target at a time; the sink checks for full after each run."""
_RECORD = SingerMessageType.RECORD.value


class _InputStopped(Exception):  # noqa: N818 - not an error: the input ends
    """Raised by `RawRecordReader.stop` inside a blocked read."""


class _StoppableInput(io.RawIOBase):
    """The input's file, whose read returns end-of-file once the reader is stopped.

    A read blocked waiting for the tap is where a stop lands at once (the signal's
    handler raises `_InputStopped` there); anywhere else the reader notes it, and the
    next read ends the input. Called once per block, not per line.
    """

    def __init__(self, raw: t.Any, reader: RawRecordReader) -> None:
        super().__init__()
        self.raw = raw
        self.reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        reader = self.reader
        if reader.stopped_by is not None:
            return 0
        try:
            reader.waiting_for_input = True
            count = self.raw.readinto(buffer)
            reader.waiting_for_input = False
        except _InputStopped:
            return 0  # what this read brought, if anything, was never acknowledged
        return int(count or 0)


@dataclass
class RecordRun:
    """Consecutive RECORD messages of one stream, as the raw lines they came in."""

    stream: str
    lines: list[bytes] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)


class _Envelope(msgspec.Struct, gc=False):
    type: str
    stream: str = ""
    record: msgspec.Raw = msgspec.Raw()


_envelope_decoder = msgspec.json.Decoder(_Envelope)


class _RecordMessage(msgspec.Struct):
    record: dict[str, t.Any]


_record_message_decoder = msgspec.json.Decoder(_RecordMessage)
_record_encoder = msgspec.json.Encoder(decimal_format="number")


class RawRecordReader(GenericSingerReader[str]):
    """Reads Singer messages, passing RECORD messages on as `RecordRun`s.

    `line_number` is the number of the line being handled, for error messages.
    """

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self._prefixes: dict[str, bytes] = {}
        self.on_start: Callable[[], None] | None = None
        """Called before the first line is read (to check the destination)."""
        self.on_error: Callable[[BaseException], None] | None = None
        """Called before an error leaves `process_lines` (to finish pending writes)."""
        self.stopped_by: int | None = None
        """The signal that ended the input early (see `stop`)."""
        self.waiting_for_input = False
        """True while blocked reading input: the one moment to stop anywhere."""

    @property
    def default_input(self) -> t.IO[str]:
        return sys.stdin

    def deserialize_json(self, line: str | bytes) -> dict:
        try:
            message = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            raise InvalidInputLine(self._describe(line, f"not valid JSON ({exc})")) from None
        if not isinstance(message, dict):
            raise InvalidInputLine(self._describe(line, "a Singer message must be an object"))
        return message

    def process_lines(
        self,
        file_input: t.IO[str] | t.IO[bytes] | None,
        callbacks: dict[str, Callable[[t.Any], None]],
    ) -> t.Counter[str]:
        try:
            if self.on_start is not None:
                self.on_start()
            return self._process_lines(file_input, callbacks)
        except BaseException as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise

    def stop(self, signum: int) -> None:
        """End the input early, from a signal handler (SIGTERM, SIGINT).

        Blocked waiting for input, the reader stops at once: nothing is half done then.
        Busy with what it read, it stops before it next reads, having handled that.
        """
        self.stopped_by = signum
        if self.waiting_for_input:
            self.waiting_for_input = False
            raise _InputStopped

    def _lines(self, source: t.Any) -> Iterator[bytes]:
        """The input's lines as bytes, read straight from its file descriptor when it
        has one, through a buffer whose refills `stop` can cut short."""
        buffer = getattr(source, "buffer", source)
        raw = getattr(buffer, "raw", None)
        if raw is not None:
            return iter(io.BufferedReader(_StoppableInput(raw, self), buffer_size=READ_BYTES))
        return self._lines_checked(source)

    def _lines_checked(self, source: t.Any) -> Iterator[bytes]:
        """Input given as an object (a test's text): nothing to wait for, so check each line."""
        for line in source:
            if self.stopped_by is not None:
                return
            yield line.encode() if isinstance(line, str) else line

    def _process_lines(
        self,
        file_input: t.IO[str] | t.IO[bytes] | None,
        callbacks: dict[str, Callable[[t.Any], None]],
    ) -> t.Counter[str]:
        stats: Counter[str] = Counter()
        on_record = callbacks[SingerMessageType.RECORD]
        records = 0
        # The run being collected: its stream, its lines, and the number of its first line
        # (its lines are consecutive, so their numbers need not be collected one by one).
        stream = ""
        lines: list[bytes] = []
        append = lines.append
        first = 0
        prefix = b"\x00"  # matches no line until a stream's prefix is learned
        number = self.line_number

        for line in self._lines(file_input or self.default_input):
            number += 1
            if line.startswith(prefix):
                append(line)
                if len(lines) >= RUN_LENGTH:
                    self.line_number = number
                    records += len(lines)
                    on_record(_run(stream, lines, first))
                    lines = []
                    append = lines.append
                    first = number + 1
                continue
            self.line_number = number
            if lines:
                records += len(lines)
                on_record(_run(stream, lines, first))
                lines = []
                append = lines.append
            prefix = b"\x00"
            if not line.strip():
                continue
            envelope = self._decode_envelope(line)
            if envelope.type == _RECORD:
                stream, first = envelope.stream, number
                append(line)
                prefix = self._prefixes.get(stream) or self._learn_prefix(line, stream)
                continue
            callback = callbacks.get(envelope.type)
            if callback is None:
                raise InvalidInputLine(
                    self._describe(line, f"unknown message type {envelope.type!r}")
                )
            callback(self.deserialize_json(line))
            stats[envelope.type] += 1
        self.line_number = number
        if lines:
            records += len(lines)
            on_record(_run(stream, lines, first))
        stats[_RECORD] += records
        return stats

    def _decode_envelope(self, line: bytes) -> _Envelope:
        try:
            envelope = _envelope_decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise InvalidInputLine(self._describe(line, f"not a Singer message ({exc})")) from None
        if envelope.type == _RECORD and (not envelope.stream or not envelope.record):
            raise InvalidInputLine(
                self._describe(line, "a RECORD message needs 'stream' and 'record'")
            )
        return envelope

    def _learn_prefix(self, line: bytes, stream: str) -> bytes:
        """The bytes before the record, when they hold nothing but type and stream."""
        self._prefixes[stream] = b"\x00"  # until proven usable
        position = line.find(b'"record"')
        if position < 0:
            return b"\x00"
        end = position + len(b'"record"')
        while end < len(line) and line[end : end + 1] in b" :\t":
            end += 1
        candidate = line[:end]
        try:
            probe = msgspec.json.decode(candidate + b"{}}")
        except msgspec.DecodeError:
            return b"\x00"
        if probe != {"type": _RECORD, "stream": stream, "record": {}}:
            return b"\x00"
        self._prefixes[stream] = candidate
        return candidate

    def _describe(self, line: str | bytes, problem: str) -> str:
        text = line.decode(errors="replace") if isinstance(line, bytes) else line
        shown = text.strip()
        if len(shown) > _SHOWN_CHARS:
            shown = shown[:_SHOWN_CHARS] + "..."
        return f"Input line {self.line_number}: {problem}: {shown}"


def _run(stream: str, lines: list[bytes], first: int) -> RecordRun:
    return RecordRun(stream, lines, list(range(first, first + len(lines))))


def run_of_message(message: dict, line_number: int) -> RecordRun:
    """A RECORD message that reached the target decoded, as a run of one line."""
    GenericSingerReader.assert_line_requires(message, requires={"stream", "record"})
    line = _record_encoder.encode({"record": message["record"]})
    return RecordRun(message["stream"], [line], [line_number])


def passes_through(stream: str, maps: list[StreamMap]) -> bool:
    """True when the stream's maps leave every record unchanged (no maps configured)."""
    return (
        len(maps) == 1
        and type(maps[0]) is SameRecordTransform
        and maps[0].stream_alias == stream
        and not maps[0].flattening_enabled
    )


def map_run(run: RecordRun, maps: list[StreamMap]) -> list[RecordRun]:
    """Apply the SDK's stream maps to each record: one run per output stream."""
    mapped_runs: dict[str, RecordRun] = {}
    for line, number in zip(run.lines, run.line_numbers, strict=True):
        try:
            record = _record_message_decoder.decode(line).record
        except msgspec.DecodeError as exc:
            msg = f"Line {number}: the record of stream '{run.stream}' is not valid JSON: {exc}"
            raise InvalidInputLine(msg) from None
        for stream_map in maps:
            mapped = stream_map.transform(dict(record))
            if mapped is None:  # filtered out by the map
                continue
            alias = stream_map.stream_alias
            out = mapped_runs.get(alias) or mapped_runs.setdefault(alias, RecordRun(alias))
            out.lines.append(_record_encoder.encode({"record": mapped}))
            out.line_numbers.append(number)
    return list(mapped_runs.values())
