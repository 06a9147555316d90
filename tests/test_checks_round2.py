"""Round-2 validate features: the default year, labels of reader notes, pack check rules,
帮扶责任人 and 脱贫户两不愁三保障 checks."""

from __future__ import annotations

import datetime as dt

import pytest
from checks_helpers import FILE, REF, SON_ID, YEAR, household, make_roster, members, only, run

from fupin_cli.checks import CHECKS, choose_year, label_of, pack_checks, summarise, validate
from fupin_cli.checks.year import year_in_text
from fupin_cli.engine import load_pack
from fupin_cli.findings import make_findings


# ---- the year -------------------------------------------------------------------------
def test_year_from_the_roster_column_then_title_then_today():
    roster = make_roster([household(year=2016)], members())
    assert choose_year(roster).as_dict() == {"year": 2016, "source": "roster", "reason": "花名册“年度”列"}
    assert choose_year(roster, 2014).source == "option"
    roster = make_roster([household(year=2016), household(household_id="H2", year=2017)], members())
    roster.sources[0].title = "丰都县2015年建档立卡贫困户花名册 填报日期：2016年1月5日"
    c = choose_year(roster)  # two years in the column: the title decides
    assert (c.year, c.source, c.reason) == (2015, "title", "表头上方的标题“丰都县2015年建档立卡贫困户花名册”")
    roster.sources[0].title = ""
    assert choose_year(roster, today=dt.date(2031, 3, 1)).as_dict()["year"] == 2031


def test_year_in_text_prefers_a_year_that_is_not_a_date():
    assert year_in_text("填报日期：2016年1月5日 XX县2015年花名册") == (2015, "XX县2015年花名册")
    assert year_in_text("填报日期：2016年1月5日") == (2016, "填报日期：2016年1月5日")
    assert year_in_text("花名册 3000年") is None and year_in_text("") is None


def test_validate_without_year_uses_the_roster_year():
    m = members()
    m[2].update(birth_date="2005-09-01")
    roster = make_roster([household(year=2006)], m)
    f = validate(roster, ref_date=REF)  # aged 1 in 2006: the 小学 pupil is too young
    assert only(f, "member.age_school") == [("warning", 5, "在校生状况", "H1", "1 岁，在校生状况为 小学")]


# ---- labels --------------------------------------------------------------------------
@pytest.mark.parametrize("check", ["read.total_row", "read.blank_row", "id.stored_as_number", "read.bad_value",
                                   "read.unknown_code", "read.no_household", "read.household_conflict",
                                   "read.unknown_columns", "read.passthrough", "read.repeated_header"])
def test_reader_notes_have_chinese_labels(check):
    assert label_of(check) != check and CHECKS[check].label
    notes = make_findings([{"severity": "info", "check": check, "file": FILE, "row": 9, "message": "x"}])
    assert summarise(notes)["by_check"][0]["label"] == CHECKS[check].label


def test_extra_labels_for_pack_checks():
    assert label_of("chk_x", {"chk_x": "自定义"}) == "自定义" and label_of("chk_y") == "chk_y"


# ---- pack check rules ------------------------------------------------------------------
@pytest.fixture(scope="module")
def national():
    return load_pack("national-2014")


def test_pack_checks_household_and_member_level_with_columns(national):
    m = members()
    m[1].update(sex="男")  # a 配偶 male: built-in checks only (the pack's relation rules are duplicates)
    hh = household(arable_land=400.0, road_distance_km=80.0)
    roster = make_roster([hh], m, headers={"arable_land": "耕地面积(亩)"})
    check = pack_checks(national)
    f = validate(roster, YEAR, [check], ref_date=REF)
    assert only(f, "chk_arable_land_pc") == [("warning", 3, "耕地面积(亩)", "H1",
                                              "人均耕地面积超过疑点上限（人均耕地面积 133.33 亩，高于疑点：人均耕地上限 50 亩（2010，国家））")]
    assert [r[:4] for r in only(f, "chk_road_distance")] == [("warning", 3, "与村主干路距离", "H1")]
    assert not f["check"].isin(["chk_member_relation_sex_male", "chk_member_relation_sex_female"]).any()
    assert check.labels["chk_arable_land_pc"] == "人均耕地面积过大"
    assert summarise(f, check.labels)["by_check"][0]["label"] in set(check.labels.values()) | {c.label for c in CHECKS.values()}


def test_member_level_pack_check_does_not_crash(national):
    """engine.decide.check_findings on a member-level check (was: 'assignment destination is read-only')."""
    m = members()
    m[2].update(school_status="高中一年级", birth_date="2005-09-01")
    roster = make_roster([household()], m)
    f = validate(roster, 2015, [pack_checks(national)], ref_date=REF)
    # chk_member_young_senior_school names the built-in member.age_school (issue 9.6): that is what runs
    assert national.rule("chk_member_young_senior_school").builtin == "member.age_school"
    assert [r[:4] for r in only(f, "member.age_school")] == [("warning", 5, "在校生状况", "H1")]
    assert not len(only(f, "chk_member_young_senior_school"))


# ---- 帮扶责任人 ---------------------------------------------------------------------------
def test_poor_household_without_responsible_person():
    f = run(households=[household(responsible_person=None), household(household_id="H2", recorded_attribute="一般农户",
                                                                     responsible_person=None, _row=9)],
            member_rows=members() + members("H2", 9))
    assert only(f, "assist.no_responsible_person") == [("warning", 3, "帮扶责任人", "H1", "贫困户（一般贫困户）未填帮扶责任人")]


def test_no_responsible_check_without_the_column():
    assert only(run(), "assist.no_responsible_person") == []


def test_responsible_person_is_a_poor_member_by_name_and_by_id():
    hh = [household(responsible_person="王五"),
          household(household_id="H2", recorded_attribute="一般农户", responsible_person="张三", _row=9)]
    f = run(households=hh, member_rows=members() + members("H2", 9))
    assert only(f, "assist.responsible_is_poor") == [
        ("warning", 9, "帮扶责任人", "H2", "帮扶责任人 张三 的姓名与贫困户 H1 的成员相同（同名，请核实是否同一人）")]
    hh[1]["responsible_id_number"] = SON_ID
    hh[0]["responsible_id_number"] = None
    f = run(households=hh, member_rows=members() + members("H2", 9))
    assert only(f, "assist.responsible_is_poor") == [
        ("warning", 9, "帮扶责任人证件号码", "H2", "帮扶责任人 张三 的证件号码与贫困户 H1 的成员相同（同一人）")]


# ---- 脱贫户未解决两不愁三保障 ----------------------------------------------------------------
def test_exited_household_with_unsolved_guarantees():
    m = members()
    m[0]["critical_illness_insurance"] = False  # 长期慢性病, no 大病保险
    hh = household(exit_status="已脱贫", unsafe_housing=True, safe_water=False)
    f = run(households=[hh], member_rows=m)
    assert only(f, "exit.unsolved_guarantees") == [(
        "warning", 3, "脱贫状态", "H1",
        "脱贫户未解决两不愁三保障：住房（是否危房 是）、饮水（未解决安全饮水）、医疗（1 名患病成员未参加大病保险）")]
    hh.update(exit_status="未脱贫")
    assert only(run(households=[hh], member_rows=m), "exit.unsolved_guarantees") == []


def test_exited_household_with_a_dropout():
    m = members()
    m[2].update(school_status="非在校生", dropout=True)
    f = run(households=[household(exit_status="脱贫", unsafe_housing=False, safe_water=True)], member_rows=m)
    assert only(f, "exit.unsolved_guarantees") == [
        ("warning", 3, "脱贫状态", "H1", "脱贫户未解决两不愁三保障：义务教育（1 名适龄儿童辍学）")]


def test_every_new_check_is_labelled():
    for check in ("assist.no_responsible_person", "assist.responsible_is_poor", "exit.unsolved_guarantees"):
        assert CHECKS[check].severity == "warning" and CHECKS[check].label


def test_report_says_which_year_and_why():
    from fupin_cli.checks import report

    roster = make_roster([household(year=2015)], members())
    payload = report(roster, validate(roster, ref_date=REF), labels={}, pack=None)
    s = payload["summary"]
    assert (s["year"], s["year_source"], s["year_reason"], s["pack"]) == (2015, "roster", "花名册“年度”列", None)
