"""Small rule packs written into a test's folder: pack.yaml (name, parameters) and rules.yaml (derived, rules)."""

from __future__ import annotations

import json
from pathlib import Path

LINE = "{label: 线, values: [{year: 2015, value: 2855}]}"


def _items(items: str | list[dict]) -> str:
    """YAML list items: text as given (``  - id: …`` lines), dicts one flow mapping a line; none: ``[]``."""
    if isinstance(items, str):
        return items.rstrip("\n") or "  []"
    return "\n".join("  - " + json.dumps(i, ensure_ascii=False) for i in items) or "  []"


def write_pack(folder: Path, rules: str | list[dict], derived: str | list[dict] = "", *, name: str = "test",
               parameters: dict[str, str] | None = None) -> Path:
    """A pack in ``folder``: ``parameters`` (name → YAML flow text) after the 2015 poverty ``line``, last in
    pack.yaml (a test may append more); ``rules`` and ``derived`` as YAML text or dicts. Returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    params = {"line": LINE, **(parameters or {})}
    (folder / "pack.yaml").write_text(f'pack:\n  name: {name}\n  version: "1"\nparameters:\n'
                                      + "".join(f"  {k}: {v}\n" for k, v in params.items()), encoding="utf-8")
    (folder / "rules.yaml").write_text(f"derived:\n{_items(derived)}\nrules:\n{_items(rules)}\n", encoding="utf-8")
    return folder
