"""read_roster: values typed by schema kind, with notes naming the cell."""

from __future__ import annotations

import pandas as pd
from reader_helpers import notes_of, write_xlsx

from fupin_cli.io import read_roster
from fupin_cli.io.read_values import BAD, parse_bool, parse_date, parse_number


def _one_column(tmp_path, header: str, values: list[object], extra=("姓名", "与户主关系")):
    rows = [["户编号", *extra, header]]
    rows += [[f"H{i:03d}", f"人{i}", "户主", v] for i, v in enumerate(values)]
    return read_roster(write_xlsx(tmp_path / "v.xlsx", {"S": rows}))


def test_money_text_forms(tmp_path):
    r = _one_column(tmp_path, "人均纯收入", ["1,234.5", "1234元", "1 234.50", "１２３４", "1.2万", 2310, "—", "abc"])
    got = r.households["income_per_capita"]
    assert str(got.dtype) == "Float64"
    assert got.tolist()[:6] == [1234.5, 1234.0, 1234.5, 1234.0, 12000.0, 2310.0]
    assert got.isna().tolist()[6:] == [True, True]
    assert notes_of(r, "read.bad_value") == [(9, "error", "S!D9: 人均纯收入“abc”不是有效的金额, 已按空值处理")]
    n = r.notes[r.notes["check"] == "read.bad_value"].iloc[0]
    assert (n["file"], n["sheet"], n["column"], n["household_id"], n["hint"]) == ("v.xlsx", "S", "人均纯收入", "H007", "填写金额数字, 如 1234.50")


def test_booleans(tmp_path):
    values = ["是", "否", "√", "×", 1, 0, "Y", "n", "有", "无", True, False, "也许"]
    r = _one_column(tmp_path, "是否危房", values)
    got = r.households["unsafe_housing"]
    assert str(got.dtype) == "boolean"
    assert got.tolist()[:12] == [True, False, True, False, True, False, True, False, True, False, True, False]
    assert pd.isna(got.iloc[12])
    assert notes_of(r, "read.bad_value") == [(14, "error", "S!D14: 是否危房“也许”不是有效的是/否, 已按空值处理")]


def test_integers_with_units_and_fractions(tmp_path):
    r = _one_column(tmp_path, "家庭人口数", [3, "4人", "５", "2.0", 2.5])
    got = r.households["household_size"]
    assert str(got.dtype) == "Int64"
    assert got.tolist()[:4] == [3, 4, 5, 2] and pd.isna(got.iloc[4])
    assert notes_of(r, "read.bad_value") == [(6, "error", "S!D6: 家庭人口数“2.5”不是有效的整数, 已按空值处理")]


def test_code_values_canonical_and_unknown_kept_with_warning(tmp_path):
    rows = [["户编号", "姓名", "与户主关系", "健康状况", "性别"],
            ["H1", "甲", "本人", "1", "男"], ["H1", "乙", "妻", "慢性病", "2"], ["H1", "丙", "长子", "很好", "女性"]]
    r = read_roster(write_xlsx(tmp_path / "c.xlsx", {"S": rows}))
    m = r.members
    assert m["relation"].tolist() == ["户主", "配偶", "之子"]
    assert m["health"].tolist() == ["健康", "长期慢性病", "很好"]
    assert m["sex"].tolist() == ["男", "女", "女"]
    [(row, sev, msg)] = notes_of(r, "read.unknown_code")
    assert (row, sev, msg) == (4, "warning", "S!D4: 健康状况“很好”不在健康状况代码表中, 按原样保留")
    assert r.notes[r.notes["check"] == "read.unknown_code"]["hint"].tolist() == ["可用值: 健康、长期慢性病、患有大病、残疾"]


def test_full_width_and_spaces_are_folded(tmp_path):
    rows = [["户编号", "户主姓名", "家庭人口数", "户主身份证号"],
            ["Ｈ００１", "　张三　", "３", "５００１０１１９９００１０１１２３ｘ"]]
    r = read_roster(write_xlsx(tmp_path / "w.xlsx", {"S": rows}))
    assert r.households[["household_id", "head_name", "household_size", "head_id_number"]].values.tolist() == [
        ["H001", "张三", 3, "50010119900101123X"],
    ]


def test_id_numbers_stored_as_numbers(tmp_path):
    rows = [["户编号", "姓名", "与户主关系", "证件号码"],
            ["H1", "甲", "户主", 500101199001011234],  # a numeric cell: digits already lost
            ["H1", "乙", "配偶", "5.00101E+17"],  # text copied from Excel's display
            ["H1", "丙", "之子", "500101199001011234.0"],
            ["H1", "丁", "之女", "50010120150506125x"],  # text: kept, x upper-cased
            ["H1", "戊", "之父", " 500101 194001011238 "]]
    r = read_roster(write_xlsx(tmp_path / "id.xlsx", {"S": rows}))
    ids = r.members["id_number"]
    assert ids.isna().tolist() == [True, True, True, False, False]
    assert ids.tolist()[3:] == ["50010120150506125X", "500101194001011238"]
    msg = "身份证号存为数值，精度已丢失：请将该列设为文本后重新录入"
    assert notes_of(r, "id.stored_as_number") == [
        (2, "error", f"S!D2: {msg} (500101********1328)"),
        (3, "error", f"S!D3: {msg} (5.0010*E+17)"),  # masked like any ID: first 6 + last 4
        (4, "error", f"S!D4: {msg} (500101**********34.0)"),
    ]
    # never a full ID number in any note
    assert not r.notes["message"].str.contains("500101199001011234").any()


def test_parsers_directly():
    assert parse_number("￥1,234.50元") == 1234.5
    assert parse_number("3万元") == 30000.0
    assert parse_number("x1") is BAD
    assert parse_bool("已参加") is True and parse_bool("未参加") is False and parse_bool("2") is BAD
    assert parse_date("1990年8月8日") == pd.Timestamp("1990-08-08")
    assert parse_date("1990-02-30") is BAD
    assert parse_date("1990-08-08 00:00:00") == pd.Timestamp("1990-08-08")
    assert parse_date("43831") == pd.Timestamp("2020-01-01")
