"""exit core with the shipped national pack on inline frames: household, village and county exit."""

from __future__ import annotations

import pandas as pd
import pytest

from fupin_cli.core.exit import exit_list, remaining_list, run_exit, sample_rates
from fupin_cli.engine import load_pack
from fupin_cli.errors import UsageError


@pytest.fixture(scope="module")
def pack():
    return load_pack("national-2014")


def households(n=1, **over):
    base = {
        "township": ["甲镇"] * n, "village": ["一村"] * n, "household_id": [f"H{i + 1}" for i in range(n)],
        "head_name": ["张三"] * n, "household_size": pd.array([2] * n, dtype="Int64"),
        "income_per_capita": pd.array([5000.0] * n, dtype="Float64"),
        "unsafe_housing": pd.array([False] * n, dtype="boolean"),
        "food_clothing_secure": pd.array([True] * n, dtype="boolean"),
        "safe_water": pd.array([True] * n, dtype="boolean"),
        "status": ["贫困户"] * n, "assessment_year": pd.array([2015] * n, dtype="Int64"),
    }
    for k, v in over.items():
        base[k] = v
    return pd.DataFrame(base)


def members(hid="H1", **over):
    m = {"household_id": [hid, hid], "name": ["张三", "张小"], "relation": ["户主", "之子"],
         "birth_date": pd.to_datetime(["1970-01-01", "2008-05-01"]),
         "school_status": ["非在校生", "小学"], "dropout": pd.array([False, False], dtype="boolean"), "health": ["健康", "健康"],
         "medical_insurance": pd.array([True, True], dtype="boolean")}
    m.update(over)
    return pd.DataFrame(m)


def members_of(hh):
    """One insured adult per household (the member columns the exit rules read are present)."""
    ids = list(hh["household_id"])
    return pd.DataFrame({"household_id": ids, "name": ["张三"] * len(ids), "relation": ["户主"] * len(ids),
                         "birth_date": pd.to_datetime(["1970-01-01"] * len(ids)), "school_status": ["非在校生"] * len(ids),
                         "health": ["健康"] * len(ids),
                         "dropout": pd.array([False] * len(ids), dtype="boolean"),
                         "medical_insurance": pd.array([True] * len(ids), dtype="boolean")})


def one(pack, year=2016, hh=None, mem=None):
    a, _ = run_exit(hh if hh is not None else households(), mem if mem is not None else members(), pack, year)
    row = a.households.iloc[0]
    return row["exit_result"], row["exit_unmet"]


def test_household_meeting_every_condition_exits(pack):
    assert one(pack) == ("脱贫", None)


def test_income_exactly_at_the_exit_standard_does_not_exit(pack):
    """Household exit is against the 脱贫标准 (exit_standard, 2016: 3146), not the NBS line (2952)."""
    result, unmet = one(pack, hh=households(income_per_capita=pd.array([3146.0], dtype="Float64")))
    assert result == "未脱贫"
    assert unmet == "未满足“人均纯收入稳定超过脱贫标准”：人均纯收入 3,146.00 元，不高于脱贫标准 3,146 元（2016，国家）"
    assert one(pack, hh=households(income_per_capita=pd.array([3146.01], dtype="Float64")))[0] == "脱贫"
    assert one(pack, hh=households(income_per_capita=pd.array([3000.0], dtype="Float64")))[0] == "未脱贫"  # above 2952


@pytest.mark.parametrize("hh_over, mem_over, label", [
    ({"unsafe_housing": pd.array([True], dtype="boolean")}, {}, "住房安全有保障（非危房）"),
    ({"food_clothing_secure": pd.array([False], dtype="boolean")}, {}, "不愁吃、不愁穿"),
    ({}, {"school_status": ["非在校生", "非在校生"]}, "义务教育有保障（无义务教育阶段失学辍学）"),
    ({}, {"dropout": pd.array([False, True], dtype="boolean")}, "义务教育有保障（无义务教育阶段失学辍学）"),
    ({}, {"medical_insurance": pd.array([True, False], dtype="boolean")}, "基本医疗有保障（全员参加基本医疗保险，患病成员参加大病保险，患大病成员享受医疗救助）"),
])
def test_exit_blocked_by_each_single_condition(pack, hh_over, mem_over, label):
    result, unmet = one(pack, hh=households(**hh_over), mem=members(**mem_over))
    assert result == "未脱贫"
    assert unmet.startswith(f"未满足“{label}”：")
    assert "；" not in unmet  # only that one condition is unmet


def test_safe_water_counts_from_2019_only(pack):
    bad_water = households(safe_water=pd.array([False], dtype="boolean"), income_per_capita=pd.array([5000.0], dtype="Float64"))
    assert one(pack, year=2018, hh=bad_water)[0] == "脱贫"
    result, unmet = one(pack, year=2019, hh=bad_water)
    assert result == "未脱贫"
    assert unmet.startswith("未满足“饮水安全有保障")


def test_every_unmet_condition_is_listed(pack):
    hh = households(income_per_capita=pd.array([1000.0], dtype="Float64"), unsafe_housing=pd.array([True], dtype="boolean"))
    _, unmet = one(pack, hh=hh)
    assert [p.split("”")[0] for p in unmet.split("；")] == ["未满足“人均纯收入稳定超过脱贫标准", "未满足“住房安全有保障（非危房）"]


def test_missing_income_is_not_an_exit(pack):
    result, unmet = one(pack, hh=households(income_per_capita=pd.array([None], dtype="Float64")))
    assert result == "未脱贫"
    assert unmet.startswith("待核实：人均纯收入稳定超过脱贫标准")


def test_village_and_county_exit(pack):
    # 一村: 100 people, 1 remaining poor person → 1% < 2% exits; 二村: 50 people, 2 remaining → 4% does not
    hh = pd.DataFrame({
        "township": ["甲镇"] * 5, "village": ["一村", "一村", "一村", "二村", "二村"],
        "household_id": ["A1", "A2", "A3", "B1", "B2"], "head_name": list("ABCDE"),
        "household_size": pd.array([1, 4, 95, 2, 48], dtype="Int64"),
        "income_per_capita": pd.array([1000.0, 9000.0, 9000.0, 1000.0, 9000.0], dtype="Float64"),
        "status": ["贫困户", "贫困户", "非贫困户", "贫困户", "非贫困户"],
        "unsafe_housing": pd.array([False] * 5, dtype="boolean"), "food_clothing_secure": pd.array([True] * 5, dtype="boolean"),
    })
    a, _ = run_exit(hh, members_of(hh), pack, 2016)
    v = a.villages.set_index("village")
    assert v.loc["一村", ["population", "poor_population", "exited_people"]].tolist() == [100, 1, 4]
    assert v.loc["一村", "incidence"] == pytest.approx(0.01)
    assert v.loc["一村", "exit_result"] == "退出"
    assert v.loc["二村", "exit_result"] == "未退出"
    assert v.loc["二村", "exit_unmet"].startswith("未满足“贫困发生率低于退出标准”："
                                                  "贫困发生率(%) 4.00，不低于贫困村退出贫困发生率上限 2%（2014，国家）")
    c = a.county.iloc[0]
    assert (c["population"], c["poor_population"], c["incidence"]) == (150, 3, 0.02)
    assert c["exit_result"] == "未摘帽"  # 2% is not below 2%
    # western region: 3% threshold → 二村 (4%) still fails, the county (2%) passes incidence
    a_west, _ = run_exit(hh, members_of(hh), pack, 2016, region="重庆")
    assert a_west.villages.set_index("village").loc["二村", "exit_result"] == "未退出"
    assert a_west.county.iloc[0]["exit_unmet"].startswith("待核实：")  # sample-check rates unknown
    summary = a.summary()
    assert (summary["exited_households"], summary["remaining_households"], summary["villages_exiting"]) == (1, 2, 1)


def test_population_file_overrides_the_roster(pack):
    hh = households(2, household_size=pd.array([1, 1], dtype="Int64"),
                    income_per_capita=pd.array([1000.0, 9000.0], dtype="Float64"))
    a, _ = run_exit(hh, members_of(hh), pack, 2016, population=pd.DataFrame({"village": ["一村", "九村"], "population": [200, 5]}))
    v = a.villages.iloc[0]
    assert (v["population"], v["population_source"], v["incidence"]) == (200, "人口数文件", 0.005)
    assert a.notes[0] == "人口数文件中的 1 个村不在花名册中，未计入: 九村"


def test_sample_check_rates_drive_the_county(pack):
    hh = pd.DataFrame({"village": ["一村"] * 4, "household_id": ["A", "B", "C", "D"],
                       "household_size": pd.array([1, 1, 1, 500], dtype="Int64"),
                       "income_per_capita": pd.array([9000.0, 9000.0, 9000.0, 9000.0], dtype="Float64"),
                       "status": ["贫困户", "贫困户", "非贫困户", "非贫困户"],
                       "unsafe_housing": pd.array([False] * 4, dtype="boolean"), "food_clothing_secure": pd.array([True] * 4, dtype="boolean")})
    sample = pd.DataFrame({"household_id": ["A", "B", "C"], "result": ["错退", "正确", "正确"],
                           "recognised": pd.array([True, True, False], dtype="boolean")})
    a, _ = run_exit(hh, members_of(hh), pack, 2016, sample=sample)
    c = a.county.iloc[0]
    assert (c["wrong_exit_rate"], c["missed_rate"], c["recognition_rate"]) == (0.5, 0.0, 0.666667)
    assert c["exit_result"] == "未摘帽"
    assert "未满足“错退率低于上限（按人口）”：错退率(%) 50.00，不低于" in c["exit_unmet"]
    assert "群众认可度高于下限" in c["exit_unmet"]
    _rates, notes = sample_rates(pd.DataFrame({"household_id": ["C", "Z"], "result": ["错退", "正确"]}), a.households)
    assert notes == ["抽查表中 1 户不在花名册/登记册中，未计入错退率、漏评率",
                     "抽查表中 1 户的核查结论与其建档立卡状态不符（错退须为脱贫户，漏评须为非建档立卡户），未计入"]


def test_register_joined_with_this_years_roster(pack):
    register = households(3, head_id_number=["110101198001010017", None, None])
    roster = households(2, household_id=["N1", "H2"], head_id_number=["110101198001010017", None],
                        income_per_capita=pd.array([9000.0, 1000.0], dtype="Float64"))
    roster = roster.drop(columns=["status", "assessment_year"])

    class R:
        households, members, sources = roster, members_of(roster), []

    a, _ = run_exit(register, None, pack, 2016, roster=R)
    got = dict(zip(a.households["household_id"], a.households["exit_result"]))
    assert got == {"N1": "脱贫", "H2": "未脱贫"}
    assert a.not_found["household_id"].tolist() == ["H3"]
    assert a.notes[0].startswith("1 户建档立卡贫困户在本年花名册中未找到")


def test_lists_mask_ids(pack):
    hh = households(2, head_id_number=["110101198001010017", "110101198001010017"],
                    income_per_capita=pd.array([9000.0, 1000.0], dtype="Float64"))
    a, _ = run_exit(hh, members_of(hh), pack, 2016)
    assert exit_list(a)["head_id_masked"].tolist() == ["110101********0017"]
    rem = remaining_list(a)
    assert rem["head_id_masked"].tolist() == ["110101********0017"]
    assert "110101198001010017" not in rem.to_string()


def test_source_without_registry_status_is_refused(pack):
    hh = households().drop(columns=["status"])
    with pytest.raises(UsageError, match=r"SOURCE has no registered poor households \(no 建档立卡状态, 脱贫状态, 户类型 or 识别结果 column\)"):
        run_exit(hh, None, pack, 2016)


def test_sample_rates_are_over_people_with_wilson_intervals_and_comprehensive_incidence(pack):
    """Issue 9.5: 错退率 / 漏评率 over people; 95% Wilson CIs over the sampled households;
    综合贫困发生率 = (remaining + estimated 漏评 + 错退 people) ÷ population drives the county test."""
    from fupin_cli.core.exit import wilson

    hh = pd.DataFrame({"village": ["一村"] * 5, "household_id": ["A", "B", "C", "D", "E"],
                       "household_size": pd.array([4, 1, 5, 1, 89], dtype="Int64"),
                       "income_per_capita": pd.array([9000.0, 9000.0, 9000.0, 9000.0, 9000.0], dtype="Float64"),
                       "status": ["贫困户", "贫困户", "非贫困户", "非贫困户", "非贫困户"],
                       "unsafe_housing": pd.array([False] * 5, dtype="boolean"), "food_clothing_secure": pd.array([True] * 5, dtype="boolean")})
    sample = pd.DataFrame({"household_id": ["A", "B", "C", "D"], "result": ["错退", "正确", "漏评", "正确"]})
    a, _ = run_exit(hh, members_of(hh), pack, 2016, sample=sample)
    c = a.county.iloc[0]
    # over people: 错退 4 of 5 exited people (households: 1 of 2); 漏评 5 of 6 not-registered people
    assert (c["wrong_exit_people"], c["sampled_exited_people"], c["wrong_exit_rate"]) == (4, 5, 0.8)
    assert (c["missed_people"], c["sampled_not_poor_people"], c["missed_rate"]) == (5, 6, 0.833333)
    assert (c["wrong_exits"], c["sampled_exited"]) == (1, 2)
    lo, hi = wilson(1, 2)
    assert c["wrong_exit_rate_ci"] == f"{lo * 100:.2f}%–{hi * 100:.2f}%" and lo < 0.5 < hi
    # grossed up: 0.8 × 5 exited people, 0.833333 × 95 people not registered; population 100, 0 remaining
    assert c["estimated_wrong_exit_people"] == 4.0
    assert c["estimated_missed_people"] == round(0.833333 * 95, 2)
    assert c["comprehensive_incidence"] == round((0 + 4.0 + round(0.833333 * 95, 2)) / 100, 6)
    assert c["incidence"] == 0.0
    assert "考核贫困发生率" in c["exit_unmet"]  # the county fails on 综合贫困发生率 although the registry says 0%


def test_wilson_interval():
    from fupin_cli.core.exit import wilson

    assert wilson(0, 0) is None
    lo, hi = wilson(0, 50)
    assert lo == 0.0 and 0.06 < hi < 0.08  # the rule of three is about 6%; Wilson gives ~7.1%
    lo, hi = wilson(5, 100)
    assert 0.02 < lo < 0.03 and 0.11 < hi < 0.12


def test_an_exit_condition_whose_column_is_absent_is_never_met(pack):
    """issue 8 item 5 (c): without a 是否危房 column nobody exits on 住房安全, and the reason says why."""
    hh = households(2, income_per_capita=pd.array([9000.0, 1000.0], dtype="Float64")).drop(columns=["unsafe_housing"])
    a, ev = run_exit(hh, members_of(hh), pack, 2016)
    got = a.households.set_index("household_id")
    assert got["exit_result"].tolist() == ["未脱贫", "未脱贫"]
    assert got.loc["H1", "exit_unmet"] == "无法核实“住房安全有保障（非危房）”：花名册没有是否危房列，无法核实"
    assert "hh_exit_housing" in ev.not_evaluated
    # the household below the line fails on income anyway; the housing rule is still listed as not evaluated
    assert "人均纯收入" in got.loc["H2", "exit_unmet"]
    listed = {r.rule_id: r for r in ev.not_evaluated_rules()}
    assert listed["hh_exit_housing"].fields == ("unsafe_housing",)


@pytest.mark.parametrize(("x", "n", "published"), [
    # Newcombe (1998), Statistics in Medicine 17:857–872, Table I, method 3 (Wilson score, no continuity correction)
    (81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605)), (0, 20, (0.0, 0.1611)), (1, 29, (0.0061, 0.1718)),
])
def test_wilson_interval_matches_published_values(x, n, published):
    from fupin_cli.core.exit import wilson

    lo, hi = wilson(x, n)
    assert (round(lo, 4), round(hi, 4)) == published


@pytest.mark.parametrize(("x", "n"), [(0, 7), (3, 10), (17, 400), (250, 251), (1, 1)])
def test_wilson_bounds_solve_the_score_equation(x, n):
    """Formula check without scipy: each bound p (inside (0, 1)) satisfies |x/n − p| = z·sqrt(p(1−p)/n),
    and the interval of n − x failures mirrors the interval of x successes."""
    from fupin_cli.core.exit import CI_Z, wilson

    lo, hi = wilson(x, n)
    for p in (lo, hi):
        if 0 < p < 1:
            assert abs(abs(x / n - p) - CI_Z * (p * (1 - p) / n) ** 0.5) < 1e-5
    mlo, mhi = wilson(n - x, n)
    assert abs(mlo - (1 - hi)) < 2e-6 and abs(mhi - (1 - lo)) < 2e-6
    assert lo <= x / n <= hi


# ---- village indicators, provincial village-exit items and 贫困村识别 (issue 9.5) ------------------------
def _villages_roster():
    # 一村: A (1 person, income 1000, 危房), A2 (4, 9000, not 危房), A3 (95, 9000, 危房 blank);
    # 二村: B1 (2, 1000), B2 (48, 9000), nothing about housing recorded
    hh = pd.DataFrame({
        "township": ["甲镇"] * 5, "village": ["一村", "一村", "一村", "二村", "二村"],
        "household_id": ["A1", "A2", "A3", "B1", "B2"], "head_name": list("ABCDE"),
        "household_size": pd.array([1, 4, 95, 2, 48], dtype="Int64"),
        "income_per_capita": pd.array([1000.0, 9000.0, 9000.0, 1000.0, 9000.0], dtype="Float64"),
        "unsafe_housing": pd.array([True, False, None, None, None], dtype="boolean"),
        "status": ["贫困户", "贫困户", "非贫困户", "贫困户", "非贫困户"],
        "food_clothing_secure": pd.array([True] * 5, dtype="boolean"),
    })
    mem = pd.DataFrame({"household_id": ["A1", "A2", "A3", "B1"], "name": list("wxyz"), "relation": ["户主"] * 4,
                        "birth_date": pd.to_datetime(["1970-01-01"] * 4), "school_status": ["非在校生"] * 4,
                        "health": ["健康"] * 4, "dropout": pd.array([False] * 4, dtype="boolean"),
                        "medical_insurance": pd.array([True, True, False, None], dtype="boolean")})
    return hh, mem


def test_village_indicators_come_from_recorded_values_only(pack):
    hh, mem = _villages_roster()
    a, _ = run_exit(hh, mem, pack, 2016)
    v = a.villages.set_index("village")
    # people-weighted 人均纯收入: (1×1000 + 4×9000 + 95×9000) / 100
    assert v.loc["一村", "income_pc"] == pytest.approx(8920.0)
    assert v.loc["一村", "safe_housing_rate"] == 0.5  # A1 危房, A2 not; A3 not recorded → not counted
    assert pd.isna(v.loc["二村", "safe_housing_rate"])  # nobody recorded: unknown, never 0% or 100%
    assert v.loc["一村", "medical_insurance_rate"] == 0.666667  # A1, A2 insured; A3's member is not
    assert pd.isna(v.loc["二村", "medical_insurance_rate"])  # B1's member blank
    assert v.loc["一村", "registered_incidence"] == pytest.approx(0.05)  # 5 registered people of 100
    # the national pack sets no housing/insurance threshold: these items never block, even unknown
    assert v.loc["一村", "exit_result"] == "退出"
    # 贫困村识别 without the village table: 待核实, naming the missing province figures
    assert set(v["poor_village"]) == {"待核实"}
    assert "全省贫困发生率" in v.loc["一村", "poor_village_unmet"]


def test_guangxi_village_exit_uses_the_roster_rates(pack):
    hh, mem = _villages_roster()
    a, _ = run_exit(hh, mem, pack, 2016, region="广西")
    v = a.villages.set_index("village")
    assert v.loc["一村", "exit_result"] == "未退出"  # incidence 1% < 3%, but housing 50% < 98%
    assert "住房安全保障率达到省定要求" in v.loc["一村", "exit_unmet"]
    assert v.loc["二村", "exit_result"] != "退出"  # 4% ≥ 3%, and no housing recorded


def test_poor_village_identification_from_the_village_table(pack):
    hh, mem = _villages_roster()
    table = pd.DataFrame({"village": ["一村", "二村"], "collective_income": [0.0, 0.0], "income_pc": [None, None],
                          "province_incidence": [0.02, 0.02], "province_income_pc": [16000.0, 16000.0]})
    a, _ = run_exit(hh, mem, pack, 2014, population=table)
    v = a.villages.set_index("village")
    # 一村: registered 5% ≥ 2 × 2%, income 8920 ≥ 60% × 16000 = 9600? no: 8920 < 9600 → 一低 holds; no collective income
    assert v.loc["一村", "poor_village"] == "贫困村"
    # 二村: registered 2 of 50 = 4% ≥ 4% (高一倍以上, inclusive); income (2×1000 + 48×9000)/50 = 8680 < 9600
    assert v.loc["二村", "poor_village"] == "贫困村"
    table.loc[1, "collective_income"] = 50000.0
    a2, _ = run_exit(hh, mem, pack, 2014, population=table)
    v2 = a2.villages.set_index("village")
    assert v2.loc["二村", "poor_village"] == "非贫困村"
    assert "无村集体经济收入" in v2.loc["二村", "poor_village_unmet"]
    table.loc[0, "income_pc"] = 12000.0  # the table's 村农民人均纯收入 wins over the roster's
    a3, _ = run_exit(hh, mem, pack, 2014, population=table)
    v3 = a3.villages.set_index("village")
    assert v3.loc["一村", "income_pc"] == 12000.0 and v3.loc["一村", "poor_village"] == "非贫困村"
    assert a3.summary()["poor_villages"] == {"非贫困村": 2}


def test_people_rate_interval_treats_households_as_clusters():
    """错退率 / 漏评率 are over people, sampled by household: with equal household sizes the interval
    is the Wilson interval over households; with unequal sizes the design effect widens or narrows
    it through n_eff = r(1 − r) / v, v = Σ(cases − r·sizes)² / (Σsizes)² (checked by hand here)."""
    import numpy as np

    from fupin_cli.core.exit import ratio_wilson, wilson

    cases, sizes = np.array([3, 0, 0, 0, 3, 0, 0, 0, 0, 0]), np.full(10, 3)
    assert ratio_wilson(cases, sizes) == wilson(2, 10)
    cases, sizes = np.array([5, 0, 1, 0, 0, 0]), np.array([5, 2, 1, 4, 3, 1])
    r = 6 / 16
    v = sum((c - r * s) ** 2 for c, s in zip(cases, sizes)) / 16 ** 2
    n_eff = r * (1 - r) / v
    assert ratio_wilson(cases, sizes) == wilson(r * n_eff, n_eff)
    assert ratio_wilson(np.zeros(4), np.array([2, 3, 1, 4])) == wilson(0, 4)  # no variation: households
    assert ratio_wilson(np.array([]), np.array([])) is None


def test_sample_check_reports_people_intervals_beside_the_people_rates(pack):
    hh = pd.DataFrame({"village": ["一村"] * 5, "household_id": ["A", "B", "C", "D", "E"],
                       "household_size": pd.array([4, 1, 5, 1, 89], dtype="Int64"),
                       "income_per_capita": pd.array([9000.0] * 5, dtype="Float64"),
                       "status": ["贫困户", "贫困户", "非贫困户", "非贫困户", "非贫困户"],
                       "unsafe_housing": pd.array([False] * 5, dtype="boolean"), "food_clothing_secure": pd.array([True] * 5, dtype="boolean")})
    sample = pd.DataFrame({"household_id": ["A", "B", "C", "D"], "result": ["错退", "正确", "漏评", "正确"]})
    a, _ = run_exit(hh, members_of(hh), pack, 2016, sample=sample)
    c = a.county.iloc[0]
    from fupin_cli.core.exit import ratio_wilson

    lo, hi = ratio_wilson([4, 0], [4, 1])
    assert c["wrong_exit_people_ci"] == f"{lo * 100:.2f}%–{hi * 100:.2f}%" and lo < 0.8 < hi
    assert c["missed_people_ci"] is not None
