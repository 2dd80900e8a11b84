"""Pure table operations behind a merged write: conform to a schema, de-duplicate."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

ORDER_COLUMN = "__target_parquet_sems_order"


def conform_array(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Bring a column to a wider type: added struct fields are null, ints become floats."""
    if array.type == target:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if pa.types.is_struct(target) and pa.types.is_struct(array.type):
        assert isinstance(array, pa.StructArray)
        present = {array.type.field(i).name: i for i in range(array.type.num_fields)}
        children = []
        for target_field in target:
            if target_field.name in present:
                child = array.field(present[target_field.name])
                children.append(conform_array(child, target_field.type))
            else:
                children.append(pa.nulls(len(array), target_field.type))
        return pa.StructArray.from_arrays(
            children,
            fields=list(target),
            mask=array.is_null() if array.null_count else None,
        )
    if pa.types.is_list(target) and pa.types.is_list(array.type):
        assert isinstance(array, pa.ListArray)
        start = array.offsets[0].as_py()
        offsets = pc.subtract(array.offsets, start) if start else array.offsets
        values = conform_array(array.flatten(), target.value_type)
        return pa.ListArray.from_arrays(
            offsets,
            values,
            type=target,
            mask=array.is_null() if array.null_count else None,
        )
    return pc.cast(array, target)


def conform_table(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The same rows with exactly `schema`'s columns: missing ones are all null."""
    if table.schema == schema:
        return table
    columns = []
    for target_field in schema:
        index = table.schema.get_field_index(target_field.name)
        if index < 0:
            columns.append(pa.nulls(table.num_rows, target_field.type))
            continue
        chunks = [conform_array(chunk, target_field.type) for chunk in table.column(index).chunks]
        columns.append(pa.chunked_array(chunks, target_field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _strictly_increasing(column: pa.ChunkedArray) -> bool:
    if column.null_count or len(column) < 2:
        return column.null_count == 0
    try:
        later = pc.greater(column.slice(1), column.slice(0, len(column) - 1))
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False  # a type without an order (struct, list): take the general path
    return bool(pc.all(later).as_py())


def merge_rows(
    existing: pa.Table | None,
    incoming: pa.Table,
    key_columns: list[str],
    *,
    keyed: bool | None = None,
) -> pa.Table:
    """Existing rows followed by new ones; with a key the last row per key wins.

    Keyed results are sorted by key, so the same rows always give the same file
    whatever order and batches they arrived in. `keyed` with no key columns means
    the whole key is constant (all of it is in the partition path): one row remains.
    """
    combined = incoming if existing is None else pa.concat_tables([existing, incoming])
    if keyed is None:
        keyed = bool(key_columns)
    if not keyed:
        return combined
    if not key_columns:
        return combined.slice(combined.num_rows - 1) if combined.num_rows else combined
    if len(key_columns) == 1 and _strictly_increasing(combined.column(key_columns[0])):
        return combined  # already unique and in key order, as time series usually are
    order = pa.array(range(combined.num_rows), pa.int64())
    keys_with_order = combined.select(key_columns).append_column(ORDER_COLUMN, order)
    latest = keys_with_order.group_by(key_columns, use_threads=False).aggregate(
        [(ORDER_COLUMN, "max")]
    )
    winners = combined.take(latest.column(f"{ORDER_COLUMN}_max"))
    return winners.sort_by([(column, "ascending") for column in key_columns])
