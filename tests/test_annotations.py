"""Every annotation in the core packages names something that exists.

`from __future__ import annotations` keeps annotations as strings, so a name missing from a module
(core/identify.py's `-> "np.ndarray"` without numpy imported, found by ruff F821 and mypy) fails only
when something resolves them — `typing.get_type_hints`, as pydantic, typer, typeguard and doc tools do.
Names imported under `if TYPE_CHECKING:` (to avoid import cycles or start-up cost) count as defined.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import typing
from pathlib import Path

import pytest

import fupin_cli

CORE_PACKAGES = ("fupin_cli.engine", "fupin_cli.core", "fupin_cli.checks")


def _core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(fupin_cli.__path__, "fupin_cli."):
        if info.name.startswith(CORE_PACKAGES):
            names.append(info.name)
    return sorted(names)


def _functions(module):
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member):
                    yield f"{name}.{attr}", member


def _type_checking_names(module) -> dict:
    """The names a module imports under ``if TYPE_CHECKING:``, imported now."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: dict = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    source = importlib.import_module(stmt.module)
                    names.update({a.asname or a.name: getattr(source, a.name) for a in stmt.names})
                elif isinstance(stmt, ast.Import):
                    names.update({a.asname or a.name: importlib.import_module(a.name) for a in stmt.names})
    return names


def test_the_core_packages_are_found():
    modules = _core_modules()
    assert "fupin_cli.core.identify" in modules and "fupin_cli.engine.decide" in modules


@pytest.mark.parametrize("module_name", _core_modules())
def test_every_annotation_resolves(module_name):
    module = importlib.import_module(module_name)
    checking = _type_checking_names(module)
    unresolved = []
    for qualname, func in _functions(module):
        try:
            typing.get_type_hints(func, localns=checking)
        except NameError as exc:
            unresolved.append(f"{qualname}: {exc}")
    assert not unresolved, unresolved


def test_identify_positions_is_typed_as_an_array():
    from fupin_cli.core import identify

    hints = typing.get_type_hints(identify._positions)
    assert hints["return"].__name__ == "ndarray"
