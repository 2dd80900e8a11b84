"""Turn buffered Singer records into Arrow tables typed by the stream's plan.

Two routes give the same result. The fast one hands a whole batch of raw JSON
records to Arrow's multi-threaded JSON reader with an explicit schema, so no Python
object is made per value. The careful one decodes each record and checks it value by
value; it runs when the fast one cannot be used (JSON text nested inside objects,
records from Parquet batch files) or fails, and it is the one that names the record
and the problem when a batch holds a bad record.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from target_parquet_sems.schema import FieldPlan, StreamPlan

_json_encoder = msgspec.json.Encoder(decimal_format="number")
_FRACTION = re.compile(r"\.(\d{1,6})\d*")
_MIN_BLOCK_SIZE = 1 << 20


class RecordError(ValueError):
    """A record does not fit the stream's schema; names where it came from."""


@dataclass
class RawRecords:
    """Undecoded JSON records, with where each one came from."""

    raws: list[Any]
    """bytes-like JSON: whole Singer RECORD messages when `enveloped`, else records."""
    enveloped: bool = False
    line_numbers: list[int] | None = None
    source: str | None = None
    first_index: int = 0
    """Position of the first record in its batch file, when a file was sliced."""

    def locate(self, index: int) -> str:
        if self.line_numbers is not None:
            return f"input line {self.line_numbers[index]}"
        return f"record {self.first_index + index + 1} of {self.source}"

    def __len__(self) -> int:
        return len(self.raws)


@dataclass
class DecodedRecords:
    """Records already decoded to Python values (from a Parquet batch file)."""

    rows: list[dict[str, Any]]
    source: str

    def locate(self, index: int) -> str:
        return f"record {index + 1} of {self.source}"

    def __len__(self) -> int:
        return len(self.rows)


PendingPart = RawRecords | DecodedRecords


def part_to_table(part: PendingPart, plan: StreamPlan) -> pa.Table:
    """Arrow table of one pending part, fast route first."""
    if isinstance(part, RawRecords):
        if _fast_route_possible(plan):
            try:
                return fast_table(part.raws, plan, enveloped=part.enveloped)
            except (
                pa.ArrowInvalid,
                pa.ArrowTypeError,
                pa.ArrowNotImplementedError,
                msgspec.DecodeError,
            ):
                pass  # the careful route finds and names the bad record
        return careful_table(_decode_each(part), plan, part.locate)
    return careful_table(part.rows, plan, part.locate)


def _decode_each(part: RawRecords) -> list[Any]:
    rows = []
    for index, raw in enumerate(part.raws):
        try:
            value = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise RecordError(f"{part.locate(index)}: not valid JSON ({exc})") from None
        if part.enveloped:
            if not isinstance(value, dict) or "record" not in value:
                raise RecordError(f"{part.locate(index)}: a RECORD message needs 'record'")
            value = value["record"]
        rows.append(value)
    return rows


def _fast_route_possible(plan: StreamPlan) -> bool:
    """Arrow's reader cannot produce JSON text nested in structs or lists."""
    return all(f.kind == "json" or f.fast_readable for f in plan.fields)


# --- fast route -------------------------------------------------------------------


def _read_type(plan: FieldPlan) -> pa.DataType:
    """The type Arrow's JSON reader is asked for: dates come as text, cast after."""
    if plan.kind == "date":
        return pa.string()
    if plan.kind == "struct":
        return pa.struct([pa.field(c.name, _read_type(c)) for c in plan.children])
    if plan.kind == "list":
        return pa.list_(_read_type(plan.children[0]))
    return plan.arrow_type


def _finish(array: pa.Array, plan: FieldPlan) -> pa.Array:
    """From what the JSON reader produced to the plan's type and safe names."""
    if plan.kind == "date":
        return pc.cast(array, pa.date32())
    if plan.kind == "struct":
        assert isinstance(array, pa.StructArray)
        children = [_finish(array.field(i), child) for i, child in enumerate(plan.children)]
        return pa.StructArray.from_arrays(
            children,
            fields=[child.arrow_field for child in plan.children],
            mask=array.is_null() if array.null_count else None,
        )
    if plan.kind == "list":
        assert isinstance(array, pa.ListArray)
        values = _finish(array.values, plan.children[0])
        return pa.ListArray.from_arrays(
            array.offsets,
            values,
            type=plan.arrow_type,
            mask=array.is_null() if array.null_count else None,
        )
    return array


def fast_table(raws: Sequence[Any], plan: StreamPlan, *, enveloped: bool = False) -> pa.Table:
    """Arrow's JSON reader for typed columns, msgspec for JSON-text columns.

    With `enveloped`, each item is a whole RECORD message and the record is read
    from under its "record" key (the other keys are ignored).
    """
    readable = [f for f in plan.fields if f.kind != "json"]
    json_fields = [f for f in plan.fields if f.kind == "json"]
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    if readable:
        read_fields = [pa.field(f.name, _read_type(f)) for f in readable]
        if enveloped:
            read_schema = pa.schema([pa.field("record", pa.struct(read_fields))])
        else:
            read_schema = pa.schema(read_fields)
        buffer = b"\n".join(raws)
        block_size = max(_MIN_BLOCK_SIZE, max(map(len, raws)) + 1)
        table = pa_json.read_json(
            pa.BufferReader(buffer),  # read by Arrow without calls back into Python
            read_options=pa_json.ReadOptions(block_size=block_size),
            parse_options=pa_json.ParseOptions(
                explicit_schema=read_schema, unexpected_field_behavior="ignore"
            ),
        )
        if table.num_rows != len(raws):
            raise pa.ArrowInvalid("record count changed while reading JSON")
        if enveloped:
            records = table.column("record")
            if records.null_count:
                raise pa.ArrowInvalid("a RECORD message without a record")
            table = pa.Table.from_batches(
                [pa.RecordBatch.from_struct_array(chunk) for chunk in records.chunks],
                schema=pa.schema(read_fields),
            )
        for plan_field in readable:
            chunks = table.column(plan_field.name).chunks
            finished = [_finish(chunk, plan_field) for chunk in chunks]
            columns[plan_field.column] = pa.chunked_array(finished, plan_field.arrow_type)
    if json_fields:
        columns.update(_json_text_columns(raws, json_fields, enveloped=enveloped))
    if not plan.fields:
        return _empty_rows(len(raws))
    return pa.Table.from_arrays([columns[f.column] for f in plan.fields], schema=plan.arrow_schema)


def _empty_rows(num_rows: int) -> pa.Table:
    """A table with rows but no columns (a stream whose schema has no properties)."""
    return pa.table({"x": pa.nulls(num_rows)}).drop_columns(["x"])


def _json_text_columns(
    raws: Sequence[Any], fields: list[FieldPlan], *, enveloped: bool
) -> dict[str, pa.Array]:
    """Compact JSON text of the JSON-text columns, cut from the records undecoded.

    One msgspec call decodes the whole slice into holders of raw JSON; the loops
    below run in C (`map`), not per record in Python.
    """
    decoder = _json_text_decoder(tuple(f.name for f in fields), enveloped)
    holders = decoder.decode(_json_array(raws))
    prefix = "record." if enveloped else ""
    result: dict[str, pa.Array] = {}
    for i, plan in enumerate(fields):
        texts = list(map(bytes, map(operator.attrgetter(prefix + _holder_field(i)), holders)))
        array = pa.array(texts, pa.binary())
        # singer-sdk taps already write compact JSON: only reformat what has blanks.
        spaced = pc.match_substring_regex(array, r"[ \t\r\n]")
        if pc.any(spaced).as_py():
            for index in pc.indices_nonzero(spaced).to_pylist():
                texts[index] = msgspec.json.format(texts[index], indent=-1)
            array = pa.array(texts, pa.binary())
        array = pc.if_else(pc.equal(array, b"null"), pa.scalar(None, pa.binary()), array)
        result[plan.column] = array.cast(pa.string())
    return result


def _json_array(raws: Sequence[Any]) -> bytes:
    """`[raw,raw,...]` in one copy (slices are hundreds of megabytes per million records)."""
    if not raws:
        return b"[]"
    items = list(raws)
    items[0] = b"[" + items[0]
    items[-1] = items[-1] + b"]"
    return b",".join(items)


def _holder_field(index: int) -> str:
    return f"f{index}"


@functools.lru_cache(maxsize=64)
def _json_text_decoder(names: tuple[str, ...], enveloped: bool) -> msgspec.json.Decoder:
    """Decodes a list of records into just their JSON-text fields, as raw JSON.

    A missing field reads as `null`, like an explicit null.
    """
    null = msgspec.Raw(b"null")
    holder: Any = msgspec.defstruct(
        "JsonTextFields",
        [
            (_holder_field(i), msgspec.Raw, msgspec.field(default=null, name=name))
            for i, name in enumerate(names)
        ],
        gc=False,
    )
    if enveloped:
        holder = msgspec.defstruct("JsonTextMessage", [("record", holder)], gc=False)
    return msgspec.json.Decoder(list[holder])


# --- careful route ----------------------------------------------------------------


def careful_table(rows: Sequence[Any], plan: StreamPlan, locate: Callable[[int], str]) -> pa.Table:
    """Check and convert every value in Python; the first bad one stops with its origin."""
    normalizers = [(f, normalizer(f)) for f in plan.fields]
    values: list[list[Any]] = [[] for _ in plan.fields]
    index, name = 0, ""
    try:
        for position, row in enumerate(rows):
            index = position
            if not isinstance(row, dict):
                name = ""
                raise ValueError(f"a record must be a JSON object, got {row!r:.80}")
            for column, (field_plan, normalize) in zip(values, normalizers, strict=True):
                name = field_plan.name
                column.append(normalize(row.get(name)))
    except (ValueError, TypeError) as exc:
        where = f"field '{name}': " if name else ""
        raise RecordError(f"{locate(index)}: {where}{exc}") from None
    if not plan.fields:
        return _empty_rows(len(rows))
    arrays = [_column(v, f, locate) for v, f in zip(values, plan.fields, strict=True)]
    return pa.Table.from_arrays(arrays, schema=plan.arrow_schema)


def _column(values: list[Any], plan: FieldPlan, locate: Callable[[int], str]) -> pa.Array:
    """Build one column; a value Arrow cannot hold (an integer past int64) is named."""
    try:
        return pa.array(values, plan.arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        for index, value in enumerate(values):
            try:
                pa.array([value], plan.arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as problem:
                msg = f"{locate(index)}: field '{plan.name}': {problem}"
                raise RecordError(msg) from None
        raise RecordError(f"field '{plan.name}': {exc}") from None


def normalizer(plan: FieldPlan) -> Callable[[Any], Any]:
    """A function taking a decoded JSON value to what pyarrow builds the column from."""
    kind = plan.kind
    if kind == "struct":
        children = [(c, normalizer(c)) for c in plan.children]

        def struct(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, dict):
                raise ValueError(f"expected an object, got {value!r:.80}")
            return {c.column: norm(value.get(c.name)) for c, norm in children}

        return struct
    if kind == "list":
        item = normalizer(plan.children[0])

        def array(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, list | tuple):
                raise ValueError(f"expected an array, got {value!r:.80}")
            return [item(v) for v in value]

        return array
    return _SCALAR_NORMALIZERS[kind]


def _nullable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(value: Any) -> Any:
        return None if value is None else convert(value)

    return checked


def _to_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r:.80}")
    return value


def _to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float | decimal.Decimal) and value == int(value):
        return int(value)
    raise ValueError(f"expected an integer, got {value!r:.80}")


def _to_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise ValueError(f"expected a number, got {value!r:.80}")
    return float(value)


def _to_boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r:.80}")
    return value


def parse_timestamp(text: str) -> datetime.datetime:
    """ISO 8601 date-time to an aware UTC datetime; no offset means UTC.

    Fractions finer than microseconds are cut, as Parquet stores microseconds.
    """
    cleaned = text.strip()
    if cleaned[-1:] in ("Z", "z"):
        cleaned = cleaned[:-1] + "+00:00"
    cleaned = _FRACTION.sub(lambda m: "." + m.group(1).ljust(6, "0"), cleaned, count=1)
    value = datetime.datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def _to_timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {value!r:.80}") from None
    raise ValueError(f"expected a date-time string, got {value!r:.80}")


def _to_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
        # Some taps write dates as midnight date-times ("2000-01-01T00:00:00+00:00").
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 date: {value!r:.80}") from None
        if moment.time() != datetime.time(0):
            msg = f"a date field holds a date-time with a time of day: {value!r:.80}"
            raise ValueError(msg)
        return moment.date()
    raise ValueError(f"expected a date string, got {value!r:.80}")


def _to_json_text(value: Any) -> str:
    return _json_encoder.encode(value).decode()


def _to_null(value: Any) -> None:
    raise ValueError(f"the schema allows only null, got {value!r:.80}")


_SCALAR_NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "string": _nullable(_to_string),
    "integer": _nullable(_to_integer),
    "number": _nullable(_to_number),
    "boolean": _nullable(_to_boolean),
    "timestamp": _nullable(_to_timestamp),
    "date": _nullable(_to_date),
    "json": _nullable(_to_json_text),
    "null": _nullable(_to_null),
}
