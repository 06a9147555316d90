"""pyproject.toml lists every package, and ships the rule packs as package data."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _config():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_source_package_is_listed():
    listed = set(_config()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_shipped_packs_are_package_data():
    cfg = _config()["tool"]["setuptools"]
    assert cfg["package-dir"]["fupin_cli.rules"] == "rules"
    patterns = cfg["package-data"]["fupin_cli.rules"]
    for pack in ("national-2014", "monitoring-2021", "chongqing"):
        yamls = [p.relative_to(ROOT / "rules").as_posix() for p in (ROOT / "rules" / pack).rglob("*.yaml")]
        assert yamls
        for y in yamls:
            assert any(Path(y).match(pat) for pat in patterns), f"{y} is not installed by package-data"
