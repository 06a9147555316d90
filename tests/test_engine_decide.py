"""Decision helpers: identification, exit, monitoring, estimates, checks; scenario runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.decide import (
    check_findings,
    county_exit,
    estimates,
    household_exit,
    identification,
    monitoring,
    village_exit,
)
from fupin_cli.engine.explain import explain, tree_lines
from fupin_cli.engine.scenarios import run_scenarios
from fupin_cli.errors import RuleError, UsageError
from fupin_cli.roster import Roster

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests/data/packs/mini"
NO_MEMBERS = pd.DataFrame({"household_id": pd.Series([], dtype="str")})


@pytest.fixture(scope="module")
def mini():
    return load_pack(MINI)


def households(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"household_id": [f"H{i + 1}" for i in range(n)], "has_public_employee": pd.array([False] * n, dtype="boolean")}
    base.update(cols)
    return pd.DataFrame(base)


def test_identification_statuses_and_reasons(mini):
    hh = households(
        income_per_capita=pd.array([2310, 3500, None, 1000, 2900, 1000], dtype="Float64"),
        household_size=pd.array([2, 2, 2, 2, 2, 1], dtype="Int64"),
        has_public_employee=pd.array([False, False, False, True, False, None], dtype="boolean"),
        dibao_household=pd.array([False, False, False, False, False, True], dtype="boolean"),
    )
    mem = pd.DataFrame({"household_id": ["H1", "H1", "H6"], "health": ["患有大病", "残疾", "健康"],
                        "labour": ["普通劳动力", "无劳动力", "无劳动力"]})
    ev = evaluate(Roster(hh, mem), mini, 2015)
    dec = identification(ev)
    # the members have no 是否辍学 / 在校生状况 / 年龄 columns: the rules that need them are not evaluated, and listed
    assert list(dec.columns) == ["status", "attribute", "primary_cause", "secondary_causes", "measures", "basis", "not_identified_reason", "cause_check", "not_evaluated"]
    assert {r.rule_id for r in ev.not_evaluated_rules()} == set(ev.not_evaluated)
    assert dec["status"].astype(str).tolist() == ["贫困户", "非贫困户", "待核实", "非贫困户", "待核实", "待核实"]
    row = dec.iloc[0]
    assert row["basis"] == "人均纯收入低于扶贫标准（人均纯收入 2,310.00 元，低于国家扶贫标准 2,855 元（2015，国家））"
    assert (row["attribute"], row["primary_cause"], row["secondary_causes"]) == ("一般贫困户", "因病", "因残")
    assert row["measures"] == "健康帮扶；医疗救助"
    assert row["not_identified_reason"] == ""
    assert dec.iloc[1]["not_identified_reason"] == "未满足“人均纯收入低于扶贫标准”：人均纯收入 3,500.00 元，不低于国家扶贫标准 2,855 元（2015，国家）"
    assert dec.iloc[1]["basis"] == "" and pd.isna(dec.iloc[1]["primary_cause"])
    assert dec.iloc[2]["not_identified_reason"] == "待核实：人均纯收入低于扶贫标准（人均纯收入 缺失）"
    assert dec.iloc[3]["not_identified_reason"] == "家庭成员有国家公职人员（有国家公职人员 是）"
    # a status rule overrides (收入接近标准 → 待核实), its text comes first
    assert dec.iloc[4]["not_identified_reason"].startswith("收入接近扶贫标准，需入户核实（人均纯收入 2,900.00 在 国家扶贫标准 2,855 元（2015，国家） 与 国家扶贫标准 ＋ 100 为 2,955.00 之间）")
    # eligible but an exclusion is unknown → 待核实 naming the missing input
    assert dec.iloc[5]["not_identified_reason"] == "待核实：家庭成员有国家公职人员（有国家公职人员 缺失）"
    assert dec.iloc[5]["primary_cause"] == "缺劳力"  # causes are suggested for 待核实 too
    assert str(dec["primary_cause"].dtype) == "category" and str(dec["status"].dtype) == "category"


def test_attribute_priority_and_default(mini):
    hh = households(income_per_capita=pd.array([1000] * 3, dtype="Float64"),
                    tekun_household=pd.array([True, False, False], dtype="boolean"),
                    dibao_household=pd.array([True, True, False], dtype="boolean"))
    dec = identification(evaluate(Roster(hh, NO_MEMBERS), mini, 2015))
    assert dec["attribute"].astype(str).tolist() == ["特困供养贫困户", "低保贫困户", "一般贫困户"]
    # no member rows: labourer_count cannot be computed, so 缺劳力 is not evaluated (never read as "0 labourers")
    ev = evaluate(Roster(hh, NO_MEMBERS), mini, 2015)
    assert dec["primary_cause"].astype(str).tolist() == ["其他"] * 3
    assert {r.fields for r in ev.not_evaluated_rules() if r.kind == "cause"} == {("members",)}


def test_no_cause_gives_other(mini):
    hh = households(income_per_capita=pd.array([1000], dtype="Float64"))
    mem = pd.DataFrame({"household_id": ["H1"], "health": ["健康"], "labour": ["普通劳动力"], "dropout": pd.array([False], dtype="boolean")})
    dec = identification(evaluate(Roster(hh, mem), mini, 2015))
    assert (dec.iloc[0]["primary_cause"], dec.iloc[0]["secondary_causes"], dec.iloc[0]["measures"]) == ("其他", "", "")


def test_cause_check_flags_recorded_cause(mini):
    hh = households(income_per_capita=pd.array([1000, 1000], dtype="Float64"), recorded_primary_cause=pd.Series(["因病", "因残"], dtype="str"))
    mem = pd.DataFrame({"household_id": ["H1", "H2"], "health": ["健康", "健康"], "labour": ["普通劳动力"] * 2})
    dec = identification(evaluate(Roster(hh, mem), mini, 2015))
    assert dec["cause_check"].tolist() == ["主要致贫原因为因病，但家庭成员均健康", ""]


def test_household_exit(mini):
    hh = households(income_per_capita=pd.array([3000, 2000, 3000], dtype="Float64"),
                    unsafe_housing=pd.array([False, True, None], dtype="boolean"))
    out = household_exit(evaluate(Roster(hh, NO_MEMBERS), mini, 2015))
    assert out["exit_result"].tolist() == ["脱贫", "未脱贫", "待核实"]
    assert out["exit_unmet"].tolist() == [
        "",
        "未满足“人均纯收入稳定超过扶贫标准”：人均纯收入 2,000.00 元，不高于国家扶贫标准 2,855 元（2015，国家）；未满足“住房安全有保障”：是否危房 是",
        "待核实：住房安全有保障（是否危房 缺失）",
    ]


def test_village_and_county_exit(mini):
    villages = pd.DataFrame({"village": ["甲村", "乙村", "丙村"], "incidence": [1.9, 2.5, None]})
    out = village_exit(villages, mini, 2016)
    assert out["exit_result"].tolist() == ["退出", "未退出", "待核实"]
    assert out["exit_unmet"].tolist()[1] == "未满足“贫困发生率低于标准”：贫困发生率(%) 2.50，不低于贫困村退出贫困发生率 2%（2014，国家）"
    assert village_exit(villages, mini, 2016, "重庆")["exit_result"].tolist() == ["退出", "退出", "待核实"]
    with pytest.raises(RuleError) as info:
        county_exit(pd.DataFrame({"county": ["甲县"]}), mini, 2016)
    assert info.value.message == "rule pack mini@1.0 has no county_exit rules for 2016"


def test_estimates_and_checks(mini):
    hh = households(household_size=pd.array([3, 2], dtype="Int64"), relocated=pd.array([True, False], dtype="boolean"),
                    _source=["a.xlsx", "a.xlsx"], _sheet=["户", "户"], _row=pd.array([5, 6], dtype="Int64"))
    mem = pd.DataFrame({"household_id": ["H1", "H2"], "birth_date": pd.to_datetime(["1890-01-01", "1990-01-01"]),
                        "_source": ["a.xlsx"] * 2, "_sheet": ["人"] * 2, "_row": pd.array([3, 4], dtype="Int64")})
    ev = evaluate(Roster(hh, mem), mini, 2015)
    est = estimates(ev)
    assert est["relocation_subsidy"].astype(object).tolist() == [30000.0, pd.NA]
    assert estimates(ev, labels=True).columns.tolist() == ["搬迁补助"]
    f = check_findings(ev)
    assert f[["severity", "check", "file", "sheet", "row", "household_id", "message", "hint"]].astype(object).values.tolist() == [
        ["warning", "member_age_check", "a.xlsx", "人", 3, "H1", "年龄超过 110 岁（年龄 125，高于 110）", "核对出生日期"],
    ]


def test_monitoring_pack():
    pack = load_pack("monitoring-2021")
    assert pack.rules_of("monitoring") and pack.rules_of("risk")


def test_monitoring_generic(tmp_path):
    p = tmp_path / "mon"
    p.mkdir()
    (p / "pack.yaml").write_text('pack: {name: mon, version: "1"}\n', encoding="utf-8")
    (p / "parameters.yaml").write_text("parameters:\n  line:\n    label: 监测范围\n    values: [{year: 2021, value: 6000}]\n", encoding="utf-8")
    (p / "rules.yaml").write_text(
        "rules:\n"
        "  - {id: unstable, kind: monitoring, label: 脱贫不稳定, category: 脱贫不稳定户, priority: 1, when: \"exit_status == '已脱贫' and income_per_capita < param.line\"}\n"
        "  - {id: edge, kind: monitoring, label: 边缘, category: 边缘易致贫户, priority: 2, when: income_per_capita < param.line}\n"
        "  - {id: r_ill, kind: risk, label: 因病, risk_type: 因病, when: medical_expense > 10000}\n"
        "  - {id: r_dis, kind: risk, label: 因灾, risk_type: 因灾, when: disaster_loss > 0}\n"
        "  - {id: e_income, kind: elimination, label: 收入稳定超过监测范围, when: income_per_capita >= param.line}\n",
        encoding="utf-8",
    )
    pack = load_pack(p)
    hh = pd.DataFrame({"household_id": ["A", "B", "C", "D"], "exit_status": pd.Series(["已脱贫", None, None, None], dtype="str"),
                       "income_per_capita": pd.array([5000, 5000, 9000, None], dtype="Float64"),
                       "medical_expense": pd.array([20000, 0, 0, 0], dtype="Float64"),
                       "disaster_loss": pd.array([100, 0, 0, 0], dtype="Float64")})
    out = monitoring(evaluate(Roster(hh, NO_MEMBERS), pack, 2022))
    assert out["monitoring_result"].tolist() == ["脱贫不稳定户", "边缘易致贫户", "", "待核实"]
    assert out["risk_types"].tolist() == ["因病、因自然灾害", "", "", ""]
    assert out["elimination_result"].tolist() == ["未消除", "未消除", "风险消除", "待核实"]


def test_explain_tree(mini):
    hh = households(income_per_capita=pd.array([2310], dtype="Float64"), head_name=["张三"])
    mem = pd.DataFrame({"household_id": ["H1", "H1"], "name": ["张三", "李四"], "relation": ["户主", "配偶"],
                        "health": ["患有大病", "健康"], "labour": ["普通劳动力", "无劳动力"]})
    tree = explain(Roster(hh, mem), mini, 2015, None, "H1")
    assert tree.label == "户 H1（户主 张三）" and tree.value == "贫困户"
    crit = next(n for n in tree.walk() if n.rule_id == "income_below_line")
    assert (crit.label, crit.expr, crit.result) == ("人均纯收入低于扶贫标准", "人均纯收入低于国家扶贫标准", True)
    param = next(n for n in crit.walk() if n.kind == "param")
    assert param.value == "2,855（2015年，国家，来源：《云南调查年鉴2017》表4-2注）"
    members = [n.label for n in tree.walk() if n.kind == "member"]
    assert "张三（户主）" in members and "李四（配偶）" in members
    d = tree.to_dict()
    assert d["label"] == "户 H1（户主 张三）" and isinstance(d["children"], list)
    assert tree_lines(tree)[0] == "户 H1（户主 张三）：贫困户"
    with pytest.raises(UsageError):
        explain(Roster(hh, mem), mini, 2015, None, "H9")


# ---- scenario runner -------------------------------------------------------------------
def test_run_scenarios_mini_pass():
    results = run_scenarios(MINI)
    assert [(r.name, r.passed) for r in results] == [
        ("poor household with an ill member", True),
        ("income exactly at the line needs checking", True),
        ("income well above the line is not poor", True),
    ]


def test_run_scenarios_reports_failures_with_explanation(tmp_path):
    pack = tmp_path / "p"
    shutil.copytree(MINI, pack)
    (pack / "tests" / "bad.yaml").write_text(
        "tests:\n"
        "  - name: wrong status\n"
        "    year: 2015\n"
        "    household: {household_id: X, household_size: 1, income_per_capita: 1000, has_public_employee: false}\n"
        "    expect: {status: 非贫困户, fired: [public_employee], not_fired: [income_below_line], income_pc: 1000, relocation_subsidy: null}\n"
        "  - name: error expected\n"
        "    year: 2010\n"
        "    household: {household_id: Y}\n"
        "    expect: {error: poverty_line}\n"
        "  - name: unknown things\n"
        "    year: 2015\n"
        "    household: {household_id: Z, incme: 1}\n"
        "    expect: {statuss: 贫困户, fired: [no_such_rule, old_rule]}\n"
        "  - name: village\n"
        "    year: 2015\n"
        "    region: 西部\n"
        "    village: {village: 甲村, incidence: 2.5}\n"
        "    expect: {exit_result: 退出, fired: [village_incidence]}\n",
        encoding="utf-8",
    )
    results = {r.name: r for r in run_scenarios(pack)}
    wrong = results["wrong status"]
    assert not wrong.passed and wrong.line == 2
    assert wrong.failures == [
        "status: expected '非贫困户', got '贫困户'",
        "fired: expected public_employee to fire, got not fired",
        "not_fired: expected income_below_line not to fire, but it fired",
    ]
    assert wrong.explanation.splitlines()[0] == "户 X：贫困户"
    assert results["error expected"].passed
    assert results["unknown things"].failures == [
        "household field 'incme' is not a known field (did you mean 'net_income'?)",
        "statuss: unknown expect key (did you mean 'status'?) (use a decision column, a derived field, an estimate rule id, fired, not_fired or error)",
        "fired: unknown rule id 'no_such_rule' (did you mean 'old_rule'?)",
        "fired: rule 'old_rule' is not in force in 2015",
    ]
    assert results["village"].passed


def test_id_numbers_are_masked_in_texts(tmp_path):
    p = tmp_path / "ids"
    p.mkdir()
    (p / "pack.yaml").write_text('pack: {name: ids, version: "1"}\n', encoding="utf-8")
    (p / "rules.yaml").write_text(
        "rules:\n  - {id: has_id, kind: check, over: members, label: 有证件号, message: 证件号已填写, when: id_number is not missing}\n"
        "  - {id: head_id, kind: check, label: 户主证件号, message: 户主证件号, when: \"head_id_number != ''\"}\n",
        encoding="utf-8",
    )
    pack = load_pack(p)
    hh = pd.DataFrame({"household_id": ["H1"], "head_id_number": ["50010119900101123X"]})
    mem = pd.DataFrame({"household_id": ["H1"], "id_number": ["500101199001011234"]})
    ev = evaluate(Roster(hh, mem), pack, 2015)
    messages = check_findings(ev)["message"].tolist()
    assert messages == ["证件号已填写（证件号码 500101********1234）", "户主证件号（户主证件号码 500101********123X，不等于 空值）"]
    tree = explain(Roster(hh, mem), pack, 2015, None, "H1")
    assert all("50010119900101123X" not in n.value for n in tree.walk())
