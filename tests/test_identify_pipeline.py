"""identify() end to end on generated rosters (in memory): decisions match the generator's truth."""

from __future__ import annotations

import pandas as pd
import pytest

from fupin_cli.core.identify import DATA_ERROR_PREFIX, identify, publicity_list
from fupin_cli.core.quota import OVER_QUOTA, parse_quota
from fupin_cli.engine import load_pack
from fupin_cli.errors import DataError
from fupin_cli.findings import make_findings
from fupin_cli.samples.generate import generate_roster


@pytest.fixture(scope="module")
def pack():
    return load_pack("national-2014")


@pytest.fixture(scope="module")
def clean():
    return generate_roster(300, seed=7)


@pytest.fixture(scope="module")
def result(clean, pack):
    roster, _ = clean
    return identify(roster, pack, 2015, version="9.9", run_time="2026-01-01T00:00:00+00:00")


def test_status_matches_truth(clean, result):
    _, truth = clean
    got = result.households.set_index("household_id")["status"]
    expected = truth.households.set_index("household_id")["expected_status"].reindex(got.index)
    assert (got == expected).all()
    assert result.counts["excluded_households"] == 0  # national-2014: exclusions are review (待核实), none is a veto
    assert result.counts["households_read"] == 300
    assert result.counts["poor_households"] == int((expected == "贫困户").sum())


def test_register_columns_and_values(result):
    hh = result.households
    assert hh.columns[0] == "household_id"
    # the sample has no 灾害损失 column, nor the columns of the five exclusion conditions added by issue 9
    # (review mode: any of them could turn a 贫困户 into 待核实): 未评估规则 marks the households these rules
    # could have changed — every one not 非贫困户 — and names the missing columns
    assert list(hh.columns[-13:]) == ["status", "attribute", "primary_cause", "secondary_causes", "measures", "basis",
                                      "not_identified_reason", "cause_check", "not_evaluated", "member_count", "assessment_year",
                                      "pack", "_row"]
    not_evaluated = "；".join(f"{label}（未评估：花名册没有{cols}，无法核实）" for label, cols in (
        ("当年遭受较大灾害损失", "灾害损失列"), ("子女或赡养人为国家公职人员", "子女或赡养人为公职人员列"),
        ("拥有大型农机具或工程机械", "大型农机或工程机械列"), ("新建或高档装修住房", "新建或高档装修住房列"),
        ("个体工商户或专业合作社负责人", "合作社负责人列、个体工商户列"), ("有商业养老保险或高档消费", "有商业养老保险列、高档消费列")))
    assert (hh.loc[hh["status"] != "非贫困户", "not_evaluated"] == not_evaluated).all()
    assert hh.loc[hh["status"] == "非贫困户", "not_evaluated"].isna().all()
    poor = hh[hh["status"] == "贫困户"]
    assert poor["attribute"].notna().all() and poor["primary_cause"].notna().all()
    assert poor["basis"].str.contains("国家扶贫标准 2,855 元（2015，国家）", regex=False).all()
    assert poor["not_identified_reason"].isna().all()
    not_poor = hh[hh["status"] == "非贫困户"]
    assert not_poor["not_identified_reason"].notna().all() and not_poor["attribute"].isna().all()
    assert (hh["pack"] == "national-2014@" + hh["pack"].str.split("@").str[1]).all()
    assert (hh["assessment_year"] == 2015).all()
    m = result.members
    assert len(m) == result.counts["members_read"]
    assert list(m.columns[:4]) == ["household_id", "township", "village", "head_name"]
    joined = m.merge(hh[["household_id", "status"]], on="household_id", suffixes=("", "_hh"))
    assert (joined["status"] == joined["status_hh"]).all()


def test_provenance(result, pack):
    p = result.provenance
    assert p["pack"]["name"] == "national-2014" and p["pack"]["content_hash"] == pack.sha256
    assert p["year"] == 2015 and p["region"] == "国家" and p["version"] == "9.9"
    assert p["parameters"]["poverty_line"]["value"] == 2855
    assert p["parameters"]["poverty_line"]["year"] == 2015
    assert p["inputs"] == []  # in-memory roster: no files


def test_summary_and_causes_agree_with_register(result):
    total = result.summary.iloc[-1]
    assert total["poor_households"] == result.counts["poor_households"]
    assert total["poor_people"] == result.counts["poor_people"]
    assert result.causes.households == result.counts["poor_households"]
    assert int(result.causes.by_cause["households"].sum()) == result.counts["poor_households"]


def test_publicity_list_masks_ids(result):
    pub = publicity_list(result.households, result.members)
    assert len(pub) == result.counts["poor_households"]
    assert pub["head_id_masked"].str.fullmatch(r"\d{6}\*{8}[\dX]{4}").all()


def test_errors_stop_unless_allowed(clean, pack):
    roster, _ = clean
    target = roster.households["household_id"].iloc[[0, 5]].tolist()
    findings = make_findings([
        {"severity": "error", "check": "id.checksum", "file": "r.xlsx", "sheet": "花名册", "row": 10, "column": "证件号码",
         "household_id": target[0], "message": "证件号码校验位错误 500230********1234"},
        {"severity": "error", "check": "required", "file": "r.xlsx", "sheet": "花名册", "row": 30, "column": "家庭人口数",
         "household_id": target[1], "message": "家庭人口数缺失"},
    ])
    with pytest.raises(DataError) as e:
        identify(roster, pack, 2015, findings=findings)
    assert e.value.exit_code == 1
    assert e.value.message == "synthetic(seed=7): 2 data errors in 2 households; identification stopped"
    assert "fupin validate" in e.value.hint and "--allow-errors" in e.value.hint
    res = identify(roster, pack, 2015, findings=findings, allow_errors=True)
    hh = res.households.set_index("household_id")
    assert hh.loc[target, "status"].tolist() == ["待核实", "待核实"]
    assert hh.loc[target[0], "not_identified_reason"] == DATA_ERROR_PREFIX + "证件号码：证件号码校验位错误 500230********1234"
    assert hh.loc[target, "attribute"].isna().all()
    assert res.counts["findings"]["error"] == 2


def test_quota_moves_the_least_poor_to_pending(clean, pack, result):
    roster, _ = clean
    poor = result.households[result.households["status"] == "贫困户"]
    village = poor["village"].value_counts().index[0]
    vpoor = poor[poor["village"] == village]
    limit = int(vpoor["household_size"].sum()) - 1  # one person short: at least one household goes
    q = parse_quota(pd.DataFrame({"行政村": [village], "指标": [limit]}))
    res = identify(roster, pack, 2015, quota=q)
    after = res.households.set_index("household_id").loc[vpoor["household_id"]]
    moved = after[after["status"] == "待核实"]
    assert len(moved) >= 1
    assert moved["not_identified_reason"].str.startswith(OVER_QUOTA).all()
    kept = after[after["status"] == "贫困户"]
    assert kept["household_size"].sum() <= limit
    ev = res.evaluation.households.set_index(res.households["household_id"])
    assert ev.loc[moved.index, "income_pc"].min() >= ev.loc[kept.index, "income_pc"].max()
    row = res.quota[res.quota["village"] == village].iloc[0]
    assert row["quota"] == limit and row["over_households"] == len(moved)


def test_estimates_become_register_columns(clean):
    roster, _ = clean
    res = identify(roster, load_pack("chongqing"), 2016, region="重庆")
    cols = [c for c in res.households.columns if c.startswith("测算：")]
    assert "测算：扶贫小额信贷可贷额度上限（元）" in cols
    assert cols == [c for c in res.households.columns[-(len(cols) + 4):-4]]  # before 成员人数, 识别年度, 规则包, 原表行号
    limit = res.households["测算：扶贫小额信贷可贷额度上限（元）"]
    assert limit.notna().any() and set(limit.dropna().unique()) == {50000.0}
    assert res.provenance["region"] == "重庆" and res.provenance["pack"]["name"] == "chongqing"
