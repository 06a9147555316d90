"""reassess core on inline frames: matching, every transition, history over three years, year checks."""

from __future__ import annotations

import pandas as pd
import pytest

from fupin_cli.core.history import history_wide, match_households, registry_status
from fupin_cli.core.reassess import YearDecisions, check_years, reassess
from fupin_cli.errors import DataError, UsageError

ID1 = "110101198001010017"  # valid check digits (GB 11643)
ID2 = "110101198502020028"
ID3 = "11010119900303003X"
ID4 = "110101199504040040"


def _fix(ids):
    """Real check characters for the synthetic IDs above (so normalisation keeps them)."""
    from fupin_cli.idnumber import check_char

    return [i[:17] + check_char(i[:17]) for i in ids]


ID1, ID2, ID3, ID4 = _fix([ID1, ID2, ID3, ID4])


def decisions(status, excluded=None, exit_result=None, exit_unmet=None, basis=None, reason=None, index=None):
    n = len(status)
    ident = pd.DataFrame({
        "status": status,
        "basis": basis or ["人均纯收入 低于标准"] * n,
        "not_identified_reason": reason or [""] * n,
    }, index=index)
    return YearDecisions(
        identification=ident,
        excluded=pd.Series(excluded or [False] * n, index=ident.index),
        exit=pd.DataFrame({"exit_result": exit_result or [None] * n, "exit_unmet": exit_unmet or [""] * n}, index=ident.index),
    )


def register_2015():
    return pd.DataFrame({
        "township": ["甲镇"] * 7,
        "village": ["一村", "一村", "一村", "二村", "二村", "二村", "二村"],
        "household_id": ["H1", "H2", "H3", "H4", "H5", "H6", "H7"],
        "head_name": ["甲", "乙", "丙", "丁", "戊", "己", "庚"],
        "household_size": [3, 2, 4, 1, 5, 2, 3],
        "status": ["贫困户", "贫困户", "贫困户", "非贫困户", "贫困户", "非贫困户", "贫困户"],
        "assessment_year": [2015] * 7,
    })


def roster_2016():
    return pd.DataFrame({
        "township": ["甲镇"] * 6,
        "village": ["一村", "一村", "一村", "二村", "二村", "二村"],
        "household_id": ["H1", "H2", "H3", "H4", "H6", "H8"],
        "head_name": ["甲", "乙", "丙", "丁", "己", "辛"],
        "household_size": [3, 2, 4, 1, 2, 3],
    })


def test_every_transition_of_one_year():
    dec = decisions(
        status=["非贫困户", "贫困户", "非贫困户", "贫困户", "非贫困户", "贫困户"],
        excluded=[False, False, True, False, False, False],
        exit_result=["脱贫", "未脱贫", "脱贫", None, None, None],
        exit_unmet=["", "住房安全 否", "", "", "", ""],
        reason=["人均纯收入 高于标准", "", "有国家公职人员", "", "人均纯收入 高于标准", ""],
    )
    r = reassess(register_2015(), roster_2016(), dec, 2016)
    got = dict(zip(r.households["household_id"], r.households["transition"]))
    assert got == {"H1": "脱贫", "H2": "继续帮扶", "H3": "清退", "H4": "新识别", "H6": "非贫困户",
                   "H8": "新识别", "H5": "自然减少", "H7": "自然减少"}
    reasons = dict(zip(r.households["household_id"], r.households["transition_reason"]))
    assert reasons["H2"] == "住房安全 否"
    assert reasons["H3"] == "有国家公职人员"
    assert reasons["H1"] == "达到脱贫标准"
    counts = r.counts().set_index("transition")
    assert counts.loc["自然减少", "people"] == 5 + 3
    assert counts["households"].sum() == 8
    assert r.summary()["previous_year"] == 2015


def test_history_over_three_years_with_exit_and_return():
    reg = register_2015().iloc[:2]  # H1 poor, H2 poor
    r16 = reassess(reg, roster_2016().iloc[:2], decisions(["非贫困户", "贫困户"], exit_result=["脱贫", "未脱贫"]), 2016)
    cur17 = roster_2016().iloc[:2]
    r17 = reassess(r16.households, cur17, decisions(["贫困户", "非贫困户"], exit_result=[None, "脱贫"]), 2017)
    hh = r17.households.set_index("household_id")
    assert hh.loc["H1", "transition"] == "返贫"
    assert hh.loc["H1", "registry_status"] == "返贫"
    assert hh.loc["H1", "status_history"] == "2015:贫困户|2016:已脱贫|2017:返贫"
    assert (hh.loc["H1", "first_identified_year"], hh.loc["H1", "exit_year"], hh.loc["H1", "return_year"]) == (2015, 2016, 2017)
    assert hh.loc["H2", "transition"] == "脱贫"
    assert hh.loc["H2", "exit_year"] == 2017
    wide = r17.history().set_index("household_id")
    assert list(wide.columns[-3:]) == ["2015", "2016", "2017"]
    assert wide.loc["H2", ["2015", "2016", "2017"]].tolist() == ["贫困户", "贫困户", "已脱贫"]
    # a returned household that still does not meet the exit rule continues, still 返贫
    r18 = reassess(r17.households, cur17, decisions(["贫困户", "非贫困户"], exit_result=["未脱贫", None]), 2018)
    h18 = r18.households.set_index("household_id")
    assert h18.loc["H1", "transition"] == "继续帮扶"
    assert h18.loc["H2", "transition"] == "非贫困户"  # stays out of poverty
    assert h18.loc["H2", "registry_status"] == "已脱贫"
    assert h18.loc["H1", "status_history"].count("|") == 3


def test_household_number_changed_is_matched_by_head_id():
    prev = register_2015().iloc[:2].assign(head_id_number=[ID1, ID2])
    cur = roster_2016().iloc[:2].assign(household_id=["H1", "N2"], head_id_number=[ID1, ID2])
    r = reassess(prev, cur, decisions(["贫困户", "贫困户"], exit_result=["未脱贫", "未脱贫"]), 2016)
    hh = r.households.set_index("household_id")
    assert hh.loc["N2", "match_method"] == "户主证件号码"
    assert hh.loc["N2", "previous_household_id"] == "H2"
    assert hh.loc["N2", "transition"] == "继续帮扶"
    assert "H2" not in hh.index  # not counted as 自然减少
    assert r.matches[["household_id", "previous_household_id", "match_method"]].values.tolist() == [["N2", "H2", "户主证件号码"]]


def test_household_split_into_two_is_reported():
    prev = register_2015().iloc[:1].assign(head_id_number=[ID1])
    prev_members = pd.DataFrame({"household_id": ["H1", "H1", "H1"], "id_number": [ID1, ID2, ID3],
                                 "relation": ["户主", "之子", "之儿媳"]})
    cur = pd.DataFrame({"township": ["甲镇", "甲镇"], "village": ["一村", "一村"], "household_id": ["H1", "H9"],
                        "head_name": ["甲", "乙"], "household_size": [1, 2]})
    cur_members = pd.DataFrame({"household_id": ["H1", "H9", "H9"], "id_number": [ID1, ID2, ID3],
                                "relation": ["户主", "户主", "配偶"]})
    r = reassess(prev, cur, decisions(["贫困户", "贫困户"], exit_result=["未脱贫", "未脱贫"]), 2016,
                 previous_members=prev_members, current_members=cur_members)
    hh = r.households.set_index("household_id")
    assert hh.loc["H1", "match_method"] == "户编号"
    assert hh.loc["H9", "match_method"] == "分户"
    assert hh.loc["H9", "previous_household_id"] == "H1"
    assert hh.loc["H9", "transition"] == "新识别"  # the split-off part is a new household, identified on its own
    assert hh.loc["H9", "first_identified_year"] == 2016
    assert hh.loc["H9", "status_history"] == "2016:贫困户"
    assert hh.loc["H1", "transition"] == "继续帮扶"
    assert r.matches.set_index("household_id").loc["H9", "shared_members"] == 2
    assert r.match_counts["分户"] == 1


def test_member_match_when_number_and_head_both_changed():
    prev = register_2015().iloc[:1].assign(head_id_number=[ID1])
    prev_members = pd.DataFrame({"household_id": ["H1", "H1"], "id_number": [ID1, ID2], "relation": ["户主", "配偶"]})
    cur = pd.DataFrame({"household_id": ["Z1"], "village": ["一村"], "head_id_number": [ID2], "household_size": [1]})
    m = match_households(prev, cur, prev_members, None)
    assert m.pairs.values.tolist() == [[0, 0, "成员证件号码", 1]]


def test_fifteen_digit_id_last_year_matches_eighteen_this_year():
    prev = pd.DataFrame({"household_id": ["A"], "head_id_number": [ID1[:6] + ID1[8:17]], "status": ["贫困户"]})
    cur = pd.DataFrame({"household_id": ["B"], "head_id_number": [ID1]})
    assert match_households(prev, cur).pairs["method"].tolist() == ["户主证件号码"]


def test_duplicate_household_numbers_are_a_data_error():
    cur = roster_2016().assign(household_id=["H1", "H1", "H3", "H4", "H6", "H8"])
    with pytest.raises(DataError, match=r"CURRENT roster: 1 户编号 appear more than once \(e.g. H1\)"):
        match_households(register_2015(), cur)


@pytest.mark.parametrize("year, message", [
    (2015, r"CURRENT year 2015 is the same as the year of PREVIOUS \(2015\)"),
    (2014, r"years out of order: --year 2014 is before the year of PREVIOUS \(2015\)"),
])
def test_year_errors(year, message):
    with pytest.raises(UsageError, match=message):
        check_years(register_2015(), roster_2016(), year)


def test_current_roster_of_the_previous_year_is_refused():
    with pytest.raises(UsageError, match=r"CURRENT roster's 年度 column says 2015 \(the year of PREVIOUS\), but --year is 2016"):
        check_years(register_2015(), roster_2016().assign(year=2015), 2016)


def test_previous_that_is_not_a_register_is_refused():
    with pytest.raises(UsageError, match=r"PREVIOUS is not a register: it has no 识别结果"):
        check_years(roster_2016(), roster_2016(), 2016)


def test_gap_year_is_noted():
    r = reassess(register_2015().iloc[:1], roster_2016().iloc[:1], decisions(["贫困户"], exit_result=["未脱贫"]), 2017)
    assert r.notes == ["PREVIOUS is for 2015, 1 year(s) before 2017 have no assessment: the history skips them"]


def test_registry_status_sources():
    # an identify register: the decision wins, a recorded 已脱贫 is kept for households not poor now
    decided = pd.DataFrame({"exit_status": ["0", "已脱贫", "已脱贫", None],
                            "status": ["非贫困户", "贫困户", "非贫困户", "待核实"]})
    assert registry_status(decided).tolist() == ["非贫困户", "贫困户", "已脱贫", "非贫困户"]
    # a roster: the recorded status
    recorded = pd.DataFrame({"exit_status": ["0", "已脱贫", None, None, "3"],
                             "household_type": [None, None, "脱贫户", None, None],
                             "recorded_attribute": [None, None, None, "一般贫困户", None]})
    assert registry_status(recorded).tolist() == ["贫困户", "已脱贫", "已脱贫", "贫困户", "返贫"]
    assert registry_status(pd.DataFrame({"registry_status": ["清退"], "status": ["贫困户"]})).tolist() == ["清退"]


def test_history_wide_rejects_malformed_entries():
    from fupin_cli.errors import InputError

    with pytest.raises(InputError, match="历年状态 \\(status_history\\) entry '2015-贫困户' is not 'YEAR:状态'"):
        history_wide(pd.Series(["2015-贫困户"]))


def test_sheets_above_the_excel_limit_go_to_parquet(tmp_path, monkeypatch):
    from fupin_cli.core.causes import causes_report
    from fupin_cli.core.reassess import RegisterView
    from fupin_cli.core.summary import area_summary
    from fupin_cli.io import annual

    dec = decisions(["贫困户"] * 6, exit_result=["未脱贫"] * 6)
    r = reassess(register_2015(), roster_2016(), dec, 2016)
    poor = r.households.assign(status="贫困户", primary_cause="因病")
    view = RegisterView(r.households, pd.DataFrame(), area_summary(poor), causes_report(poor), None, {}, {"version": "t"})
    monkeypatch.setattr(annual, "MAX_SHEET_ROWS", 7)
    written = annual.write_reassess(r, view, tmp_path / "reg.xlsx")
    assert [p.name for p in written.outputs] == ["reg.xlsx", "reg-历年状态.parquet"]
    assert written.warnings == ["历年状态: 8 rows exceed Excel's 7; written to reg-历年状态.parquet instead"]
    assert pd.read_parquet(tmp_path / "reg-历年状态.parquet").columns.tolist()[-2:] == ["2015", "2016"]


def test_a_roster_record_of_exit_is_trusted_returned_and_the_conflict_is_a_finding():
    """Issue 9.8: the roster records H4 as 已脱贫 but last year's register had it 非贫困户.
    Poor again → 返贫 (not 新识别); the disagreement is named in the reason and in the notes."""
    roster = roster_2016()
    roster["exit_status"] = [None, None, None, "已脱贫", "已脱贫", None]
    dec = decisions(status=["非贫困户", "贫困户", "非贫困户", "贫困户", "非贫困户", "贫困户"],
                    exit_result=["脱贫", "未脱贫", "脱贫", None, None, None])
    r = reassess(register_2015(), roster, dec, 2016)
    hh = r.households.set_index("household_id")
    assert hh.loc["H4", "transition"] == "返贫"
    assert hh.loc["H4", "registry_status"] == "返贫"
    assert "本年花名册记为已脱贫，但上年登记册为非贫困户" in hh.loc["H4", "transition_reason"]
    # H6: recorded exited, not poor now → stays 已脱贫 in the registry, reason names the conflict
    assert hh.loc["H6", "registry_status"] == "已脱贫"
    assert "记录不一致" in hh.loc["H6", "transition_reason"]
    assert any("H4、H6" in n for n in r.notes)
    # H8 is new and not recorded as exited: 新识别 as before
    assert hh.loc["H8", "transition"] == "新识别"
