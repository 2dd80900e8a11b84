"""Fixtures shared by every test area."""

from __future__ import annotations

import ast
import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def sems_sample() -> Callable[[str], Any]:
    """Load a real SEMS payload from tests/fixtures/sems-samples (see its README)."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / "sems-samples" / name).read_text(encoding="utf-8"))

    return load


# ---- the scan behind both plugins' fences around singer-sdk's private API ------------------


@functools.cache
def _final_methods(classes: tuple[type, ...]) -> frozenset[str]:
    """Methods marked `@final` on the SDK classes `classes` derive from.

    typing.final marks the function itself only from Python 3.11, so the decorators are
    read from the source of every singer_sdk module in the classes' ancestry.
    """
    modules = {
        inspect.getmodule(ancestor)
        for cls in classes
        for ancestor in cls.__mro__
        if ancestor.__module__.startswith("singer_sdk")
    }
    names: set[str] = set()
    for module in modules:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.FunctionDef) and any(
                ast.unparse(d).split(".")[-1] == "final" for d in node.decorator_list
            ):
                names.add(node.name)
    return frozenset(names)


def _crossings(path: Path, private: frozenset[str], final: frozenset[str]) -> list[str]:
    """Where a module imports a private singer-sdk module or name, touches one of the
    `private` names, or overrides one of the `final` methods."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names if alias.name.startswith("singer_sdk")]
        else:
            modules = []
        found += [
            f"{where} imports the private module {module}"
            for module in modules
            if any(part.startswith("_") for part in module.split("."))
        ]
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
            found += [
                f"{where} imports the private name {alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
        if isinstance(node, ast.Attribute) and node.attr in private:
            found.append(f"{where} touches the SDK's private `{node.attr}`")
        if isinstance(node, ast.FunctionDef) and node.name in private:
            found.append(f"{where} overrides the SDK's private `{node.name}`")
        if isinstance(node, ast.FunctionDef) and node.name in final:
            found.append(f"{where} overrides the SDK's final `{node.name}`")
    return found


@pytest.fixture(scope="session")
def sdk_final_methods() -> Callable[..., frozenset[str]]:
    """`sdk_final_methods(Tap, Stream)`: the SDK's final methods those classes inherit."""
    return lambda *classes: _final_methods(tuple(classes))


@pytest.fixture(scope="session")
def sdk_crossings() -> Callable[[Path, frozenset[str], frozenset[str]], list[str]]:
    """`sdk_crossings(path, private_names, final_methods)`: where a plugin module crosses the
    fence around singer-sdk's private API (tap_sems/_sdk.py, target_parquet_sems/_sdk.py)."""
    return _crossings
