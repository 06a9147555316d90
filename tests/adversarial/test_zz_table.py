"""docs/reliability.md's table is what this suite measures (runs last in tests/adversarial/).

Each test above records, per category, the inputs tried and how each ended; here the tally must
show no crash, no silent wrong result and nothing lost or leaked, and — after a full default run
of this folder — equal the table in docs/reliability.md row for row.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import OUTCOMES, TALLY

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def measured() -> dict[str, tuple[int, ...]]:
    return {cat: (t["tried"], *(t.get(o, 0) for o in OUTCOMES)) for cat, t in TALLY.items()}


def documented() -> dict[str, tuple[int, ...]]:
    text = DOC.read_text(encoding="utf-8")
    body = text.split("<!-- table:start -->", 1)[1].split("<!-- table:end -->", 1)[0]
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].replace(",", "").isdigit():
            rows[cells[0]] = tuple(int(c.replace(",", "")) for c in cells[1:])
    return rows


def render(rows: dict[str, tuple[int, ...]]) -> str:
    lines = ["| category | inputs tried | clean error | crash | silent wrong result | data lost or leaked |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {cat} | " + " | ".join(f"{n:,}" for n in v) + " |" for cat, v in rows.items()]
    return "\n".join(lines)


def test_no_crash_no_silent_wrong_result_nothing_lost():
    if not TALLY:
        pytest.skip("no adversarial test ran")
    bad = {cat: v for cat, v in measured().items() if any(v[2:])}
    assert not bad, "\n" + render(measured())


def test_docs_table_is_this_run():
    if not TALLY:
        pytest.skip("no adversarial test ran")
    doc, got = documented(), measured()
    assert all(v[2:] == (0, 0, 0) for v in doc.values()), "docs/reliability.md must show zeros in the last three columns"
    partial = any(got.get(cat, (0,))[0] < v[0] for cat, v in doc.items())
    if partial:
        pytest.skip("a partial run of tests/adversarial: the table is checked after a full run")
    assert got == doc, "update docs/reliability.md with:\n" + render(dict(sorted(got.items())))
