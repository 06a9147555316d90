"""docs/architecture.md's import contracts, checked on the source (every import, also inside functions).

The allowed edges between packages are the table in docs/architecture.md ("Imports"); the test reads
nothing from the doc, so a change to either must change both (test_contract_table_matches_the_doc).
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "fupin_cli"
BASE = {"errors", "schema", "headers", "idnumber", "findings", "roster", "regions"}

# package → packages it may import (besides itself).  Base modules may import base modules only.
ALLOWED = {
    "engine": BASE,
    "checks": BASE | {"engine"},
    "core": BASE | {"engine", "checks"},
    "io": BASE | {"core", "engine"},
    "samples": BASE | {"io", "core", "engine"},
    "cli": BASE | {"engine", "checks", "core", "io", "samples"},
}
# imports that break the contract today, each named (docs/architecture.md "Known breaks"): the test fails on
# any other break, and on one of these once it is gone (so the list cannot go stale)
KNOWN_BREAKS = {("engine/loader.py", "fupin_cli.checks.catalog")}
# modules outside io/ that read files, and why (the doc lists the same)
FILE_READERS = {"engine/loader.py", "engine/scenarios.py"}
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "read_csv", "read_excel",
              "read_parquet", "to_csv", "to_parquet", "to_excel", "unlink", "mkdir", "iterdir", "glob", "rglob"}
TERMINAL_ONLY = {"typer", "rich", "click"}
OUTSIDE_CLI_FORBIDDEN_CALLS = {"print", "exit", "input"}


@functools.cache
def _parsed() -> tuple:
    out = []
    for f in sorted(SRC.rglob("*.py")):
        rel = f.relative_to(SRC)
        unit = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        out.append((f, rel, unit, ast.parse(f.read_text(encoding="utf-8"))))
    return tuple(out)


def _modules():
    return iter(_parsed())


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "fupin_cli":  # from fupin_cli import schema, idnumber
                for a in node.names:
                    yield node.lineno, f"fupin_cli.{a.name}"
            else:
                yield node.lineno, node.module


def _target(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "fupin_cli":
        return None
    return parts[1] if len(parts) > 1 else "fupin_cli"


def test_imports_flow_one_way():
    broken = []
    seen: set[tuple[str, str]] = set()
    for _, rel, unit, tree in _modules():
        for line, name in _imports(tree):
            tgt = _target(name)
            if tgt is None or tgt == unit or tgt in ("fupin_cli", "__version__"):
                continue
            if unit in BASE:
                ok = tgt in BASE
            elif unit in ALLOWED:
                ok = tgt in ALLOWED[unit]
            else:  # __init__, __main__
                ok = unit == "__main__" and tgt == "cli"
            if not ok:
                if (rel.as_posix(), name) in KNOWN_BREAKS:
                    seen.add((rel.as_posix(), name))
                    continue
                broken.append(f"{rel}:{line}: {unit} imports {name}")
    assert not broken, "imports against docs/architecture.md:\n" + "\n".join(broken)
    assert seen == KNOWN_BREAKS, f"fixed, remove from KNOWN_BREAKS and the doc: {sorted(KNOWN_BREAKS - seen)}"


def test_only_cli_imports_typer_and_rich():
    broken = [f"{rel}:{line}: {name}" for _, rel, unit, tree in _modules() if unit != "cli"
              for line, name in _imports(tree) if name.split(".")[0] in TERMINAL_ONLY]
    assert not broken, broken


def test_core_checks_engine_never_touch_files_print_or_exit():
    broken = []
    for _, rel, unit, tree in _modules():
        if unit not in ("core", "checks", "engine"):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in FILE_CALLS and rel.as_posix() not in FILE_READERS:
                broken.append(f"{rel}:{node.lineno}: {name}()")
            if isinstance(fn, ast.Name) and name in OUTSIDE_CLI_FORBIDDEN_CALLS:
                broken.append(f"{rel}:{node.lineno}: {name}()")
            if isinstance(fn, ast.Attribute) and name == "exit" and isinstance(fn.value, ast.Name) and fn.value.id == "sys":
                broken.append(f"{rel}:{node.lineno}: sys.exit()")
    assert not broken, broken


def test_io_and_samples_never_print_or_exit():
    broken = []
    for _, rel, unit, tree in _modules():
        if unit not in ("io", "samples"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in OUTSIDE_CLI_FORBIDDEN_CALLS:
                broken.append(f"{rel}:{node.lineno}: {node.func.id}()")
    assert not broken, broken


def test_contract_table_matches_the_doc():
    """The doc's `unit → may import` lines are exactly ALLOWED (so doc and test change together)."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found = {}
    for m in re.finditer(r"^\| `(\w+)/` \| ([^|]+) \|", doc, flags=re.MULTILINE):
        found[m.group(1)] = {x.strip(" `") for x in m.group(2).split(",") if x.strip()} - {"base"} | (
            BASE if "base" in m.group(2) else set())
    assert found == ALLOWED
    for reader in FILE_READERS:
        assert reader in doc


@pytest.mark.parametrize("probe", ["engine", "io"])
def test_the_checker_catches_a_forbidden_import(probe, monkeypatch):
    """A planted violation is reported (the test is not vacuous)."""
    bad = ast.parse("from fupin_cli.cli.common import out\n")
    rel = Path(probe) / "planted.py"
    real = list(_modules())
    monkeypatch.setattr(sys.modules[__name__], "_modules", lambda: iter([*real, (None, rel, probe, bad)]))
    with pytest.raises(AssertionError, match="planted.py:1"):
        test_imports_flow_one_way()
