"""Issue 8 items 1–4 and 8: labels, polarity, units, layout from the data, every sheet and file,
column maps, `fupin columns`, per-member household columns, errors first."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from reader_helpers import notes_of, write_xlsx
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.errors import UsageError
from fupin_cli.headers import LIKELY, candidates, match_header
from fupin_cli.io.colmap import load_column_map
from fupin_cli.io.read import read_roster

runner = CliRunner()


@pytest.mark.parametrize("label, field, inverted, scale", [
    ("是否低保", "on_dibao", False, 1.0),
    ("是否为低保户", "dibao_household", False, 1.0),
    ("有无低保", "dibao_household", False, 1.0),
    ("是否有小轿车", "has_vehicle", False, 1.0),
    ("是否有商品房", "has_town_property", False, 1.0),
    ("是否有公司", "has_company", False, 1.0),
    ("房屋是否安全", "unsafe_housing", True, 1.0),
    ("住房安全（是/否）", "unsafe_housing", True, 1.0),
    ("非危房", "unsafe_housing", True, 1.0),
    ("饮水有保障", "safe_water", False, 1.0),
    ("不愁吃穿(√)", "food_clothing_secure", False, 1.0),
    ("未参加基本医疗保险", "medical_insurance", True, 1.0),
    ("是否有辍学学生", "has_dropout", False, 1.0),
    ("家庭成员中有无村干部", "has_village_cadre", False, 1.0),
    ("是否财政供养人员", "public_employee", False, 1.0),
    ("人均纯收入(万元)", "income_per_capita", False, 10000.0),
    ("人均纯收入（千元）", "income_per_capita", False, 1000.0),
    ("耕地面积(公顷)", "arable_land", False, 15.0),
    ("姓  名", "name", False, 1.0),
    ("户主姓名：", "head_name", False, 1.0),
    ("人均纯收入(2015年)", "income_per_capita", False, 1.0),
])
def test_labels(label, field, inverted, scale):
    m = match_header(label)
    assert m is not None and (m.field, m.inverted, m.scale) == (field, inverted, scale)


def test_unmatched_columns_get_likely_fields_only():
    assert candidates("年人均收入")[0][0] == "income_per_capita"
    assert all(score >= LIKELY for _, score in candidates("年人均收入"))
    assert candidates("备注") == [] and candidates("x") == []
    assert "income_per_capita" not in dict(candidates("年人均收入", exclude={"income_per_capita"}))


HEAD = ["户编号", "行政村", "户主姓名", "家庭人口数", "人均纯收入", "是否危房"]


def _hh_rows(ids, village="青山村"):
    return [[h, village, f"户主{h}", 3, 2000 + i, "否"] for i, h in enumerate(ids)]


def test_one_sheet_per_village_and_hidden_sheets(tmp_path):
    import xlsxwriter

    p = tmp_path / "villages.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    for name, ids in (("青山村", ["H1", "H2"]), ("白云村", ["H3"]), ("旧表", ["H9"])):
        ws = wb.add_worksheet(name)
        for r, row in enumerate([HEAD, *_hh_rows(ids, name)]):
            ws.write_row(r, 0, row)
        if name == "旧表":
            ws.hide()
    wb.add_worksheet("说明").write(0, 0, "填表说明")
    wb.close()
    r = read_roster(p)
    assert r.households["household_id"].tolist() == ["H1", "H2", "H3"]
    assert r.households["_sheet"].tolist() == ["青山村", "青山村", "白云村"]
    assert r.sources[0].sheets == ["青山村", "白云村"]
    assert r.sources[0].skipped_sheets == {"旧表": "隐藏的工作表 (用 --sheet 读取)", "说明": "前 15 行中没有表头"}
    n = r.notes[r.notes["check"] == "read.sheets"]
    (severity, message), = zip(n["severity"], n["message"])
    assert severity == "warning" and "旧表" in message and "说明" in message


def test_several_files_keep_provenance_and_report_the_same_household(tmp_path):
    a = write_xlsx(tmp_path / "a.xlsx", {"花名册": [HEAD, *_hh_rows(["H1", "H2"])]})
    b = tmp_path / "b.csv"
    pd.DataFrame(_hh_rows(["H2", "H3"]), columns=HEAD).to_csv(b, index=False)
    r = read_roster([a, b])
    assert r.households["household_id"].tolist() == ["H1", "H2", "H2", "H3"]
    assert r.households["_source"].tolist() == ["a.xlsx", "a.xlsx", "b.csv", "b.csv"]
    assert r.households["_row"].tolist() == [2, 3, 2, 3]
    assert [s.name for s in r.sources] == ["a.xlsx", "b.csv"]
    (_row, severity, message), = notes_of(r, "read.duplicate_household")
    assert severity == "error" and "a.xlsx 花名册!第 3 行" in message and "b.csv 第 2 行" in message  # never one silently


def test_layout_from_the_rows_not_the_labels(tmp_path):
    """A member label (是否特困供养) on a one-row-per-household sheet does not make it a member sheet."""
    rows = [HEAD + ["是否特困供养", "是否财政供养人员"]] + [r + ["是", "否"] for r in _hh_rows(["H1", "H2", "H3"])]
    r = read_roster(write_xlsx(tmp_path / "hh.xlsx", {"户": rows}))
    assert r.sources[0].layout == "household" and r.n_members == 0
    assert r.households["tekun_household"].tolist() == [True] * 3
    assert r.households["has_public_employee"].tolist() == [False] * 3
    assert "家庭人口数" in r.sources[0].layout_evidence
    assert r.source_headers["tekun_household"] == "是否特困供养"
    assert [c["field"] for c in r.sources[0].columns][-2:] == ["tekun_household", "has_public_employee"]


def test_member_phone_is_a_member_column_not_a_conflict(tmp_path):
    head = ["户编号", "姓名", "与户主关系", "联系电话"]
    rows = [head]
    for h in ("H1", "H2", "H3"):
        rows += [[h, f"甲{h}", "户主", f"1380000{h[1]}001"], [h, f"乙{h}", "配偶", f"1390000{h[1]}002"]]
    r = read_roster(write_xlsx(tmp_path / "m.xlsx", {"花名册": rows}))
    assert notes_of(r, "read.household_conflict") == []
    assert len(notes_of(r, "read.member_column")) == 1
    assert r.households["phone"].tolist() == ["13800001001", "13800002001", "13800003001"]
    assert r.members["联系电话"].tolist()[:2] == ["13800001001", "13900001002"]


def test_column_map_round_trip_and_errors(tmp_path):
    rows = [["户编号", "行政村", "户主姓名", "家庭人口数", "住房情况", "收入(万)"],
            ["H1", "青山村", "甲", 3, "好", 0.25], ["H2", "青山村", "乙", 2, "差", 0.31]]
    p = write_xlsx(tmp_path / "r.xlsx", {"花名册": rows})
    res = runner.invoke(app, ["columns", str(p), "--write-map", str(tmp_path / "map.yaml"), "--json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert {u["header"] for u in out["unmatched"]} == {"住房情况", "收入(万)"}
    text = (tmp_path / "map.yaml").read_text(encoding="utf-8")
    assert '{header: "住房情况", field: null, candidates: [' in text
    text = text.replace('{header: "住房情况", field: null', '{header: "住房情况", field: "是否危房", polarity: inverted') \
               .replace('{header: "收入(万)", field: null', '{header: "收入(万)", field: income_per_capita, scale: 10000')
    (tmp_path / "fixed.yaml").write_text(text, encoding="utf-8")
    r = read_roster(p, columns=load_column_map(tmp_path / "fixed.yaml"))
    assert r.unmatched == []
    assert r.households["income_per_capita"].tolist() == [2500.0, 3100.0]
    assert r.sources[0].column_map.startswith("fixed.yaml (sha256 ")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ncolumns:\n  - {header: 住房情况, field: 是否危险}\n  - {header: x, feild: name}\n", encoding="utf-8")
    with pytest.raises(UsageError) as e:
        load_column_map(bad)
    problems = [e.value.message, *e.value.problems]
    assert "bad.yaml:3:" in problems[0] and "columns.0.field" in problems[0] and "unknown field '是否危险'" in problems[0]
    assert any("bad.yaml:4:" in x and "unknown key 'feild'" in x for x in problems)


def test_column_map_with_a_yes_no_map_value_polarity(tmp_path):
    # 人均纯收入 present: identify stops (exit 1) when the required income cannot be computed (issue 8.5)
    rows = [["户编号", "行政村", "户主姓名", "家庭人口数", "住房情况", "人均纯收入"], ["H1", "青山村", "甲", 3, "是", 2000],
            ["H2", "青山村", "乙", 2, "否", 5000]]
    p = write_xlsx(tmp_path / "r.xlsx", {"花名册": rows})
    m = tmp_path / "m.yaml"
    m.write_text("columns:\n  - {header: 住房 情况, field: unsafe_housing, polarity: inverted}\n", encoding="utf-8")
    r = read_roster(p, columns=load_column_map(m))
    assert r.households["unsafe_housing"].tolist() == [False, True]
    res = runner.invoke(app, ["validate", str(p), "--columns", str(m), "--json", "--no-pack"])
    assert json.loads(res.stdout)["roster"]["sources"][0]["column_map"].startswith("m.yaml (sha256 ")
    out = tmp_path / "reg.xlsx"
    res = runner.invoke(app, ["identify", str(p), "-y", "2015", "--columns", str(m), "-o", str(out), "--json",
                              "--allow-errors"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["provenance"]["inputs"][0]["column_map"].startswith("m.yaml (sha256 ")
    notes = pd.read_excel(out, sheet_name="说明", header=None, dtype=str, engine="openpyxl")
    assert any(str(v).startswith("m.yaml (sha256 ") for v in notes.iloc[:, 1])


def test_columns_command_table(tmp_path):
    p = write_xlsx(tmp_path / "r.xlsx", {"花名册": [HEAD[:4] + ["房屋是否安全", "备注"], ["H1", "青山村", "甲", 3, "是", ""]]})
    res = runner.invoke(app, ["columns", str(p)])
    assert res.exit_code == 0, res.stderr
    assert "反向 inverted" in res.stdout and "是否危房 (unsafe_housing)" in res.stdout and "未识别" in res.stdout


def test_identify_stops_with_the_errors_first(tmp_path):
    rows = [["户编号", "行政村", "户主姓名", "家庭人口数", "人均纯收入"], ["H1", "青山村", "甲", 3, "abc"]]
    p = write_xlsx(tmp_path / "r.xlsx", {"花名册": rows})
    res = runner.invoke(app, ["identify", str(p), "-y", "2015", "-o", str(tmp_path / "o.xlsx")])
    assert res.exit_code == 1
    lines = res.stderr.splitlines()
    assert lines[0].startswith("错误: r.xlsx: ") and "data errors" in lines[0]
    assert "“abc”不是有效的金额" in lines[1]


def test_validate_lists_errors_before_notes(tmp_path):
    rows = [["户编号", "行政村", "户主姓名", "家庭人口数", "人均纯收入"], ["H1", "青山村", "甲", 3, 3000], [None] * 5,
            ["H2", "青山村", "乙", 2, "abc"]]
    p = write_xlsx(tmp_path / "r.xlsx", {"花名册": rows})
    res = runner.invoke(app, ["validate", str(p), "--no-pack"])
    assert res.exit_code == 1
    table = res.stdout[res.stdout.index("疑点明细"):]
    assert table.index("不是有效的金额") < table.index("是空行")
