"""The singer-sdk standard target tests, each followed by checks of what was written.

The standard tests mostly assert that nothing raised; every one here also reads the
Parquet files back and checks rows, column names, Arrow types and values.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from singer_sdk.exceptions import MissingKeyPropertiesError, RecordsWithoutSchemaException
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner

from target_parquet_sems.target import TargetParquetSems

StandardTests = get_target_test_class(TargetParquetSems, config={"destination_path": "unused"})

Reader = Callable[[Path], pa.Table]


def sync_again(runner: TargetTestRunner) -> None:
    """Feed the standard test's input once more (to look at an error it expects)."""
    assert runner.input_filepath is not None
    with runner.input_filepath.open(encoding="utf8") as again:
        runner.target_input = again
        runner.sync_all()


def files_below(folder: Path) -> list[str]:
    """The files below `folder` other than the runs' manifests (`_runs/`)."""
    files = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    return sorted(str(p) for p in files if p.parts[0] != "_runs")


def types_of(table: pa.Table) -> dict[str, pa.DataType]:
    return {f.name: f.type for f in table.schema}


class TestStandardTargetTests(StandardTests):  # type: ignore[misc,valid-type]
    """Each standard test writes into its own folder, then its output is checked."""

    @pytest.fixture
    def runner(self, tmp_path: Path) -> TargetTestRunner:
        return TargetTestRunner(
            target_class=TargetParquetSems,
            config={"destination_path": str(tmp_path)},
        )

    def test_target_array_data(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_array_data(config, resource, runner)
        table = read_file(tmp_path / "test_array_data.parquet")
        assert types_of(table) == {"id": pa.int64(), "fruits": pa.list_(pa.string())}
        assert table.to_pylist() == [
            {"id": 1, "fruits": ["apple", "orange", "pear"]},
            {"id": 2, "fruits": ["banana", "apple"]},
            {"id": 3, "fruits": ["pear"]},
            {"id": 4, "fruits": ["orange", "banana", "apple", "pear"]},
        ]

    def test_target_camelcase_complex_schema(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path
    ) -> None:
        super().test_target_camelcase_complex_schema(config, resource, runner)
        # Two SCHEMA messages and no record: nothing to write, and nothing half-written.
        assert files_below(tmp_path) == []

    def test_target_camelcase(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_camelcase(config, resource, runner)
        table = read_file(tmp_path / "TestCamelcase.parquet")
        assert types_of(table) == {"Id": pa.string(), "clientName": pa.string()}
        assert table.to_pylist() == [
            {"Id": "1", "clientName": "Gitter Windows Desktop App"},
            {"Id": "2", "clientName": "Gitter iOS App"},
        ]

    def test_target_cli_prints(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path
    ) -> None:
        super().test_target_cli_prints(config, resource, runner)
        about = TargetParquetSems._get_about_info()
        settings = about.settings["properties"]
        for name in ("destination_path", "compression", "partition_by", "row_group_size"):
            assert name in settings
        assert "load_method" not in settings  # not honoured, so not advertised
        assert files_below(tmp_path) == []

    def test_target_duplicate_records(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_duplicate_records(config, resource, runner)
        table = read_file(tmp_path / "test_duplicate_records.parquet")
        # Five records, two keys: the last record of each key wins.
        assert table.to_pylist() == [{"id": 1, "metric": 100}, {"id": 2, "metric": 20}]
        assert runner.state_messages == [{"test_duplicate_records": 2}]

    def test_target_encoded_string_data(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_encoded_string_data(config, resource, runner)
        strings = read_file(tmp_path / "test_strings.parquet").to_pylist()
        assert len(strings) == 11
        assert strings[1]["info"] == "απλή συμβολοσειρά"
        assert strings[5]["info"] == 'various " \\ / \n escape sequences'
        assert strings[10]["info"] == "Control Characters in string: \x00 A \x01"
        objects = read_file(tmp_path / "test_strings_in_objects.parquet")
        assert objects.schema.field("info").type == pa.struct(
            [("name", pa.string()), ("value", pa.string())]
        )
        assert objects.to_pylist()[2]["info"] == {"name": "chinese", "value": "简单的字串"}
        arrays = read_file(tmp_path / "test_strings_in_arrays.parquet").to_pylist()
        assert arrays[3]["strings"] == ["m", "ā", "ƙ"]

    def test_target_invalid_schema(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path
    ) -> None:
        super().test_target_invalid_schema(config, resource, runner)
        # The standard test accepts any exception; this one names what is missing.
        with pytest.raises(InvalidInputLine, match="missing required properties"):
            sync_again(runner)
        assert files_below(tmp_path) == []

    def test_target_no_primary_keys(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_no_primary_keys(config, resource, runner)
        path = tmp_path / "test_no_pk.parquet"
        assert read_file(path).to_pylist() == [
            {"id": 1, "metric": 11},
            {"id": 2, "metric": 22},
            {"id": 3, "metric": 33},
        ]
        # Without key properties a stream is appended to, run after run.
        with runner.input_filepath.open(encoding="utf8") as again:
            runner.target_input = again
            runner.sync_all()
        assert read_file(path).num_rows == 6

    def test_target_optional_attributes(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_optional_attributes(config, resource, runner)
        table = read_file(tmp_path / "test_optional_attributes.parquet")
        assert types_of(table) == {"id": pa.int64(), "optional": pa.string()}
        assert table.to_pylist() == [
            {"id": 1, "optional": "This is optional"},
            {"id": 2, "optional": None},
            {"id": 3, "optional": "Also optional"},
            {"id": 4, "optional": None},
        ]
        assert runner.state_messages == [{"test_optional_attributes": 4}]

    def test_target_pk_updates(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_pk_updates(config, resource, runner)
        # key_properties sit inside the schema there, so the stream has no key: appended.
        table = read_file(tmp_path / "example_stream.parquet")
        assert table.to_pylist() == [
            {"id": 1, "name": "Alice", "email": "alice@example.com"},
            {"id": 2, "name": "Bob", "email": "bob@example.com"},
        ]

    def test_target_record_before_schema(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path
    ) -> None:
        super().test_target_record_before_schema(config, resource, runner)
        with pytest.raises(
            RecordsWithoutSchemaException,
            match="Input line 1: a record for stream 'test_record_before_schema' came before",
        ):
            sync_again(runner)
        assert files_below(tmp_path) == []

    def test_target_record_missing_key_property(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path
    ) -> None:
        super().test_target_record_missing_key_property(config, resource, runner)
        with pytest.raises(
            MissingKeyPropertiesError, match="input line 2: key property 'id' is missing"
        ):
            sync_again(runner)
        assert files_below(tmp_path) == []

    def test_target_record_missing_fields(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_record_missing_fields(config, resource, runner)
        table = read_file(tmp_path / "record_missing_fields.parquet")
        assert table.to_pylist() == [
            {"id": 1, "optional": "now you see me"},
            {"id": 2, "optional": None},
        ]

    def test_target_schema_no_properties(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_schema_no_properties(config, resource, runner)
        typed = read_file(tmp_path / "test_object_schema_with_properties.parquet")
        assert typed.schema.field("object_store").type == pa.struct(
            [("id", pa.int64()), ("metric", pa.int64())]
        )
        assert typed.column("object_store").to_pylist()[1] == {"id": 2, "metric": 203}
        # An object without properties is kept whole, as JSON text.
        untyped = read_file(tmp_path / "test_object_schema_no_properties.parquet")
        assert untyped.schema.field("object_store").type == pa.string()
        assert untyped.column("object_store").to_pylist() == [
            '{"id":1,"metric":1}',
            '{"id":2,"metric":2}',
        ]

    def test_target_schema_updates(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_schema_updates(config, resource, runner)
        table = read_file(tmp_path / "test_schema_updates.parquet")
        # Four schema versions, six records: no row lost, old rows null in new columns.
        assert table.num_rows == 6
        assert table.column_names == ["id", "a1", "a2", "a3", "a4", "a5", "a6"]
        assert table.schema.field("a1").type == pa.float64()
        assert table.schema.field("a6").type == pa.int64()
        rows = table.to_pylist()
        assert rows[0] == {
            "id": 1,
            "a1": 101.0,
            "a2": "string1",
            "a3": None,
            "a4": None,
            "a5": None,
            "a6": None,
        }
        assert rows[5]["a4"] == {"id": 4, "value": 444}
        assert rows[5]["a6"] == 341

    def test_target_special_chars_in_attributes(
        self, config: Any, resource: Any, runner: Any, tmp_path: Path, read_file: Reader
    ) -> None:
        super().test_target_special_chars_in_attributes(config, resource, runner)
        # `test:SpecialChars!in?attributes` and `agent:type` are made safe, always alike.
        table = read_file(tmp_path / "test_SpecialChars_in_attributes.parquet")
        assert table.to_pylist() == [
            {
                "_id": "a2e98886",
                "d": {"env": "prod", "agent_type": "desktop", "agent_os_version": "10.13.1"},
            }
        ]


def test_multiple_state_messages_each_follow_their_records(
    tmp_path: Path, read_file: Reader
) -> None:
    """The SDK's multiple_state_messages input (left out of its standard suite), in batches
    of two: every STATE is passed on, each once the records before it are written."""
    from singer_sdk.testing import target_test_streams

    runner = TargetTestRunner(
        target_class=TargetParquetSems,
        config={"destination_path": str(tmp_path), "batch_size_rows": 2},
        input_io=io.StringIO(
            (resources.files(target_test_streams) / "multiple_state_messages.singer").read_text()
        ),
    )
    runner.sync_all()
    assert runner.state_messages == [
        {"test_multiple_state_messages_a": a, "test_multiple_state_messages_b": b}
        for a, b in ((1, 0), (2, 1), (3, 2), (5, 3), (5, 6))
    ]
    for stream, factor in (("a", 100), ("b", 110)):
        table = read_file(tmp_path / f"test_multiple_state_messages_{stream}.parquet")
        assert table.to_pylist() == [{"id": i, "metric": i * factor} for i in range(1, 7)]
