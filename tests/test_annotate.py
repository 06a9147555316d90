"""``--annotate``: the office's own workbook with the decisions added, and nothing else changed.

The source workbooks are built and post-edited with openpyxl (formulas, comments, print setup, an extra
sheet, one sheet per village); the annotated copy is compared with the original cell by cell.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.comments import Comment
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.io.register import read_register
from fupin_cli.io.write_roster import write_roster
from fupin_cli.samples.generate import generate_roster

runner = CliRunner()
DECISIONS = ["识别结果", "贫困户属性", "主要致贫原因", "次要致贫原因", "帮扶措施建议", "识别依据", "未识别原因"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _decorate(path: Path) -> None:
    """Formulas, comments, print setup and an extra sheet, as an office workbook has them."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    ws.cell(1, 1).comment = Comment("县扶贫办 2015 年底汇总", "县扶贫办")
    last = ws.max_row
    ws.cell(last + 2, 1, "人数合计（公式）")
    ws.cell(last + 2, 2, f"=COUNTA(B1:B{last})")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "1:2"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    cover = wb.create_sheet("封面", 0)
    cover["A1"] = "某某县建档立卡花名册"
    cover["A2"] = "=1+1"
    cover["A1"].comment = Comment("封面说明", "办公室")
    wb.save(path)


def _by_village(src: Path, dst: Path) -> None:
    """One sheet per village, each with a merged title row over its own header."""
    data = openpyxl.load_workbook(src).worksheets[0]
    rows = list(data.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    vcol = header.index("行政村")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for village in dict.fromkeys(r[vcol] for r in body):
        ws = wb.create_sheet(str(village)[:31])
        ws.cell(1, 1, f"{village}花名册")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        for j, h in enumerate(header, start=1):
            ws.cell(2, j, h).font = openpyxl.styles.Font(bold=True, name="宋体")
        for r in (r for r in body if r[vcol] == village):
            ws.append(list(r))
        ws.cell(ws.max_row + 1, 1, "填表人：")
        ws.cell(3, 2).comment = Comment("核对过", "村委")
    wb.save(dst)


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    d = tmp_path_factory.mktemp("annotate")
    roster, _ = generate_roster(40, seed=5)
    write_roster(roster, d / "template.xlsx", layout="template")  # title rows, two-row merged header, merged household cells
    _decorate(d / "template.xlsx")
    write_roster(roster, d / "member.xlsx", layout="member")
    _by_village(d / "member.xlsx", d / "villages.xlsx")
    return d


def _snapshot(path: Path) -> dict:
    wb = openpyxl.load_workbook(path, rich_text=True)
    out = {}
    looks: dict[int, tuple] = {}  # a cell style (font, fill, border, alignment, protection, number format) as text, once per style
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None or c.has_style or c.comment is not None:
                    if c.style_id not in looks:
                        looks[c.style_id] = (*(repr(x) for x in (c.font, c.fill, c.border, c.alignment, c.protection)), c.number_format)
                    cells[c.coordinate] = (c.value, *looks[c.style_id], c.comment.text if c.comment else None)
        out[ws.title] = {"cells": cells, "merges": {str(r) for r in ws.merged_cells.ranges},
                         "print": (ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToWidth,
                                   ws.print_title_rows, ws.freeze_panes),
                         "widths": {k: v.width for k, v in ws.column_dimensions.items()}}
    return out


def _check_unchanged(src: Path, dst: Path) -> dict:
    before, after = _snapshot(src), _snapshot(dst)
    assert list(after)[: len(before)] == list(before) and list(after)[len(before):] == ["说明"]
    for name, b in before.items():
        a = after[name]
        for coord, cell in b["cells"].items():
            assert a["cells"][coord] == cell, f"{name}!{coord} changed"
        assert b["merges"] <= a["merges"]
        assert b["print"] == a["print"]
        for k, w in b["widths"].items():
            assert a["widths"][k] == w
    return after


def _decided(wb, sheet: str) -> dict[str, int]:
    """decision label → column index in the sheet's header rows."""
    ws = wb[sheet]
    found = {}
    for r in range(1, 6):
        for c in range(1, ws.max_column + 1):
            if ws.cell(r, c).value in DECISIONS:
                found.setdefault(ws.cell(r, c).value, c)
    return found


def _check_rows(roster_path: Path, annotated: Path, register: Path) -> int:
    from fupin_cli.io.read import read_roster

    roster = read_roster(roster_path)
    reg = read_register(register).households.set_index("household_id")
    wb = openpyxl.load_workbook(annotated)
    rows = pd.concat([roster.households[["household_id", "_sheet", "_row"]], roster.members[["household_id", "_sheet", "_row"]]])
    checked = 0
    for sheet, part in rows.groupby("_sheet"):
        cols = _decided(wb, sheet)
        assert set(cols) == set(DECISIONS)
        ws = wb[sheet]
        merged = {(r, c) for rng in ws.merged_cells.ranges for r in range(rng.min_row + 1, rng.max_row + 1)
                  for c in range(rng.min_col, rng.max_col + 1)}
        for hid, r in zip(part["household_id"], part["_row"]):
            status = reg.loc[hid, "status"]
            cell_row = int(r)
            while (cell_row, cols["识别结果"]) in merged:  # a merged household cell: its top-left row holds the value
                cell_row -= 1
            assert ws.cell(cell_row, cols["识别结果"]).value == status, (sheet, r, hid)
            cause = reg.loc[hid, "primary_cause"]
            got = ws.cell(cell_row, cols["主要致贫原因"]).value
            assert got == (None if pd.isna(cause) else cause)
            checked += 1
    return checked


def test_template_workbook_annotated_cell_for_cell(books, tmp_path):
    src = books / "template.xlsx"
    res = run("identify", src, "-y", "2015", "--allow-errors", "-o", tmp_path / "reg.xlsx", "--annotate", tmp_path / "ann.xlsx", "-q")
    assert res.exit_code == 0, res.output
    after = _check_unchanged(src, tmp_path / "ann.xlsx")
    assert _check_rows(src, tmp_path / "ann.xlsx", tmp_path / "reg.xlsx") > 40
    sheet = next(iter(after))
    assert after["封面"]["cells"]["A2"][0] == "=1+1"  # formulas kept as formulas
    about = openpyxl.load_workbook(tmp_path / "ann.xlsx")["说明"]
    keys = [r[0] for r in about.iter_rows(values_only=True)]
    assert "原表 (annotated from)" in keys and any(str(k).startswith("工作表") for k in keys)
    assert sheet == "封面"


def test_one_sheet_per_village_annotated(books, tmp_path):
    src = books / "villages.xlsx"
    res = run("identify", src, "-y", "2015", "--allow-errors", "-o", tmp_path / "reg.xlsx", "--annotate", tmp_path / "ann.xlsx", "-q")
    assert res.exit_code == 0, res.output
    _check_unchanged(src, tmp_path / "ann.xlsx")
    assert len(openpyxl.load_workbook(src).sheetnames) > 1
    # every household and member row the reader took (from every sheet it read) carries its decision; sheets
    # it did not read are unchanged (checked above)
    assert _check_rows(src, tmp_path / "ann.xlsx", tmp_path / "reg.xlsx") > 0


def test_existing_decision_columns_are_filled_not_added(books, tmp_path):
    src = tmp_path / "has-cols.xlsx"
    wb = openpyxl.load_workbook(books / "member.xlsx")
    ws = wb.worksheets[0]
    n = ws.max_column
    ws.cell(1, n + 1, "识别结果")
    ws.cell(2, n + 1, "旧值")
    wb.save(src)
    res = run("identify", src, "-y", "2015", "--allow-errors", "-o", tmp_path / "reg.xlsx", "--annotate", tmp_path / "ann.xlsx", "-q")
    assert res.exit_code == 0, res.output
    out = openpyxl.load_workbook(tmp_path / "ann.xlsx").worksheets[0]
    header = [out.cell(1, c).value for c in range(1, out.max_column + 1)]
    assert header.count("识别结果") == 1 and header.index("识别结果") == n
    assert out.cell(2, n + 1).value in ("贫困户", "非贫困户", "待核实")
    assert "held another value and were overwritten" in res.stderr


def test_annotate_needs_xlsx_and_never_writes_over_an_input(books, tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("户编号,户主姓名,行政村,家庭人口数\nH1,张三,甲村,1\n", encoding="utf-8")
    res = run("identify", csv, "-y", "2015", "-o", tmp_path / "a.xlsx", "--annotate", tmp_path / "b.xlsx")
    assert res.exit_code == 2 and "only .xlsx rosters can be annotated" in res.stderr
    assert not (tmp_path / "a.xlsx").exists()
    src = books / "member.xlsx"
    res = run("identify", src, "-y", "2015", "-o", tmp_path / "a.xlsx", "--annotate", src, "--force")
    assert res.exit_code == 2 and "member.xlsx is one of the inputs" in res.stderr
    res = run("identify", src, "-y", "2015", "-o", tmp_path / "a.xlsx", "--annotate", tmp_path / "a.xlsx")
    assert res.exit_code == 2 and "--annotate and --output name the same file" in res.stderr
    (tmp_path / "exists.xlsx").write_bytes(b"x")
    res = run("identify", src, "-y", "2015", "-o", tmp_path / "a.xlsx", "--annotate", tmp_path / "exists.xlsx")
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert (tmp_path / "exists.xlsx").read_bytes() == b"x"


def test_annotate_into_a_folder_keeps_the_file_name(books, tmp_path):
    out = tmp_path / "annotated"
    out.mkdir()
    res = run("identify", books / "member.xlsx", "-y", "2015", "--allow-errors", "-o", tmp_path / "reg.xlsx", "--annotate", out, "-q")
    assert res.exit_code == 0, res.output
    assert [p.name for p in out.iterdir()] == ["member.xlsx"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_annotate_on_monitor_reassess_and_exit(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "samples"
    res = run("monitor", samples / "monitor-2023.xlsx", "-y", "2023", "-r", "云南", "-o", tmp_path / "m.xlsx", "--annotate", tmp_path / "ma.xlsx", "-q")
    assert res.exit_code == 0, res.output
    _check_unchanged(samples / "monitor-2023.xlsx", tmp_path / "ma.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "ma.xlsx").worksheets[0]
    labels = {ws.cell(r, c).value for r in range(1, 6) for c in range(1, ws.max_column + 1)}
    assert {"监测情况", "本年监测判定", "风险消除结果"} <= labels
    chain = samples / "chain"
    assert run("identify", chain / "roster-2015.xlsx", "-y", "2015", "-o", tmp_path / "r15.xlsx", "-q").exit_code == 0
    res = run("reassess", tmp_path / "r15.xlsx", chain / "roster-2016.xlsx", "-y", "2016", "-o", tmp_path / "r16.xlsx",
              "--annotate", tmp_path / "ra.xlsx", "-q")
    assert res.exit_code == 0, res.output
    _check_unchanged(chain / "roster-2016.xlsx", tmp_path / "ra.xlsx")
    res = run("exit", tmp_path / "r16.xlsx", "-y", "2017", "--roster", chain / "roster-2017.xlsx", "-o", tmp_path / "e.xlsx",
              "--annotate", tmp_path / "ea.xlsx", "-q")
    assert res.exit_code == 0, res.output
    _check_unchanged(chain / "roster-2017.xlsx", tmp_path / "ea.xlsx")
    res = run("exit", tmp_path / "r16.xlsx", "-y", "2017", "-o", tmp_path / "e2.xlsx", "--annotate", tmp_path / "eb.xlsx")
    assert res.exit_code == 2 and "is a register, not the office's roster" in res.stderr


@pytest.mark.parametrize("layout", ["household", "two-sheet"])
def test_other_sample_layouts_annotated(tmp_path, layout):
    roster, _ = generate_roster(25, seed=9)
    src = write_roster(roster, tmp_path / f"{layout}.xlsx", layout=layout).path
    res = run("identify", src, "-y", "2015", "--allow-errors", "-o", tmp_path / "reg.xlsx", "--annotate", tmp_path / "ann.xlsx", "-q")
    assert res.exit_code == 0, res.output
    _check_unchanged(src, tmp_path / "ann.xlsx")
    assert _check_rows(src, tmp_path / "ann.xlsx", tmp_path / "reg.xlsx") >= 25
