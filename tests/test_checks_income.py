"""validate(): income arithmetic and ranges, 低保/特困 consistency, recorded 致贫原因 vs members."""

from __future__ import annotations

import pandas as pd
import pytest
from checks_helpers import household, make_roster, members, only, run


# ---------------------------------------------------------------------------------------
# income
# ---------------------------------------------------------------------------------------
def test_net_income_within_one_yuan_passes_and_beyond_fails():
    assert only(run(households=[household(net_income=8501.0, income_per_capita=2833.67)]), "income.net_mismatch") == []
    f = run(households=[household(net_income=9500.0, income_per_capita=3166.67)])
    assert only(f, "income.net_mismatch") == [(
        "error", 3, "纯收入", "H1",
        "纯收入 9,500，按各项计算为 8,500（工资性 6,000 + 经营性 2,000 + 财产性 0 + 转移性 1,000 − 经营支出 500）")]


def test_net_income_skipped_without_all_component_columns():
    f = run(households=[household(net_income=1.0, income_per_capita=0.33)], drop=("property_income",))
    assert only(f, "income.net_mismatch") == []


@pytest.mark.parametrize("pc, flagged", [(2833.33, False), (2834.3, False), (2848.0, True), (2800.0, True)])
def test_per_capita_tolerance_is_1_yuan_or_half_a_percent(pc, flagged):
    f = run(households=[household(income_per_capita=pc)])
    got = only(f, "income.per_capita_mismatch")
    assert bool(got) is flagged
    if flagged:
        assert got[0][4] == f"人均纯收入 {pc:,.0f}，纯收入 8,500 ÷ 家庭人口数 3 = 2,833.33"


@pytest.mark.parametrize("pc, flagged", [(0.0, True), (-5.0, True), (100000.0, False), (100001.0, True)])
def test_per_capita_range(pc, flagged):
    f = run(households=[household(net_income=pc * 3, wage_income=pc * 3 + 500 - 3000, income_per_capita=pc)])
    assert [s for s, *_ in only(f, "income.per_capita_range")] == (["warning"] if flagged else [])


def test_small_amounts_and_business_without_expense():
    hh = household(wage_income=200.0, business_expense=0.0, net_income=3200.0, income_per_capita=1066.67,
                   transfer_income=1000.0, dibao_benefit=150.0, pension_benefit=80.0)
    f = run(households=[hh])
    assert only(f, "income.wage_small") == [("warning", 3, "工资性收入", "H1", "工资性收入 200 元（0–300 元之间）")]
    assert only(f, "income.business_no_expense") == [("info", 3, "生产经营性支出", "H1", "生产经营性收入 2,000，生产经营性支出为 0")]
    assert [m for *_, m in only(f, "income.small_benefit")] == ["低保金 150 元（低于 200 元）", "养老保险金 80 元（低于 88 元）"]


def test_transfer_smaller_than_its_parts_and_negative_values():
    hh = household(transfer_income=100.0, dibao_benefit=600.0, business_expense=-500.0, net_income=8100.0, income_per_capita=2700.0)
    f = run(households=[hh])
    assert only(f, "income.transfer_parts") == [
        ("warning", 3, "转移性收入", "H1", "转移性收入 100，其分项（低保金、特困供养金）合计 600")]
    assert only(f, "income.negative") == [("error", 3, "生产经营性支出", "H1", "生产经营性支出 -500")]


def test_text_amounts_are_parsed():
    from checks_helpers import REF, YEAR

    from fupin_cli.checks import validate

    roster = make_roster([household()], members())
    roster.households["net_income"] = pd.Series(["9,500"], dtype="str")  # an unparsed text cell
    f = validate(roster, YEAR, ref_date=REF)
    assert [m[:16] for *_, m in only(f, "income.net_mismatch")] == ["纯收入 9,500，按各项计算为"]


def test_wage_without_worker_and_worker_without_wage():
    m = members()
    m[0].update(work_status="其他", work_months=0.0)  # local work (其他) can earn wages: not flagged
    f = run(member_rows=m)
    assert only(f, "income.wage_no_worker") == []
    for r in m[:2]:
        r.update(work_status=None, work_months=0.0)  # nobody works at all
    f = run(member_rows=m)
    assert only(f, "income.wage_no_worker") == [
        ("warning", 3, "工资性收入", "H1", "工资性收入 6,000，但没有成员务工（务工状况、务工时间均未填）")]
    f = run(households=[household(wage_income=0.0, net_income=2500.0, income_per_capita=833.33)])
    assert only(f, "income.worker_no_wage") == [("warning", 3, "工资性收入", "H1", "有 1 名务工成员，但工资性收入为 0")]


# ---------------------------------------------------------------------------------------
# 低保 / 特困
# ---------------------------------------------------------------------------------------
def test_dibao_household_without_member_on_dibao_and_benefit_0():
    f = run(households=[household(dibao_household=True)])
    assert only(f, "assist.dibao_no_member") == [("warning", 3, "是否低保户", "H1", "本户为低保户，但没有成员享受低保")]
    assert only(f, "assist.dibao_no_benefit") == [("warning", 3, "低保金", "H1", "本户为低保户，低保金为 0")]


def test_member_on_dibao_in_a_non_dibao_household():
    m = members()
    m[0]["on_dibao"] = True
    f = run(member_rows=m)
    assert only(f, "assist.member_dibao_not_household") == [("warning", 3, "是否低保户", "H1", "有 1 名成员享受低保，但本户不是低保户")]


def test_dibao_status_from_attribute_when_no_flag_column():
    f = run(households=[household(recorded_attribute="低保贫困户")], drop=("dibao_household",))
    assert only(f, "assist.dibao_no_member") == [("warning", 3, "原贫困户属性", "H1", "本户为低保户，但没有成员享受低保")]


def test_tekun_household_with_healthy_labourer_and_both_benefits():
    m = members()
    for r in m:
        r["on_tekun"] = True
    hh = household(tekun_household=True, tekun_benefit=800.0, dibao_benefit=500.0, transfer_income=1300.0,
                   net_income=8800.0, income_per_capita=2933.33)
    f = run(households=[hh], member_rows=m)
    assert only(f, "assist.tekun_labourer") == [("warning", 4, "劳动技能", "H1", "特困供养户成员 43 岁，健康，普通劳动力")]
    assert only(f, "assist.both_benefits") == [("warning", 3, "特困供养金", "H1", "低保金 500，特困供养金 800")]
    assert only(f, "assist.tekun_no_member") == []


# ---------------------------------------------------------------------------------------
# 致贫原因
# ---------------------------------------------------------------------------------------
def test_illness_with_everyone_healthy():
    m = members()
    m[0]["health"] = "健康"
    f = run(member_rows=m)
    assert only(f, "cause.ill_all_healthy") == [("warning", 3, "原主要致贫原因", "H1", "主要致贫原因为因病，但成员健康状况均为健康")]


def test_study_without_student_and_disability_without_disabled():
    m = members()
    m[2]["school_status"] = "非在校生"
    f = run(member_rows=m, households=[household(recorded_primary_cause="因学")])
    assert [c for _, _, c, _, _ in only(f, "cause.study_no_student")] == ["原主要致贫原因"]
    f = run(households=[household(recorded_primary_cause="因残")])
    assert only(f, "cause.disabled_nobody") == [("warning", 3, "原主要致贫原因", "H1", "主要致贫原因为因残，但没有残疾成员")]


def test_labour_shortage_with_two_healthy_labourers():
    m = members()
    m[0]["health"] = "健康"
    f = run(member_rows=m, households=[household(recorded_primary_cause="缺劳力")])
    assert only(f, "cause.labour_shortage_with_labourers") == [
        ("warning", 3, "原主要致贫原因", "H1", "主要致贫原因为缺劳力，但有 2 名 16–65 岁健康劳动力")]
    assert only(run(households=[household(recorded_primary_cause="缺劳力")]), "cause.labour_shortage_with_labourers") == []


@pytest.mark.parametrize("secondary, flagged", [("缺资金、因病", True), ("缺资金,1", True), ("缺资金", False), ("缺技术；缺水", False)])
def test_secondary_cause_repeating_primary(secondary, flagged):
    f = run(households=[household(recorded_secondary_causes=secondary)])
    got = only(f, "cause.secondary_repeats_primary")
    assert got == ([("warning", 3, "原其他致贫原因", "H1", f"其他致贫原因 {secondary} 含主要致贫原因 因病")] if flagged else [])
