"""Core pieces of identify on inline frames: 汇总, 规模控制, 致贫原因, coverage, error reasons, assist."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_cli.core.causes import causes_report
from fupin_cli.core.identify import error_reasons, find_household, one_household, with_assistance
from fupin_cli.core.quota import OVER_QUOTA, apply_quota, parse_quota
from fupin_cli.core.summary import area_summary, coverage, totals
from fupin_cli.errors import InputError, UsageError
from fupin_cli.findings import make_findings
from fupin_cli.roster import Roster


def hh(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


# ---- 汇总 ---------------------------------------------------------------------------------
def test_area_summary_rows_order_and_incidence():
    df = hh(township=["乙镇", "甲镇", "乙镇", None], village=["三村", "一村", "二村", "四村"],
            status=["贫困户", "非贫困户", "待核实", "贫困户"],
            household_size=pd.array([4, None, 2, 3], dtype="Int64"), member_count=pd.array([4, 5, 2, 3], dtype="Int64"))
    s = area_summary(df)
    assert s[["level", "township", "village"]].values.tolist() == [
        ["行政村", "乙镇", "三村"], ["行政村", "乙镇", "二村"], ["乡镇", "乙镇", "小计"],
        ["行政村", "甲镇", "一村"], ["乡镇", "甲镇", "小计"],
        ["行政村", "(未填)", "四村"], ["乡镇", "(未填)", "小计"], ["全县", "合计", ""]]
    assert s["people"].tolist() == [4, 2, 6, 5, 5, 3, 3, 14]  # blank 家庭人口数 → member count
    assert s["poor_people"].tolist() == [4, 0, 4, 0, 0, 3, 3, 7]
    assert s["incidence"].tolist() == [1.0, 0.0, round(4 / 6, 6), 0.0, 0.0, 1.0, 1.0, 0.5]
    assert s["pending_households"].tolist()[-1] == 1
    assert totals(df) == {"households": 4, "people": 14, "poor_households": 2, "poor_people": 7,
                          "pending_households": 1, "not_poor_households": 1, "incidence": 0.5}


def test_coverage_lists_missing_people_and_task_forces():
    df = hh(household_id=["1", "2", "3", "4"], township=["甲", "甲", "乙", "乙"], village=["一", "一", "二", "三"],
            head_name=["a", "b", "c", "d"], status=["贫困户", "贫困户", "贫困户", "非贫困户"],
            responsible_person=["张", " ", None, None], task_force=[None, "一村工作队", None, None])
    cov = coverage(df)
    assert cov["households_without_responsible_person"]["household_id"].tolist() == ["2", "3"]
    assert cov["villages_without_task_force"].values.tolist() == [["乙", "二", 1]]  # 三村 has no poor household
    none = coverage(df.drop(columns=["responsible_person", "task_force"]))
    assert (none["has_responsible_person"], none["has_task_force"]) == (False, False)
    assert none["households_without_responsible_person"].empty


# ---- 规模控制 -----------------------------------------------------------------------------
def quota_frame():
    return hh(household_id=["H1", "H2", "H3", "H4", "H5", "H6"], township=["A"] * 6,
              village=["甲村", "甲村", "甲村", "甲村", "乙村", "乙村"],
              status=["贫困户", "贫困户", "贫困户", "贫困户", "贫困户", "非贫困户"],
              people=[2, 3, 1, 2, 4, 1], income=[1000.0, 900.0, 900.0, None, 100.0, 50.0],
              labourers=[1, 1, 0, 0, 0, 0])


def test_quota_ranks_by_income_then_labourers_then_size_then_id():
    q = parse_quota(hh(行政村=["甲村"], 指标=["6"]))
    status, reason, report = apply_quota(quota_frame(), q)
    # 甲村 ranking: H3 (900, 0 labourers), H2 (900, 1), H1 (1000), H4 (income missing: last)
    # cumulative people 1, 4, 6, 8 → H4 is beyond 6
    assert status.tolist() == ["贫困户", "贫困户", "贫困户", "待核实", "贫困户", "非贫困户"]
    assert reason.tolist()[3] == f"{OVER_QUOTA}（甲村 指标 6 人）"
    assert reason.isna().tolist() == [True, True, True, False, True, True]
    r = report.set_index("village")
    assert r.loc["甲村", ["quota", "eligible_households", "eligible_people", "within_people", "over_households", "over_people"]].tolist() == [6, 4, 8, 6, 1, 2]
    assert r.loc["甲村", "use"] == 1.0
    assert pd.isna(r.loc["乙村", "quota"]) and r.loc["乙村", "over_households"] == 0


def test_quota_ties_larger_household_then_id():
    f = hh(household_id=["B", "A", "C"], township=["T"] * 3, village=["村"] * 3, status=["贫困户"] * 3,
           people=[2, 2, 3], income=[500.0, 500.0, 500.0], labourers=[1, 1, 1])
    status, _, _ = apply_quota(f, parse_quota(hh(村=["村"], 规模指标=[5])))
    assert status.tolist() == ["待核实", "贫困户", "贫困户"]  # C (3 people) first, then A before B


def test_quota_county_total_after_villages():
    q = parse_quota(hh(乡镇=["", "A"], 行政村=["全县", "甲村"], 指标=[5, 100]))
    assert q.county == 5 and q.villages["village"].tolist() == ["甲村"]
    status, reason, report = apply_quota(quota_frame(), q)
    # county ranking over all eligible: H5 (100) 4 people, H3 (900) 1 → 5; the rest are beyond
    assert status.tolist() == ["待核实", "待核实", "贫困户", "待核实", "贫困户", "非贫困户"]
    assert reason.tolist()[0] == f"{OVER_QUOTA}（全县指标 5 人）"
    county = report[report["township"] == "全县"].iloc[0]
    assert (county["quota"], county["within_people"], county["over_households"]) == (5, 5, 3)


def test_quota_keyed_by_township_when_village_names_repeat():
    f = hh(household_id=["1", "2"], township=["甲镇", "乙镇"], village=["新村", "新村"], status=["贫困户"] * 2,
           people=[3, 3], income=[1.0, 1.0], labourers=[0, 0])
    status, _, _ = apply_quota(f, parse_quota(hh(乡镇=["甲镇", "乙镇"], 行政村=["新村", "新村"], 指标=[3, 2])))
    assert status.tolist() == ["贫困户", "待核实"]


@pytest.mark.parametrize("table, message", [
    (hh(行政村=["甲村"], 人数=["5"]), "no quota column"),
    (hh(行政村=["甲村"], 指标=["五十"]), "row 2, column 指标: '五十' is not a number"),
    (hh(行政村=["甲村", "甲村"], 指标=[1, 2]), "village 甲村 appears more than once"),
    (hh(行政村=["甲村"], 指标=[None]), "no quota values found"),
])
def test_quota_file_errors(table, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        parse_quota(table, source="q.csv")


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 5000), st.integers(0, 3)), min_size=1, max_size=12),
       st.integers(0, 30), st.randoms())
def test_quota_row_order_never_changes_decisions(rows, limit, rnd):
    f = hh(household_id=[f"H{i:02d}" for i in range(len(rows))], township=["T"] * len(rows), village=["村"] * len(rows),
           status=["贫困户"] * len(rows), people=[r[0] for r in rows], income=[float(r[1]) for r in rows],
           labourers=[r[2] for r in rows])
    q = parse_quota(hh(行政村=["村"], 指标=[limit]))
    status, _, _ = apply_quota(f, q)
    order = list(range(len(rows)))
    rnd.shuffle(order)
    shuffled, _, _ = apply_quota(f.iloc[order], q)
    assert shuffled.sort_index().tolist() == status.tolist()
    kept = f.loc[status == "贫困户", "people"].sum()
    assert kept <= limit


# ---- 致贫原因 -----------------------------------------------------------------------------
def test_causes_report_counts_shares_and_cooccurrence():
    df = hh(township=["甲", "甲", "乙", "乙", "乙"], village=["一", "二", "三", "三", "三"],
            status=["贫困户", "贫困户", "贫困户", "贫困户", "非贫困户"],
            household_size=pd.array([3, 1, 2, 4, 9], dtype="Int64"),
            primary_cause=["因病", "1", "缺资金", "因婚", "因病"],
            secondary_causes=["因残、缺资金", "因病,因学", "因病；因病", None, "因残"],
            attribute=["一般贫困户", "低保贫困户", "一般贫困户", None, None])
    r = causes_report(df)
    assert (r.households, r.people) == (4, 10)
    bc = r.by_cause.set_index("cause")
    assert list(bc.index[:12]) == ["因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力", "缺资金",
                                   "交通条件落后", "自身发展动力不足", "其他"]
    assert list(bc.index[12:]) == ["因婚"]  # a local cause is kept after the national list
    assert bc.loc["因病", ["households", "people"]].tolist() == [2, 4]  # "1" is the code of 因病
    assert bc.loc["因病", "household_share"] == 0.5 and bc.loc["因病", "people_share"] == 0.4
    co = r.cooccurrence.set_index("primary_cause")
    assert co.loc["因病", "因残"] == 1 and co.loc["因病", "缺资金"] == 1 and co.loc["因病", "因学"] == 1
    assert co.loc["因病", "因病"] == 0  # secondary equal to the primary is not co-occurrence
    assert co.loc["缺资金", "因病"] == 1  # counted once although written twice
    assert r.by_area[["township", "因病", "缺资金", "因婚", "total"]].values.tolist() == [["甲", 2, 0, 0, 2], ["乙", 0, 1, 1, 2]]
    by_v = causes_report(df, by="行政村").by_area
    assert by_v[["township", "village", "total"]].values.tolist() == [["甲", "一", 1], ["甲", "二", 1], ["乙", "三", 2]]
    assert r.by_attribute[["attribute", "因病", "total"]].values.tolist() == [["一般贫困户", 1, 2], ["低保贫困户", 1, 1], ["未填", 0, 1]]
    assert r.to_json()["by_cause"][0] == {"cause": "因病", "households": 2, "people": 4, "household_share": 0.5, "people_share": 0.4}


def test_causes_report_unknown_area_is_usage_error():
    with pytest.raises(UsageError, match="--by 县: unknown area"):
        causes_report(hh(status=["贫困户"], primary_cause=["因病"]), by="县")


# ---- findings → 待核实, assist, household lookup -------------------------------------------
def roster() -> Roster:
    households = hh(household_id=["H001", "H002", "H003"], village=["一", "一", "二"], township=["甲"] * 3,
                    _source=["r.xlsx"] * 3, _sheet=["花名册"] * 3, _row=pd.array([3, 5, 7], dtype="Int64"))
    members = hh(household_id=["H001", "H001", "H002", "H003"], name=["a", "b", "c", "d"],
                 _source=["r.xlsx"] * 4, _sheet=["花名册"] * 4, _row=pd.array([3, 4, 5, 7], dtype="Int64"))
    return Roster(households, members)


def test_error_reasons_by_household_id_and_by_row():
    f = make_findings([
        {"severity": "error", "check": "id.checksum", "file": "r.xlsx", "sheet": "花名册", "row": 4, "column": "证件号码",
         "household_id": "", "message": "校验位错误 500101********1234"},
        {"severity": "error", "check": "required", "file": "r.xlsx", "sheet": "花名册", "row": 7, "column": "家庭人口数",
         "household_id": "H003", "message": "缺失"},
        {"severity": "warning", "check": "w", "file": "r.xlsx", "sheet": "花名册", "row": 5, "column": "x",
         "household_id": "H002", "message": "警告不算"},
    ])
    reasons = error_reasons(roster(), f)
    assert [None if pd.isna(v) else v for v in reasons] == ["证件号码：校验位错误 500101********1234", None, "家庭人口数：缺失"]


def test_with_assistance_fills_households_and_villages():
    table = hh(户编号=["H001", "H003", None], 帮扶责任人=["王帮", "", None], 行政村=[None, None, "一"],
               驻村工作队=[None, None, "县农业局工作队"])
    r = with_assistance(roster(), table)
    assert r.households["responsible_person"].tolist()[0] == "王帮"
    assert r.households["responsible_person"].isna().tolist() == [False, True, True]
    assert r.households["task_force"].tolist()[:2] == ["县农业局工作队"] * 2 and pd.isna(r.households["task_force"].iloc[2])
    with pytest.raises(InputError, match="no 户编号"):
        with_assistance(roster(), hh(备注=["x"]))


def test_find_household_did_you_mean():
    r = roster()
    assert find_household(r, " H002 ") == 1
    with pytest.raises(UsageError) as e:
        find_household(r, "H02")
    assert e.value.hint.startswith("did you mean H002")
    sub = one_household(r, "H001")
    assert sub.households["household_id"].tolist() == ["H001"] and sub.members["name"].tolist() == ["a", "b"]


def test_quota_notes_name_villages_missing_from_the_roster():
    from fupin_cli.core.quota import quota_notes

    q = parse_quota(hh(行政村=["甲村", "无此村"], 指标=[6, 3]), source="q.csv")
    assert quota_notes(quota_frame(), q) == ["q.csv: 1 villages are not in the roster (无此村); their quota is unused"]
    assert quota_notes(quota_frame(), parse_quota(hh(行政村=["甲村"], 指标=[6]))) == []
