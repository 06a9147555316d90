"""`fupin validate` end to end on generated roster files (the sample generator plants faults
and says on which Excel row and column each lands)."""

from __future__ import annotations

import json
import re

import openpyxl
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from fupin_cli.checks import pack_checks, report, validate
from fupin_cli.cli.app import app
from fupin_cli.cli.render import findings_table, frame_table, truncation_note
from fupin_cli.engine import load_pack
from fupin_cli.io.read import read_roster
from fupin_cli.io.write_roster import write_roster
from fupin_cli.samples.generate import generate_roster

runner = CliRunner()
YEAR = 2015
FULL_ID = re.compile(r"(?<![0-9])\d{17}[\dX](?![0-9])")

# planted fault (samples/truth.py) → the check that must report it on the same row
FAULT_CHECKS = {
    "id.checksum": "id.checksum",
    "id.15_digit": "id.upgraded_15",
    "person.duplicate": "id.duplicate_household",
    "household.size_mismatch": "household.size_mismatch",
    "member.missing_required": "required.value",
    "income.net_mismatch": "income.net_mismatch",
    "income.per_capita_mismatch": "income.per_capita_mismatch",
    "relation.spouse_same_sex": "household.head_spouse_same_sex",
    "relation.son_female": "member.relation_sex",
    "school.adult_in_primary": "member.age_school",
    "school.child_in_senior": "member.age_school",
    "labour.healthy_no_labour": "member.healthy_no_labour",
    "household.no_head": "household.no_head",
    "household.two_heads": "household.multiple_heads",
    "dibao.no_member": "assist.dibao_no_member",
    "cause.illness_all_healthy": "cause.ill_all_healthy",
    "cause.school_no_student": "cause.study_no_student",
    "cause.disability_none_disabled": "cause.disabled_nobody",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("validate")
    messy, truth = generate_roster(150, 7, YEAR, messy=True)
    write_roster(messy, d / "messy.xlsx", layout="template")
    clean, _ = generate_roster(40, 3, YEAR)
    write_roster(clean, d / "clean.csv", layout="member")
    res = runner.invoke(app, ["validate", str(d / "messy.xlsx"), "--year", str(YEAR), "--json"])
    return {"dir": d, "messy": d / "messy.xlsx", "clean": d / "clean.csv", "truth": truth, "json": res}


def invoke(*args):
    return runner.invoke(app, ["validate", *map(str, args)])


def test_json_equals_the_library_result_and_exit_1(files):
    res = files["json"]
    assert res.exit_code == 1, res.stderr
    got = json.loads(res.stdout)
    # the pack's checks follow the region, resolved as every command does (cli/run.py settle): 重庆 → chongqing
    choice = got["summary"].pop("choice")
    assert (choice["region"], choice["region_source"], choice["pack"], choice["pack_source"]) == ("重庆", "inferred", "chongqing", "inferred")
    roster = read_roster(files["messy"])
    pack = load_pack("chongqing")
    checks = [pack_checks(pack, "重庆")]
    lib = report(roster, validate(roster, YEAR, checks), YEAR, labels=checks[0].labels, pack=pack.ident)
    want = json.loads(json.dumps(lib, ensure_ascii=False, default=str))
    assert set(got) == {"summary", "findings", "roster", "outputs", "warnings", "provenance"}  # + the envelope
    assert got["outputs"] == [] and got["provenance"]["command"] == "validate"
    assert got["provenance"]["inputs"][0]["name"] == files["messy"].name and got["provenance"]["year"] == YEAR
    assert {k: v for k, v in got.items() if k in want} == want
    assert got["summary"]["pack"] == "chongqing@" + pack.version and got["summary"]["year_source"] == "option"
    assert got["summary"]["error"] > 0 and got["summary"]["exit_code"] == 1
    assert not FULL_ID.search(res.stdout)


def test_every_planted_fault_is_found_on_its_excel_row(files):
    res = files["json"]
    found = {(f["check"], f["row"], f["household_id"]) for f in json.loads(res.stdout)["findings"]}
    faults = files["truth"].faults
    checked = 0
    for fault in faults.itertuples(index=False):
        check = FAULT_CHECKS.get(fault.fault)
        if check is None:
            continue
        checked += 1
        assert (check, int(fault.row), fault.household_id) in found, (fault.fault, fault.row)
    assert checked == len(FAULT_CHECKS)


def test_clean_roster_exits_0_and_prints_summary(files):
    res = invoke(files["clean"], "--year", YEAR)
    assert res.exit_code == 0, res.stderr
    assert "clean.csv: 40 户" in res.stdout
    assert "疑点汇总" in res.stdout and "错误" in res.stdout


def test_terminal_output_masks_ids_and_lists_findings(files):
    res = invoke(files["messy"], "--year", YEAR, "--max-rows", "500")
    assert res.exit_code == 1
    assert "疑点明细" in res.stdout and "按检查项" in res.stdout
    assert not FULL_ID.search(res.stdout) and not FULL_ID.search(res.stderr)
    assert "个错误" in res.stderr


def test_max_rows_0_and_quiet(files):
    res = invoke(files["clean"], "--year", YEAR, "--max-rows", "0")
    assert "疑点明细" not in res.stdout and "疑点汇总" in res.stdout
    res = invoke(files["clean"], "--year", YEAR, "--quiet")
    assert res.exit_code == 0 and res.stdout == ""


def test_output_xlsx_has_chinese_headers_and_needs_force(files):
    target = files["dir"] / "findings.xlsx"
    res = invoke(files["messy"], "--year", YEAR, "-o", target, "--quiet")
    assert res.exit_code == 1, res.stderr
    wb = openpyxl.load_workbook(target, read_only=True)
    assert wb.sheetnames[0] == "疑点"
    rows = list(wb["疑点"].iter_rows(values_only=True))
    assert list(rows[0])[:10] == ["级别", "检查项", "检查项说明", "文件", "工作表", "行号", "列", "户编号", "问题", "修改建议"]
    n = json.loads(files["json"].stdout)["summary"]["total"]
    assert len([r for r in rows[1:] if r[0]]) == n
    assert {r[0] for r in rows[1:] if r[0]} <= {"错误", "警告", "提示"}
    res = invoke(files["messy"], "--year", YEAR, "-o", target)
    assert res.exit_code == 2 and "--force" in res.stderr
    assert invoke(files["clean"], "--year", YEAR, "-o", target, "--force", "--quiet").exit_code == 0


def test_output_csv_in_english(files):
    target = files["dir"] / "findings-en.csv"
    res = invoke(files["clean"], "--year", YEAR, "-o", target, "--lang", "en", "--quiet")
    assert res.exit_code == 0, res.stderr
    df = pd.read_csv(target, dtype=str, encoding="utf-8-sig")
    assert list(df.columns) == ["severity", "check", "description", "file", "sheet", "row", "column", "household_id", "message", "hint"]
    assert set(df["severity"]) <= {"warning", "info"}


def test_bad_output_suffix_is_usage_error(files):
    res = invoke(files["clean"], "-o", files["dir"] / "x.docx")
    assert res.exit_code == 2


def test_unreadable_input_exits_4(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a workbook")
    res = invoke(bad)
    assert res.exit_code == 4
    assert res.stderr.startswith("错误:") and "Traceback" not in res.stderr


def test_missing_file_is_usage_error(tmp_path):
    assert invoke(tmp_path / "nope.xlsx").exit_code == 2


# ---- render helpers ---------------------------------------------------------------------
def _text(renderable) -> str:
    console = Console(width=300, record=True)
    console.print(renderable)
    return console.export_text()


def test_frame_table_masks_id_columns_and_ids_in_text():
    df = pd.DataFrame({"证件号码": ["11010519491231002X"], "备注": ["户主 11010519491231002X 已核实"],
                       "id_number": ["110105491231002"], "人均纯收入": [2310.0]})
    text = _text(frame_table(df, title="t"))
    assert "11010519491231002X" not in text and "110105491231002 " not in text
    assert text.count("110105********002X") == 2 and "110105*****1002" in text and "2,310" in text


def test_frame_table_shows_max_rows_and_the_note_says_so():
    df = pd.DataFrame({"a": range(30)})
    text = _text(frame_table(df, max_rows=5))
    assert "│ 4 │" in text and "│ 5 │" not in text
    assert truncation_note(30, 5) == "仅显示前 5 行，共 30 行 (first 5 of 30 rows)"
    assert truncation_note(5, 5) is None and truncation_note(5, None) is None


def test_findings_table_english_labels():
    f = pd.DataFrame([{"severity": "error", "check": "id.checksum", "sheet": "S", "row": 3, "column": "证件号码",
                       "household_id": "H1", "message": "m"}])
    text = _text(findings_table(f, lang="en"))
    assert "error" in text and "household_id" in text
    assert "错误" in _text(findings_table(f)) and "户编号" in _text(findings_table(f))


# ---- round 2: year, pack, width ----------------------------------------------------------
def test_year_defaults_to_the_roster_and_is_said(files):
    res = invoke(files["messy"], "--json", "--no-pack")
    s = json.loads(res.stdout)["summary"]
    assert (s["year"], s["year_source"], s["year_reason"], s["pack"]) == (YEAR, "roster", "花名册“年度”列", None)
    assert not any(c["check"].startswith("chk_") for c in s["by_check"])
    res = invoke(files["messy"], "--max-rows", "0")
    assert "年度 2015（花名册“年度”列）；规则包 chongqing@" in res.stdout
    assert "地区 重庆：由花名册推断：“省”列" in res.stdout


def test_pack_checks_run_by_default_and_no_pack_skips_them(files):
    with_pack = json.loads(invoke(files["messy"], "--json").stdout)["summary"]
    without = json.loads(invoke(files["messy"], "--json", "--no-pack").stdout)["summary"]
    extra = {c["check"]: c["label"] for c in with_pack["by_check"] if c["check"].startswith("chk_")}
    assert extra and all(label != check for check, label in extra.items())
    assert with_pack["total"] == without["total"] + sum(c["count"] for c in with_pack["by_check"] if c["check"] in extra)
    res = invoke(files["messy"], "--pack", "national-2014", "--no-pack")
    assert res.exit_code == 2 and "--no-pack" in res.stderr


def test_unknown_pack_is_a_rule_error(files):
    res = invoke(files["messy"], "--pack", "no-such-pack")
    assert res.exit_code == 3, res.stderr


def test_piped_tables_are_wide_enough_to_read(files):
    res = invoke(files["messy"], "--max-rows", "30")
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) > 80  # not squeezed into 80 columns
    assert any("household.multiple_heads" in line for line in lines)  # check ids are not folded
    assert any("合计/小计行已跳过" in line for line in lines)  # reader notes have labels
    assert not FULL_ID.search(res.stdout)
