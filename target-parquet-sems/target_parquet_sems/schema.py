"""From a stream's JSON schema to the Arrow schema of its Parquet files.

Column types come from the JSON schema only, never from the data, so every file of a
stream agrees with every other one whatever values a batch happened to hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

Kind = Literal[
    "string",
    "integer",
    "number",
    "boolean",
    "timestamp",
    "date",
    "json",
    "struct",
    "list",
    "null",
]

_UNSAFE_COLUMN_CHARS = re.compile(r"[^0-9A-Za-z_]")
_UNSAFE_STREAM_CHARS = re.compile(r"[^0-9A-Za-z_.-]")


class SchemaMergeError(ValueError):
    """The incoming schema cannot be merged with the schema already on disk."""


def safe_column_name(name: str) -> str:
    """Replace every character other than letters, digits and `_` by `_`.

    Spark, Hive partition paths and SQL engines trip over dots, colons, `=` and
    spaces in column names; a fixed character rule keeps the mapping the same on
    every run, whatever other fields the schema has.
    """
    return _UNSAFE_COLUMN_CHARS.sub("_", name) or "_"


def safe_stream_name(name: str) -> str:
    """Make a stream name safe as a file or folder name.

    Besides path separators and shell-hostile characters, a leading `.` or `_`
    must go: every Parquet reader skips such names as hidden.
    """
    cleaned = _UNSAFE_STREAM_CHARS.sub("_", name).lstrip("._")
    return cleaned or "stream"


@dataclass
class FieldPlan:
    """How one JSON schema property becomes one Arrow column (or struct child)."""

    name: str
    """The property name in the records."""
    column: str
    """The safe column name in Parquet."""
    kind: Kind
    arrow_type: pa.DataType
    nullable: bool = True
    required: bool = False
    children: list[FieldPlan] = field(default_factory=list)
    """Struct properties, or the single item plan of a list."""
    description: str | None = None
    """The JSON schema's `description`: unit, sign convention, meaning."""

    @property
    def must_not_be_null(self) -> bool:
        return self.required and not self.nullable

    @property
    def arrow_field(self) -> pa.Field:
        return pa.field(self.column, self.arrow_type)

    @property
    def fast_readable(self) -> bool:
        """Whether Arrow's JSON reader can produce this column (JSON text it cannot)."""
        if self.kind == "json":
            return False
        return all(child.fast_readable for child in self.children)


@dataclass
class StreamPlan:
    """The Arrow layout of one stream, derived from its JSON schema."""

    fields: list[FieldPlan]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([plan.arrow_field for plan in self.fields])

    def field_by_name(self, name: str) -> FieldPlan:
        for plan in self.fields:
            if plan.name == name:
                return plan
        raise KeyError(name)

    def key_columns(self, key_properties: Sequence[str], stream_name: str) -> list[str]:
        """The columns of a stream's key properties, each of which must be in its schema."""
        columns = []
        for name in key_properties:
            try:
                columns.append(self.field_by_name(name).column)
            except KeyError:
                msg = f"Stream '{stream_name}': key property '{name}' is not in its schema"
                raise SchemaMergeError(msg) from None
        return columns


def _types_of(node: dict[str, Any]) -> tuple[list[str], bool]:
    """The non-null JSON types a schema node allows, and whether it allows null."""
    raw = node.get("type")
    if raw is None:
        return [], True
    types = [raw] if isinstance(raw, str) else list(raw)
    nullable = "null" in types
    return [t for t in types if t != "null"], nullable


def _alternatives(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    for keyword in ("anyOf", "oneOf"):
        if isinstance(node.get(keyword), list):
            return list(node[keyword])
    return None


def plan_field(name: str, node: dict[str, Any], *, required: bool = False) -> FieldPlan:
    """Map one JSON schema node to its column plan.

    Unions Arrow cannot hold, objects without properties and nodes without a type
    become JSON text, so no value is ever dropped or coerced into the wrong type.
    """
    plan = _plan_node(name, node, required=required)
    description = node.get("description")
    if isinstance(description, str) and description.strip():
        plan.description = description.strip()
    return plan


def _plan_node(name: str, node: dict[str, Any], *, required: bool) -> FieldPlan:
    column = safe_column_name(name)
    alternatives = _alternatives(node)
    if alternatives is not None:
        return _plan_union(name, column, alternatives, required=required)
    types, nullable = _types_of(node)
    if not types:
        if node.get("type") == "null" or node.get("type") == ["null"]:
            return FieldPlan(name, column, "null", pa.null(), True, required)
        return FieldPlan(name, column, "json", pa.string(), True, required)
    if len(types) > 1:
        kinds = {_scalar_kind(t, node) for t in types}
        if kinds <= {"integer", "number"}:
            return FieldPlan(name, column, "number", pa.float64(), nullable, required)
        return FieldPlan(name, column, "json", pa.string(), nullable, required)
    json_type = types[0]
    if json_type == "object":
        properties = node.get("properties")
        if not properties:
            return FieldPlan(name, column, "json", pa.string(), nullable, required)
        required_children = set(node.get("required", []))
        children = [
            plan_field(child, child_node, required=child in required_children)
            for child, child_node in properties.items()
        ]
        _check_unique_columns(children, where=f"object '{name}'")
        struct = pa.struct([child.arrow_field for child in children])
        return FieldPlan(name, column, "struct", struct, nullable, required, children)
    if json_type == "array":
        items = node.get("items")
        if not isinstance(items, dict) or not items:
            return FieldPlan(name, column, "json", pa.string(), nullable, required)
        item = plan_field("item", items)
        if item.kind == "null":
            return FieldPlan(name, column, "json", pa.string(), nullable, required)
        list_type = pa.list_(item.arrow_field)
        return FieldPlan(name, column, "list", list_type, nullable, required, [item])
    kind = _scalar_kind(json_type, node)
    return FieldPlan(name, column, kind, _SCALAR_TYPES[kind], nullable, required)


_SCALAR_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": TIMESTAMP,
    "date": pa.date32(),
    "json": pa.string(),
}


def _scalar_kind(json_type: str, node: dict[str, Any]) -> Kind:
    if json_type == "string":
        fmt = node.get("format")
        if fmt == "date-time":
            return "timestamp"
        if fmt == "date":
            return "date"
        return "string"
    if json_type in ("integer", "number", "boolean"):
        return json_type  # type: ignore[return-value]
    return "json"


def _plan_union(
    name: str, column: str, alternatives: list[dict[str, Any]], *, required: bool
) -> FieldPlan:
    """anyOf/oneOf: one Arrow type when every branch agrees on it, else JSON text.

    Branches that are all strings (with or without a format, as Salesforce-style
    schemas send them) are kept as plain strings: that holds every branch's value.
    """
    nullable = False
    kinds: set[str] = set()
    plans: list[FieldPlan] = []
    for branch in alternatives:
        types, branch_nullable = _types_of(branch)
        nullable = nullable or branch_nullable or branch.get("type") == "null"
        if not types and branch.get("type") in ("null", ["null"]):
            continue
        plan = plan_field(name, branch)
        plans.append(plan)
        kinds.add(plan.kind)
    if len(plans) == 1:
        only = plans[0]
        only.nullable = only.nullable or nullable
        only.required = required
        return only
    if kinds and kinds <= {"string", "timestamp", "date"}:
        return FieldPlan(name, column, "string", pa.string(), nullable, required)
    if kinds and kinds <= {"integer", "number"}:
        return FieldPlan(name, column, "number", pa.float64(), nullable, required)
    return FieldPlan(name, column, "json", pa.string(), True, required)


def _check_unique_columns(plans: list[FieldPlan], *, where: str) -> None:
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.column in seen:
            msg = (
                f"Fields '{seen[plan.column]}' and '{plan.name}' of {where} both become "
                f"column '{plan.column}' once made safe for Parquet; rename one of them "
                "in the tap (for example with a stream map)."
            )
            raise SchemaMergeError(msg)
        seen[plan.column] = plan.name


def plan_stream(schema: dict[str, Any], stream_name: str) -> StreamPlan:
    """The column plan of a whole stream schema."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required", []))
    plans = [plan_field(name, node, required=name in required) for name, node in properties.items()]
    _check_unique_columns(plans, where=f"stream '{stream_name}'")
    return StreamPlan(plans)


DESCRIPTION_KEY = b"description"


def with_descriptions(schema: pa.Schema, plan: StreamPlan) -> pa.Schema:
    """`schema` with each column's description from the plan in its field metadata.

    Columns the plan does not describe keep what they had (a column the tap no longer
    sends keeps the description it was written with).
    """
    plans = {f.column: f for f in plan.fields}
    fields = [_described(f, plans.get(f.name)) for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def _described(arrow_field: pa.Field, plan: FieldPlan | None) -> pa.Field:
    if plan is None:
        return arrow_field
    arrow_type = arrow_field.type
    if pa.types.is_struct(arrow_type) and plan.kind == "struct":
        children = {child.column: child for child in plan.children}
        arrow_type = pa.struct(
            [_described(child, children.get(child.name)) for child in arrow_type]
        )
    metadata = dict(arrow_field.metadata or {})
    if plan.description:
        metadata[DESCRIPTION_KEY] = plan.description.encode()
    return pa.field(arrow_field.name, arrow_type, arrow_field.nullable, metadata or None)


def unify_types(existing: pa.DataType, incoming: pa.DataType, path: str) -> pa.DataType:
    """The type that holds both an old and a new column type, or a clear error.

    New struct fields are added, integers widen to floats, a column typed null (all
    values missing so far) takes the other type; everything else is a conflict.
    """
    if existing == incoming:
        return existing
    if pa.types.is_null(existing):
        return incoming
    if pa.types.is_null(incoming):
        return existing
    numeric = {pa.int64(), pa.float64()}
    if existing in numeric and incoming in numeric:
        return pa.float64()
    if pa.types.is_struct(existing) and pa.types.is_struct(incoming):
        return pa.struct(unify_fields(list(existing), list(incoming), path))
    if pa.types.is_list(existing) and pa.types.is_list(incoming):
        item = unify_types(existing.value_type, incoming.value_type, f"{path}[]")
        return pa.list_(pa.field(existing.value_field.name, item))
    msg = (
        f"Column '{path}' is {existing} in the existing dataset but {incoming} in the "
        "incoming schema; the dataset was left unchanged. Write the stream to a new "
        "destination, or remove the old data, to change a column's type."
    )
    raise SchemaMergeError(msg)


def unify_fields(
    existing: list[pa.Field], incoming: list[pa.Field], path: str = ""
) -> list[pa.Field]:
    """Existing columns in their order (widened as needed), then the new ones."""
    incoming_by_name = {f.name: f for f in incoming}
    result: list[pa.Field] = []
    for old in existing:
        new = incoming_by_name.get(old.name)
        if new is None:
            result.append(old)
            continue
        child_path = f"{path}.{old.name}" if path else old.name
        result.append(old.with_type(unify_types(old.type, new.type, child_path)))
    existing_names = {f.name for f in existing}
    result.extend(f for f in incoming if f.name not in existing_names)
    return result


def unify_schemas(existing: pa.Schema | None, incoming: pa.Schema) -> pa.Schema:
    if existing is None:
        return incoming
    return pa.schema(unify_fields(list(existing), list(incoming)))
