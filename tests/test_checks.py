"""validate(): each check family on inline rosters (one clean household, one change at a time)."""

from __future__ import annotations

import pandas as pd
import pytest
from checks_helpers import (
    FILE,
    HEAD_ID,
    REF,
    SHEET,
    SON_ID,
    WIFE_ID,
    YEAR,
    household,
    make_id,
    make_roster,
    members,
    only,
    run,
)

from fupin_cli.checks import BUILTIN_CHECKS, CHECKS, exit_code, report, summarise, validate
from fupin_cli.findings import FINDING_COLUMNS, make_findings


def test_clean_household_has_no_findings():
    f = run()
    assert list(f.columns) == FINDING_COLUMNS
    assert len(f) == 0
    assert exit_code(f) == 0


def test_every_emitted_check_is_in_the_catalog():
    assert len(BUILTIN_CHECKS) >= 20
    for info in CHECKS.values():
        assert info.severity in ("error", "warning", "info") and info.label and info.hint


# ---------------------------------------------------------------------------------------
# ID numbers
# ---------------------------------------------------------------------------------------
def test_id_checksum_error_names_row_column_and_masks():
    m = members()
    m[1]["id_number"] = WIFE_ID[:-1] + ("0" if WIFE_ID[-1] != "0" else "1")
    f = run(member_rows=m, headers={"id_number": "身份证号码"})
    rows = only(f, "id.checksum")
    assert len(rows) == 1
    sev, row, col, hid, msg = rows[0]
    assert (sev, row, col, hid) == ("error", 4, "身份证号码", "H1")
    assert msg.startswith("证件号码 500101********") and "校验位错误" in msg
    assert WIFE_ID[:17] not in msg
    assert f.loc[f["check"] == "id.checksum", "hint"].iloc[0] == CHECKS["id.checksum"].hint
    assert exit_code(f) == 1


@pytest.mark.parametrize("value, check, severity", [
    ("5.00101E+17", "id.excel_number", "error"),
    ("50010119720308022", "id.length", "error"),
    ("50010119721308022X", "id.birth_date", "error"),
    ("5001011972O308022X", "id.characters", "error"),
])
def test_id_problem_kinds(value, check, severity):
    m = members()
    m[1]["id_number"] = value
    f = run(member_rows=m)
    got = only(f, check)
    assert [(s, r, c) for s, r, c, _, _ in got] == [(severity, 4, "证件号码")]


def test_15_digit_id_is_a_warning_with_the_upgraded_number_masked():
    m = members()
    m[0]["id_number"] = "500101700501011"
    m[0]["birth_date"] = None
    f = run(member_rows=m, households=[household(head_id_number=None)])
    assert only(f, "id.upgraded_15") == [
        ("warning", 3, "证件号码", "H1", "15 位旧证件号码 500101*****1011，已升级为 18 位 " + "500101********" + make_id("1970-05-01", 11)[-4:])]
    assert exit_code(f) == 0


def test_disability_number_in_id_column_is_info():
    m = members()
    m[0]["id_number"] = HEAD_ID + "14"
    f = run(member_rows=m)
    assert [(s, r) for s, r, *_ in only(f, "id.disability")] == [("info", 3)]


def test_head_id_number_on_household_is_checked_too():
    f = run(households=[household(head_id_number="5.00101E+17")], headers={"head_id_number": "户主身份证号"})
    assert [(s, r, c) for s, r, c, _, _ in only(f, "id.excel_number")] == [("error", 3, "户主身份证号")]


def test_sex_from_id_disagrees_with_recorded_sex():
    m = members()
    m[1]["sex"] = "男"
    m[1]["relation"] = "其他"  # keep relation/spouse checks quiet
    f = run(member_rows=m)
    assert only(f, "id.sex_mismatch") == [
        ("error", 4, "性别", "H1", f"性别 男，证件号码 500101********{WIFE_ID[-4:]} 为女")]


def test_birth_date_disagrees_with_id_but_month_only_dates_pass():
    m = members()
    m[0]["birth_date"] = "1971-05-01"
    m[1]["birth_date"] = "1972-03-01"  # 出生年月 1972-03 read as the 1st: same month, no finding
    f = run(member_rows=m)
    assert only(f, "id.birth_mismatch") == [
        ("error", 3, "出生日期", "H1", f"出生日期 1971-05-01，证件号码 500101********{HEAD_ID[-4:]} 为 1970-05-01")]


def test_same_person_in_two_households_and_twice_in_one():
    h2 = household(household_id="H2", head_name="王五", head_id_number=make_id("1960-01-01", 51), _row=6)
    m2 = members("H2", 6)
    m2[0].update(name="王五", id_number=make_id("1960-01-01", 51), birth_date="1960-01-01")
    m2[1].update(id_number=make_id("1961-02-02", 62), birth_date="1961-02-02")
    m2[2].update(id_number=SON_ID.lower())  # the son of H1 again, lower-case x or not
    m1 = members()
    m1.append(dict(m1[1], _row=99))  # the wife twice in H1
    f = run(households=[household(household_size=4), h2], member_rows=m1 + m2)
    across = only(f, "id.duplicate_household")
    assert [(r, hid) for _, r, _, hid, _ in across] == [(5, "H1"), (8, "H2")]
    assert across[0][4] == f"证件号码 500101********{SON_ID[-4:]} 登记在多户：H1、H2"
    within = only(f, "id.duplicate_member")
    assert [(r, msg) for _, r, _, _, msg in within] == [
        (4, f"证件号码 500101********{WIFE_ID[-4:]} 在本户重复登记（第 4、99 行）"),
        (99, f"证件号码 500101********{WIFE_ID[-4:]} 在本户重复登记（第 4、99 行）")]


# ---------------------------------------------------------------------------------------
# required columns and values
# ---------------------------------------------------------------------------------------
def test_missing_required_column_reported_once():
    f = run(drop=("health",))
    assert only(f, "required.column") == [("error", None, "健康状况", "", "缺少必填列“健康状况”（health），相关检查已跳过")]
    assert f.loc[f["check"] == "required.column", "file"].tolist() == [FILE]


def test_missing_required_values_and_age_limited_fields():
    m = members()
    m[0]["name"] = None
    m[2]["labour"] = None  # 10 years old: 劳动技能 not required
    m[1]["labour"] = None  # 42: required
    m[2]["school_status"] = None  # 10: required (6–23)
    f = run(member_rows=m)
    assert only(f, "required.value") == [
        ("error", 3, "姓名", "H1", "姓名为空"),
        ("error", 4, "劳动技能", "H1", "劳动技能为空（16–65 岁应填）"),
        ("error", 5, "在校生状况", "H1", "在校生状况为空（10 岁，6–23 岁应填）"),
    ]


def test_missing_household_required_value():
    f = run(households=[household(village=None)])
    assert only(f, "required.value") == [("error", 3, "行政村", "H1", "行政村为空")]


def test_recommended_values_are_warnings():
    m = members()
    m[1]["ethnicity"] = None
    m[1]["education"] = None
    m[2]["education"] = None  # a student: not needed
    f = run(member_rows=m, households=[household(recorded_primary_cause=None)])
    assert only(f, "recommended.value") == [
        ("warning", 3, "原主要致贫原因", "H1", "主要致贫原因为空（贫困户属性 一般贫困户）"),
        ("warning", 4, "文化程度", "H1", "文化程度为空（非在校生应填）"),
        ("warning", 4, "民族", "H1", "民族为空"),
    ]


def test_disabled_without_certificate():
    m = members()
    for r in m:
        r["disability_cert"] = None
    m[0]["health"] = "残疾"
    f = run(member_rows=m)
    assert [(s, r) for s, r, *_ in only(f, "required.disability_cert")] == [("warning", 3)]


def test_household_layout_skips_member_columns():
    f = run(member_rows=[])
    assert only(f, "required.column") == []
    assert len(f) == 0


# ---------------------------------------------------------------------------------------
# household structure
# ---------------------------------------------------------------------------------------
def test_household_size_mismatch():
    f = run(households=[household(household_size=4, income_per_capita=2125.0)])
    assert only(f, "household.size_mismatch") == [("error", 3, "家庭人口数", "H1", "家庭人口数 4，花名册中成员 3 人")]


def test_household_size_invalid():
    f = run(households=[household(household_size=0, income_per_capita=None)])
    assert only(f, "household.size_invalid") == [("error", 3, "家庭人口数", "H1", "家庭人口数为 0")]


def test_duplicate_household_id_in_household_layout():
    f = run(households=[household(), household(_row=4)], member_rows=[])
    assert [(r, msg) for _, r, _, _, msg in only(f, "household.duplicate_id")] == [(3, "户编号 H1 出现 2 次"), (4, "户编号 H1 出现 2 次")]


def test_no_head_and_two_heads():
    m = members()
    m[0]["relation"] = "其他"
    f = run(member_rows=m)
    assert only(f, "household.no_head") == [("error", 3, "与户主关系", "H1", "本户没有与户主关系为“户主”的成员")]
    m = members()
    m[1]["relation"] = "户主"
    f = run(member_rows=m)
    assert [(r, msg) for _, r, _, _, msg in only(f, "household.multiple_heads")] == [(3, "本户有 2 名户主"), (4, "本户有 2 名户主")]


def test_head_and_spouse_of_the_same_sex():
    m = members()
    m[1].update(sex="男", id_number=make_id("1972-03-08", 23))
    f = run(member_rows=m)
    assert only(f, "household.head_spouse_same_sex") == [("error", 4, "性别", "H1", "户主与配偶性别均为男")]


def test_head_name_and_id_on_household_against_head_member():
    other = make_id("1970-05-01", 13)
    f = run(households=[household(head_name="张叁", head_id_number=other)])
    assert only(f, "household.head_name_mismatch") == [
        ("warning", 3, "户主姓名", "H1", "户主姓名 张叁，与户主关系为“户主”的成员为 张三")]
    assert only(f, "household.head_id_mismatch") == [
        ("warning", 3, "户主证件号码", "H1", f"户主证件号码 500101********{other[-4:]}，户主成员的证件号码为 500101********{HEAD_ID[-4:]}")]


# ---------------------------------------------------------------------------------------
# members
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("relation, sex", [("之子", "女"), ("之女", "男"), ("之父", "女"), ("之母", "男"), ("之儿媳", "男"), ("之女婿", "女")])
def test_relation_contradicts_sex(relation, sex):
    m = members()
    m[2].update(relation=relation, sex=sex, id_number=None)
    f = run(member_rows=m)
    assert only(f, "member.relation_sex") == [("error", 5, "与户主关系", "H1", f"与户主关系 {relation}，性别 {sex}")]


def test_relation_checked_against_id_sex_when_no_sex_column():
    m = members()
    m[2]["relation"] = "之女"
    f = run(member_rows=m, drop=("sex",))
    assert only(f, "member.relation_sex") == [("error", 5, "与户主关系", "H1", "与户主关系 之女，性别 男")]


@pytest.mark.parametrize("birth, school, flagged", [
    ("1990-01-01", "小学", True),  # 25 in primary school
    ("1995-06-01", "小学", True),  # 20
    ("1996-06-01", "小学", False),  # 19
    ("2002-01-01", "高中一年级", True),  # 13 in senior secondary
    ("2001-01-01", "中职一年级", False),  # 14 → flagged? no: 2015 − 2001 = 14 → flagged
    ("2000-01-01", "高中一年级", False),  # 15
    ("2007-01-01", "学前教育", False),  # 8 → flagged
])
def test_age_against_school_stage(birth, school, flagged):
    m = members()
    m[2].update(birth_date=birth, id_number=make_id(birth, 31), school_status=school)
    f = run(member_rows=m)
    age = YEAR - int(birth[:4])
    expected_flag = flagged or (school in ("高中一年级", "中职一年级") and age <= 14) or (school == "学前教育" and age >= 8)
    got = only(f, "member.age_school")
    assert got == ([("warning", 5, "在校生状况", "H1", f"{age} 岁，在校生状况为 {school}")] if expected_flag else [])


def test_compulsory_age_child_not_in_school():
    m = members()
    m[2]["school_status"] = "非在校生"
    f = run(member_rows=m, households=[household(recorded_primary_cause="因病")])
    assert only(f, "member.compulsory_not_in_school") == [("warning", 5, "在校生状况", "H1", "10 岁，在校生状况为非在校生")]


def test_healthy_working_age_without_labour():
    m = members()
    m[1]["labour"] = "丧失劳动力"
    f = run(member_rows=m)
    assert only(f, "member.healthy_no_labour") == [("warning", 4, "劳动技能", "H1", "43 岁，健康状况 健康，劳动技能 丧失劳动力")]
    m[1].update(labour="无劳动力", school_status="大专及以上")  # a student without labour is normal
    assert only(run(member_rows=m), "member.healthy_no_labour") == []


def test_work_months_and_work_without_labour():
    m = members()
    m[0]["work_months"] = 13.0
    m[1].update(work_status="县外省内务工", work_months=0.0, labour="无劳动力")
    f = run(member_rows=m)
    assert only(f, "member.work_months_range") == [("error", 3, "务工时间", "H1", "务工时间 13 个月")]
    assert only(f, "member.work_no_months") == [("warning", 4, "务工时间", "H1", "务工状况 县外省内务工，务工时间 0 个月")]
    assert only(f, "member.work_no_labour") == [("warning", 4, "务工状况", "H1", "劳动技能 无劳动力，但务工状况 县外省内务工")]


def test_age_over_110_or_born_after_the_year():
    m = members()
    m[2].update(birth_date="2016-03-01", id_number=make_id("2016-03-01", 31), school_status="学前教育")
    f = run(member_rows=m)
    assert only(f, "member.age_invalid") == [("warning", 5, "出生日期", "H1", "按出生日期计算，2015 年底年龄为 -1 岁")]


def test_age_defaults_to_the_id_when_no_birth_date_column():
    m = members()
    m[2]["school_status"] = "非在校生"
    f = run(member_rows=m, drop=("birth_date",))
    assert [(r, msg) for _, r, _, _, msg in only(f, "member.compulsory_not_in_school")] == [(5, "10 岁，在校生状况为非在校生")]


def test_year_changes_ages():
    m = members()
    m[2]["school_status"] = "非在校生"
    assert only(run(member_rows=m, year=2022), "member.compulsory_not_in_school") == []  # 17 in 2022


# ---------------------------------------------------------------------------------------
# summary, report, extra checks
# ---------------------------------------------------------------------------------------
def test_summary_counts_and_order():
    m = members()
    m[1]["id_number"] = WIFE_ID[:-1] + ("0" if WIFE_ID[-1] != "0" else "1")
    m[1]["ethnicity"] = None
    f = run(member_rows=m, households=[household(business_expense=0.0, net_income=9000.0, income_per_capita=3000.0)])
    s = summarise(f)
    assert (s["total"], s["error"], s["warning"], s["info"], s["households_with_errors"]) == (3, 1, 1, 1, 1)
    assert [(c["check"], c["severity"], c["count"]) for c in s["by_check"]] == [
        ("id.checksum", "error", 1), ("recommended.value", "warning", 1), ("income.business_no_expense", "info", 1)]
    assert s["by_check"][0]["label"] == "证件号码校验位错误"


def test_report_is_json_ready():
    import json

    roster = make_roster([household()], members())
    f = validate(roster, YEAR, ref_date=REF)
    payload = report(roster, f, YEAR)
    assert payload["summary"]["year"] == YEAR and payload["summary"]["exit_code"] == 0
    assert payload["roster"]["households"] == 1 and payload["roster"]["members"] == 3
    assert payload["roster"]["sources"][0]["name"] == FILE
    json.dumps(payload, ensure_ascii=False)


def test_extra_checks_run_after_builtins():
    def big_family(ctx):
        hh = ctx.households
        return ctx.emit("pack.big_family", hh, hh["household_size"] >= 3, "household_size", "家庭人口数 ≥ 3",
                        severity="error", hint="核对")

    f = run(extra_checks=[big_family, lambda ctx: None])
    assert only(f, "pack.big_family") == [("error", 3, "家庭人口数", "H1", "家庭人口数 ≥ 3")]
    assert f["hint"].tolist() == ["核对"]


def test_reader_notes_are_included():
    roster = make_roster([household()], members())
    roster.notes = make_findings([{"severity": "warning", "check": "read.unknown_column", "file": FILE, "sheet": SHEET,
                                   "row": 2, "column": "备注", "message": "未识别的列“备注”", "hint": "忽略"}])
    f = validate(roster, YEAR, ref_date=REF)
    assert f["check"].tolist() == ["read.unknown_column"]


def test_findings_sorted_by_row_and_stable_under_member_order():
    m = members()
    m[0]["work_months"] = 13.0
    m[2]["labour"] = None
    m[2]["school_status"] = "非在校生"
    a = run(member_rows=m)
    b = run(member_rows=list(reversed(m)))
    assert a["row"].tolist() == sorted(a["row"].tolist())
    pd.testing.assert_frame_equal(a, b)
