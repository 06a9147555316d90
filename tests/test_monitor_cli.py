"""`fupin monitor` end to end on a small post-2021 roster (CSV)."""

from __future__ import annotations

import json
import re

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.core.monitor import run_monitor
from fupin_cli.engine import load_pack
from fupin_cli.io.read import read_roster

runner = CliRunner()

HEADER = "乡镇,行政村,户编号,户主姓名,户主证件号码,家庭人口数,户类型,人均纯收入,致贫返贫风险,监测对象类别,风险识别时间,帮扶措施数"
ROWS = [
    "甲镇,一村,H1,张一,532328198001010011,3,脱贫户,5000,因病,,,",
    "甲镇,一村,H2,张二,,2,一般农户,5500,因残,,,",
    "甲镇,二村,H3,张三,,4,一般农户,30000,,,,",
    "甲镇,二村,H4,张四,,2,监测户,12000,,边缘易致贫户,2023-03-01,2",
    "甲镇,二村,H5,张五,,2,监测户,12000,因病,脱贫不稳定户,2023-10-01,1",
]


@pytest.fixture()
def roster(tmp_path):
    from fupin_cli.idnumber import check_char

    # 元谋县 (云南) ID numbers: the roster's region is inferred as 云南, which has a 2023 monitoring line
    rows = [r.replace("532328198001010011", "53232819800101001" + check_char("53232819800101001")) for r in ROWS]
    path = tmp_path / "roster-2023.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_json_equals_the_library(roster, tmp_path):
    out = tmp_path / "m.xlsx"
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2023", "--region", "云南", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    data = read_roster(roster)
    lib, _ = run_monitor(data.households, data.members, load_pack("monitoring-2021"), 2023, "云南")
    expected = lib.summary()
    for key in ("monitoring_status", "categories", "new_by_category", "risk_types", "elimination_methods",
                "not_eliminated_conditions", "notes"):
        assert payload[key] == expected[key], key
    assert payload["new_by_category"] == {"脱贫不稳定户": 1, "边缘易致贫户": 1, "突发严重困难户": 0}
    # one row per household, no member rows: 义务教育 / 基本医疗 (member aggregates) and 住房 / 饮水 cannot be
    # checked, so H4 (10 months, 2 measures) is not eliminated: an unchecked condition never counts as met
    assert payload["monitoring_status"]["风险消除"]["households"] == 0
    assert payload["monitoring_status"]["继续监测"]["households"] == 2
    not_evaluated = {r["rule"]: r for r in payload["provenance"]["not_evaluated"]}
    assert not_evaluated["elim_education"]["fields"] == ["has_dropout", "members"]  # neither the 辍学 flag nor member rows
    assert payload["notes"] == ["2 户的已监测月数按风险识别时间计算至 2023-12-31"]
    assert payload["provenance"]["inputs"][0]["name"] == "roster-2023.csv"
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["监测情况", "监测对象", "新纳入监测", "风险消除", "未消除", "待核实", "未消除原因",
                             "分村汇总", "风险类型", "说明"]
    unmet = list(wb["未消除"].iter_rows(values_only=True))
    assert unmet[1][2] == "H4"  # 10 months, 2 measures, but 住房 / 义务教育 / 基本医疗 / 饮水 cannot be checked
    assert "无法核实“住房安全有保障”：花名册没有是否危房列" in unmet[1][-1]
    assert unmet[2][2] == "H5"
    assert unmet[2][-1].startswith("未满足“纳入监测满规定月数”：已监测月数 3 月，低于")


def test_terminal_summary_masks_ids(roster, tmp_path):
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2023", "--region", "云南", "-o", str(tmp_path / "m.xlsx")])
    assert res.exit_code == 0, res.stderr
    assert "防止返贫监测" in res.stdout
    assert not re.search(r"\d{17}[\dX]", res.stdout + res.stderr)
    wb = openpyxl.load_workbook(tmp_path / "m.xlsx", read_only=True)
    cells = [c for row in wb["监测对象"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(c.startswith("532328********") for c in cells)
    assert not any(re.fullmatch(r"\d{17}[\dX]", c) for c in cells)


def test_english_csv_output(roster, tmp_path):
    out = tmp_path / "m.csv"
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2023", "--region", "云南", "-o", str(out), "--lang", "en", "-q"])
    assert res.exit_code == 0, res.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("township,village,household_id,head_name,head_id_masked,people")
    assert len(lines) == 1 + len(ROWS)


def test_unknown_region_is_a_rule_error(roster, tmp_path):
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2023", "--region", "火星", "-o", str(tmp_path / "m.xlsx")])
    assert res.exit_code == 3
    assert "火星" in res.stderr


def test_year_before_the_monitoring_pack(roster, tmp_path):
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2019", "-o", str(tmp_path / "m.xlsx")])
    assert res.exit_code == 3
    assert "covers the years 2021–…, not 2019" in res.stderr


def test_2023_yunnan_uses_its_provincial_line_and_says_so(roster, tmp_path):
    """Issue 9.4: 云南 2023 = 8050 [V]; the line, its region and source are in the summary."""
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2023", "--region", "云南", "-o", str(tmp_path / "m.xlsx"), "--json"])
    assert res.exit_code == 0, res.stderr
    line = json.loads(res.stdout)["monitoring_line"]
    assert (line["value"], line["year"], line["region"], line["source"], line["verified"]) == (8050, 2023, "云南", "yuanmou-2023", True)
    res = runner.invoke(app, ["monitor", str(roster), "--year", "2023", "--region", "云南", "-o", str(tmp_path / "m2.xlsx")])
    assert res.exit_code == 0, res.stderr
    assert "8,050" in res.stdout and "云南" in res.stdout and "元谋县" in res.stdout


def test_2023_without_a_provincial_line_exits_3_naming_parameter_and_region(roster, tmp_path):
    """No national monitoring line after 2021: a province value is required."""
    # a roster without ID numbers: nothing to infer a region from, so 国家 (the pack's default) or --region
    bare = tmp_path / "bare-2023.csv"
    bare.write_text("\n".join([HEADER, *(r.replace("532328198001010011", "") for r in ROWS)]) + "\n", encoding="utf-8")
    for extra, region in (([], "国家"), (["--region", "四川"], "四川")):
        res = runner.invoke(app, ["monitor", str(bare), "--year", "2023", *extra, "-o", str(tmp_path / "m.xlsx")])
        assert res.exit_code == 3, res.stdout + res.stderr
        assert "monitoring_line" in res.stderr and f"region {region}" in res.stderr
        assert "Traceback" not in res.stderr
        assert not (tmp_path / "m.xlsx").exists()
