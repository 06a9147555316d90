"""Golden dumps of the register, the 公示名单 and the causes report written from the sample roster.

A dump holds sheet names, merged ranges, chart counts, print setup, and for every sheet the
cell values and number formats of the header and the first rows, plus a SHA-256 over all the
remaining cells (value and format) and the sheet's dimensions — not the file bytes (zip
timestamps differ).  Run-time and tool-version cells of 说明 are blanked.

Update after an intended change:  FUPIN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_identify_golden.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SAMPLE = ROOT / "samples" / "roster-clean.xlsx"
FULL_ROWS = 12  # rows dumped cell by cell (header included); the rest is hashed
VOLATILE = ("时间戳", "工具 (tool)")


def _value(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return v


def dump_workbook(path: Path, volatile: tuple[str, ...] = VOLATILE) -> dict:
    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        rows = []
        digest = hashlib.sha256()
        for r, row in enumerate(ws.iter_rows(), start=1):
            cells = [[_value(c.value), c.number_format] for c in row]
            if row and isinstance(row[0].value, str) and row[0].value.startswith(volatile) and len(cells) > 1:
                cells[1][0] = "<volatile>"
            if r <= FULL_ROWS:  # one compact JSON line per row keeps the golden file readable in diffs
                rows.append(json.dumps(cells, ensure_ascii=False, default=str))
            else:
                digest.update(json.dumps(cells, ensure_ascii=False, default=str).encode())
        sheets.append({
            "name": ws.title,
            "dimensions": ws.dimensions,
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "freeze": ws.freeze_panes,
            "autofilter": ws.auto_filter.ref,
            "charts": len(ws._charts),
            "print": {"orientation": ws.page_setup.orientation, "paper": ws.page_setup.paperSize,
                      "title_rows": ws.print_title_rows},
            "rows": rows,
            "rest_sha256": digest.hexdigest(),
        })
    return {"sheets": sheets}


def check_golden(name: str, dump: dict) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(dump, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if os.environ.get("FUPIN_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden dump {path.name}: run with FUPIN_UPDATE_GOLDEN=1 to create it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    for want, got in zip(expected["sheets"], dump["sheets"]):
        for key in want:
            if key == "rows":
                for i, (w, g) in enumerate(zip(want["rows"], got["rows"]), start=1):
                    assert g == w, f"{name}/{want['name']} row {i}:\n got  {g}\n want {w}"
            assert got[key] == want[key], f"{name}/{want['name']}: {key} differs from the golden dump"
    assert [s["name"] for s in dump["sheets"]] == [s["name"] for s in expected["sheets"]]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    if not SAMPLE.exists():
        pytest.fail(f"{SAMPLE} is missing: the shipped samples are part of the repository")
    d = tmp_path_factory.mktemp("golden")
    runner = CliRunner(env={"SOURCE_DATE_EPOCH": "1443657600"})  # pinned run time: 2015-10-01
    res = runner.invoke(app, ["identify", str(SAMPLE), "--year", "2015", "-o", str(d / "register.xlsx"),
                              "--publicity", str(d / "publicity.xlsx"), "--publicity-start", "2015-10-08",
                              "--phone", "023-00000000", "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["causes", str(d / "register.xlsx"), "-o", str(d / "causes.xlsx"), "--quiet"])
    assert res.exit_code == 0, res.output
    return d


@pytest.mark.parametrize("name", ["register", "publicity", "causes"])
def test_golden(outputs, name):
    # the causes report's 说明 names the register's SHA-256, which follows every register change
    volatile = VOLATILE + ("输入文件",) if name == "causes" else VOLATILE
    check_golden(name, dump_workbook(outputs / f"{name}.xlsx", volatile))
