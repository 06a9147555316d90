"""Writing samples: layouts, formats, planted faults where Truth says, CLI, committed files."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.errors import UsageError
from fupin_cli.io.write_roster import column_letter, write_roster
from fupin_cli.samples import FAULTS, generate_roster
from fupin_cli.samples.ids import mask
from fupin_cli.samples.messy import relocate

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def messy():
    return generate_roster(60, seed=2015, messy=True)


@pytest.fixture(scope="module")
def messy_book(messy, tmp_path_factory):
    roster, _ = messy
    path = tmp_path_factory.mktemp("messy") / "messy.xlsx"
    write_roster(roster, path, "template")
    return openpyxl.load_workbook(path)


def test_every_documented_fault_planted_once(messy):
    _, truth = messy
    assert sorted(truth.faults["fault"]) == sorted(FAULTS)
    assert truth.layout == "template" and truth.messy
    member_faults = truth.faults[truth.faults["member_id"] != ""]
    hh = truth.faults.loc[~truth.faults["fault"].str.startswith("bool."), "household_id"]
    assert hh.is_unique  # one household per fault, so faults do not interact
    assert len(member_faults) == 14


def test_planted_cells_are_where_truth_says(messy, messy_book):
    roster, truth = messy
    ws = messy_book["花名册"]
    m = roster.members.set_index("member_id")
    for f in truth.faults.itertuples():
        cell = ws[f"{f.column}{f.row}"]
        header = ws[f"{f.column}4"].value or ws[f"{f.column}3"].value
        assert header == f.header, f.fault
        if f.fault == "id.numeric":
            assert cell.data_type == "n" and isinstance(cell.value, float), f.fault
            assert f"{cell.value:.15g}".startswith("5.0023")
        elif "id_number" in f.field:
            assert cell.data_type == "s" and mask(cell.value) == f.value, f.fault
            assert cell.value == m.loc[f.member_id, "id_number"]
        elif f.fault == "member.missing_required":
            assert cell.value is None
        else:
            shown = str(int(cell.value)) if isinstance(cell.value, float) and cell.value.is_integer() else str(cell.value)
            assert shown == f.value, f.fault
    by = truth.faults.set_index("fault")
    assert ws[f"{by.at['id.lowercase_x', 'column']}{by.at['id.lowercase_x', 'row']}"].value.endswith("x")
    assert len(ws[f"{by.at['id.15_digit', 'column']}{by.at['id.15_digit', 'row']}"].value) == 15
    assert ws[f"{by.at['id.fullwidth', 'column']}{by.at['id.fullwidth', 'row']}"].value[0] == "５"
    assert ws[f"{by.at['money.text_unit', 'column']}{by.at['money.text_unit', 'row']}"].value.endswith("元")
    assert "," in ws[f"{by.at['money.text_thousands', 'column']}{by.at['money.text_thousands', 'row']}"].value


def test_template_layout(messy, messy_book):
    roster, _ = messy
    ws = messy_book["花名册"]
    assert ws["A1"].value == "丰都县2015年建档立卡贫困户花名册"
    assert ws["A2"].value.startswith("填报单位：丰都县扶贫开发办公室")
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A3:A4" in merged and "E3:E4" in merged  # vertically merged single headers
    groups = {ws.cell(3, c).value for c in range(1, ws.max_column + 1)}
    assert {"基本情况", "家庭成员", "收入情况(元)", "生产生活条件", "一票否决情况", "帮扶情况"} <= groups
    # household cells merged down over the member rows
    first = roster.households.iloc[0]
    size = int((roster.members["household_id"] == first["household_id"]).sum())
    assert size > 1 and f"E5:E{4 + size}" in merged
    assert ws["E5"].value == first["household_id"] and ws["E6"].value is None
    n_rows = len(roster.members)
    total_row = 5 + n_rows
    assert ws[f"A{total_row}"].value == "合计"
    size_col = next(c for c in range(1, ws.max_column + 1) if ws.cell(4, c).value == "家庭人口数")
    letter = column_letter(size_col - 1)
    assert ws.cell(total_row, size_col).value == f"=SUM({letter}5:{letter}{total_row - 1})"
    assert all(ws.cell(total_row + 1, c).value is None for c in range(1, ws.max_column + 1))
    id_col = next(c for c in range(1, ws.max_column + 1) if ws.cell(4, c).value == "证件号码")
    types = {ws.cell(r, id_col).data_type for r in range(5, total_row)}
    assert types == {"s", "n"}  # text cells, except the one planted numeric ID


def test_relocate_to_member_layout(messy, tmp_path):
    roster, truth = messy
    moved = relocate(roster, truth, "member")
    path = tmp_path / "m.xlsx"
    write_roster(roster, path, "member")
    ws = openpyxl.load_workbook(path).active
    f = moved.faults.set_index("fault").loc["relation.son_female"]
    assert ws[f"{f['column']}1"].value == "性别" and ws[f"{f['column']}{f['row']}"].value == "女"
    hh = relocate(roster, truth, "household").faults.set_index("fault")
    assert pd.isna(hh.at["relation.son_female", "row"]) and hh.at["household.size_mismatch", "row"] >= 2


@pytest.mark.parametrize("name,layout", [("c.xlsx", "member"), ("c.xls", "member"), ("c.csv", "member"),
                                         ("c.parquet", "member"), ("h.xlsx", "household"), ("t.xlsx", "two-sheet"),
                                         ("t.xls", "template")])
def test_round_trip_through_reader(tmp_path, name, layout):
    from fupin_cli.io.read import read_roster

    roster, _ = generate_roster(45, seed=3)
    path = tmp_path / name
    write_roster(roster, path, layout)
    back = read_roster(path)
    assert back.n_households == 45
    assert list(back.households["household_id"]) == list(roster.households["household_id"])
    assert (back.households["income_per_capita"].to_numpy() == roster.households["income_per_capita"].to_numpy()).all()
    if layout != "household":
        assert list(back.members["id_number"]) == list(roster.members["id_number"])
        assert list(back.members["relation"]) == list(roster.members["relation"])


def test_csv_is_gbk_and_parquet_typed(tmp_path):
    roster, _ = generate_roster(40, seed=4)
    write_roster(roster, tmp_path / "r.csv", "member")
    raw = (tmp_path / "r.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    df = pd.read_csv(tmp_path / "r.csv", encoding="gbk", dtype=str)
    assert df.columns[6] == "户编号" and len(df) == roster.n_members
    assert (df["证件号码"] == roster.members["id_number"].to_numpy()).all()
    write_roster(roster, tmp_path / "r.parquet", "member")
    p = pd.read_parquet(tmp_path / "r.parquet")
    assert p["人均纯收入"].dtype == "float64" and p["出生日期"].dtype.kind == "M"


def test_writer_errors(tmp_path):
    roster, _ = generate_roster(20, seed=4)
    write_roster(roster, tmp_path / "a.xlsx")
    with pytest.raises(UsageError, match="already exists"):
        write_roster(roster, tmp_path / "a.xlsx")
    write_roster(roster, tmp_path / "a.xlsx", force=True)
    with pytest.raises(UsageError, match="unknown output format .txt"):
        write_roster(roster, tmp_path / "a.txt")
    with pytest.raises(UsageError, match="layout 'template' needs a spreadsheet"):
        write_roster(roster, tmp_path / "a.csv", "template")
    with pytest.raises(UsageError, match="unknown layout"):
        write_roster(roster, tmp_path / "b.xlsx", "sideways")
    assert not list(tmp_path.glob(".*tmp*"))  # no temp files left behind


def test_xls_row_limit_is_a_clear_error(tmp_path, monkeypatch):
    import fupin_cli.io.write_roster as wr

    roster, _ = generate_roster(30, seed=4)
    monkeypatch.setattr(wr, "XLS_MAX_ROWS", 50)
    with pytest.raises(UsageError, match=r"rows do not fit in one \.xls sheet"):
        write_roster(roster, tmp_path / "big.xls")
    assert not (tmp_path / "big.xls").exists()


def test_cli_generate_truth_and_no_overwrite(tmp_path):
    out = tmp_path / "m.xlsx"
    res = runner.invoke(app, ["samples", "generate", "-n", "50", "-s", "9", "--messy", "-o", str(out), "--truth", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["layout"] == "template" and summary["households"] == 50 and summary["counts"]["faults"] == len(FAULTS)
    truth = json.loads((tmp_path / "m.xlsx.truth.json").read_text(encoding="utf-8"))
    assert {f["fault"] for f in truth["faults"]} == set(FAULTS)
    assert all("*" in f["value"] for f in truth["faults"] if f["field"] == "id_number")
    res = runner.invoke(app, ["samples", "generate", "-n", "50", "-o", str(out)])
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(app, ["samples", "generate", "-n", "50", "-o", str(tmp_path / "x.csv"), "--layout", "template"])
    assert res.exit_code == 2


def test_cli_generate_same_seed_same_csv(tmp_path):
    for name in ("a.csv", "b.csv"):
        res = runner.invoke(app, ["samples", "generate", "-n", "30", "-s", "4", "-o", str(tmp_path / name), "-q"])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_cli_chain(tmp_path):
    res = runner.invoke(app, ["samples", "chain", "-n", "60", "-s", "2", "--years", "2015,2016", "-o", str(tmp_path / "c"),
                              "--format", "parquet", "--truth", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "roster-2015.parquet", "roster-2015.parquet.truth.json", "roster-2016.parquet", "roster-2016.parquet.truth.json"]
    assert summary["years"]["2016"]["counts"]["transition:自然减少"] >= 1
    res = runner.invoke(app, ["samples", "chain", "-n", "60", "--years", "2016,2015", "-o", str(tmp_path / "d")])
    assert res.exit_code == 2 and "increasing" in res.output


def test_committed_samples_exist_and_match_generator():
    for name in ("roster-clean.xlsx", "roster-clean.xls", "roster-clean-gbk.csv", "roster-clean.parquet",
                 "roster-messy.xlsx", "README.md", "chain/roster-2015.xlsx", "chain/roster-2016.xlsx", "chain/roster-2017.xlsx"):
        assert (ROOT / "samples" / name).is_file(), name
    roster, _ = generate_roster(60, seed=2015)
    df = pd.read_csv(ROOT / "samples" / "roster-clean-gbk.csv", encoding="gbk", dtype=str)
    assert list(df["证件号码"]) == list(roster.members["id_number"])
    truth = json.loads((ROOT / "samples" / "roster-messy.xlsx.truth.json").read_text(encoding="utf-8"))
    readme = (ROOT / "samples" / "README.md").read_text(encoding="utf-8")
    for f in truth["faults"]:  # the README lists every planted fault with its cell
        assert f"`{f['fault']}`" in readme and f"{f['column']}{f['row'] or ''}" in readme, f["fault"]


def test_xls_without_libreoffice_is_a_clear_usage_error(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from fupin_cli.cli.app import app

    monkeypatch.setenv("FUPIN_SOFFICE", str(tmp_path / "no-soffice"))
    res = CliRunner().invoke(app, ["samples", "generate", "-n", "5", "-o", str(tmp_path / "x.xls")])
    assert res.exit_code == 2
    assert "needs LibreOffice (soffice), which is not installed" in res.stderr
    assert "write .xlsx instead" in res.stderr
    assert not (tmp_path / "x.xls").exists()
