"""The explanation texts built in SQL (engine/texts_sql.py) equal the pandas builder's (engine/details.py), byte for byte.

* every household rule of every shipped pack, over random households around the parameters' thresholds with
  missing values, negative numbers, numbers needing thousands separators and rounding (half cases), dates:
  the deciding-values text of every rule for every household (``Evaluation.sql_details`` vs ``details_for``);
* a pack written for the texts (every kind of condition leaf, an ID-like field — masked, never in full —,
  money and percent units, veto / review exclusions, status rules with ``unless_excluded``, any-mode criteria):
  识别依据 / 未识别原因 and the other decision columns (``sql_decisions`` vs ``decide.identification``);
* random packs (tests/test_engine_sql.py's generator) over random rosters: the deciding values of every rule;
* the number format of the dialect against Python's ``f"{x:,.2f}"`` on doubles at rounding halves.

The not-evaluated texts (a roster lacking columns) are compared end to end in tests/test_identify_duckdb.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pack_helpers import write_pack
from test_engine_sql import PARAMETERS, random_pack
from test_engine_sql import random_roster as sql_random_roster
from test_texts_truth import REGION, YEAR, random_roster

from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.decide import identification
from fupin_cli.engine.inputs import InputPolicy
from fupin_cli.engine.loader import shipped_packs

duckdb = pytest.importorskip("duckdb")

EDGE = [-1234.5, -0.001, -0.0, 0.125, 0.375, 2.675, 0.005, 999.995, -999.995, 1234567.005, 12345678.125, 1e9 + 0.5, 2854.995,
        1e15 + 0.25, 33.335]
EDGE_INT = [-3.0, -1.0, 0.0, 1234567.0, 9876543210.0]


def _objects(s: pd.Series) -> list:
    return s.astype(object).where(s.notna(), None).tolist()


def _differences(got: pd.DataFrame, want: pd.DataFrame) -> list:
    out = []
    for col in want.columns:
        g, w = _objects(got[col]), _objects(want[col])
        out += [(col, i, a, b) for i, (a, b) in enumerate(zip(g, w)) if a != b]
    return out


def with_edges(roster, seed: int):
    """Every number column: a fifth of the values replaced by negatives, halves, large values (whole numbers in int columns)."""
    from fupin_cli import schema

    rng = np.random.default_rng(seed)
    kinds = {f.name: f.kind for f in (*schema.HOUSEHOLD_FIELDS, *schema.MEMBER_FIELDS)}
    for frame in (roster.households, roster.members):
        n = len(frame)
        for c in frame.columns:
            kind = kinds.get(c)
            if kind in ("money", "float") or (kind == "int" and c != "household_size"):
                pick = rng.random(n) < 0.2
                values = rng.choice(EDGE_INT if kind == "int" else EDGE, n)
                frame[c] = pd.array(np.where(pick, values, frame[c].astype("Float64").to_numpy(dtype=float, na_value=np.nan)), dtype="Float64")
    return roster


@pytest.mark.parametrize("pack_name", [p for p in shipped_packs() if p in YEAR])
def test_every_rule_text_of_every_shipped_pack(pack_name):
    pack = load_pack(pack_name)
    year, region = YEAR[pack_name], REGION.get(pack_name)
    roster = with_edges(random_roster(pack, year, 1200, seed=3), seed=4)
    want = evaluate(roster, pack, year, region, policy=InputPolicy(all_present=True))
    rules = [r.id for r in pack.rules if r.active(year) and r.level == "households" and r.id in want.results.columns]
    got = evaluate_duckdb_details(roster, pack, year, region, rules)
    assert list(got.columns) == rules
    bad = _differences(got, want.details_for(rules).reset_index(drop=True).set_axis(got.index))
    assert not bad, bad[:5]
    shown = got.to_numpy(dtype=object).ravel()
    assert sum("," in t for t in shown) > 100 and sum("-" in t for t in shown) > 10 and sum("缺失" in t for t in shown) > 100


def evaluate_duckdb_details(roster, pack, year, region, rules) -> pd.DataFrame:
    from fupin_cli.engine.compile_sql import evaluate_duckdb

    ev = evaluate_duckdb(roster, pack, year, region, decisions=False, checked=True, details=tuple(rules))
    return ev.sql_details


# ---- a pack written for the texts ----------------------------------------------------------------
TEXT_PARAMETERS = {
    "line": "{label: 国家扶贫标准, unit: 元/人·年, values: [{year: 2015, value: 2855}]}",
    "share": "{label: 耕地上限, unit: 亩, values: [{year: 2015, value: 2.5}]}",
    "rate": "{label: 务工比例, unit: '%', values: [{year: 2015, value: 30}]}",
    "kinds": "{label: 认定属性, values: [{year: 2015, value: [一般贫困户, 低保贫困户]}]}",
    "mode_income": "{label: 高收入否决, values: [{year: 2015, value: veto}]}",
    "mode_cadre": "{label: 村干部, values: [{year: 2015, value: review}]}",
    "gap_mode": "{label: 缺口, values: [{year: 2015, value: poor}]}",
}
TEXT_DERIVED = [
    {"id": "member_count", "label": "成员人数", "over": "members", "agg": "count"},
    {"id": "income_pc", "label": "人均纯收入（采用）", "expr": "coalesce(income_per_capita, net_income / household_size)"},
    {"id": "wage_share", "label": "工资性收入占比", "expr": "wage_income / annual_income * 100"},
]
TEXT_RULES = [
    {"id": "c_income", "kind": "criterion", "label": "收入低于标准", "when": "income_pc < param.line"},
    {"id": "c_land", "kind": "criterion", "mode": "any", "label": "耕地少", "when": "arable_land between 0 and param.share"},
    {"id": "c_house", "kind": "criterion", "mode": "any", "label": "住房困难",
     "when": "coalesce(unsafe_housing, false) or (housing_area < 20 and not safe_water)"},
    {"id": "x_income", "kind": "exclusion", "label": "经营收入高", "mode": "param.mode_income",
     "when": "coalesce(business_income - business_expense >= 50000, false) and not coalesce(recorded_attribute in param.kinds, false)"},
    {"id": "x_head", "kind": "exclusion", "label": "户主证件号码在黑名单", "mode": "veto",
     "when": "head_id_number in ['110101199003071234', '5001011990'] or bank_account == '6228480012345678901'"},
    {"id": "x_cadre", "kind": "exclusion", "label": "监测登记早且有因病风险", "mode": "param.mode_cadre",
     "when": "contains(risk_types, '因病') and monitoring_start < '2016-01-01' and year(monitoring_start) >= 2010"},
    {"id": "s_gap", "kind": "status", "label": "收入达标但住房不安全", "value": "param.gap_mode", "unless_excluded": True,
     "priority": 20, "when": "income_pc >= param.line and coalesce(unsafe_housing == true, false)"},
    {"id": "s_size", "kind": "status", "label": "人口数不符", "value": "待核实", "priority": 10,
     "when": "household_size is not missing and household_size != member_count and member_count > 0"},
    {"id": "s_wage", "kind": "status", "label": "务工比例高", "value": "非贫困户", "priority": 30,
     "when": "round(wage_share, 1) > param.rate and min(wage_income, annual_income) > abs(business_expense)"},
    {"id": "a_dibao", "kind": "attribute", "label": "低保", "value": "低保贫困户", "when": "dibao_household"},
    {"id": "a_default", "kind": "attribute", "label": "一般", "value": "一般贫困户", "default": True},
    {"id": "k_house", "kind": "cause", "cause": "因灾", "label": "住房", "when": "coalesce(unsafe_housing, false)"},
    {"id": "k_land", "kind": "cause", "cause": "缺土地", "label": "土地", "when": "arable_land < 1"},
    {"id": "m_house", "kind": "measure", "cause": "因灾", "label": "危改", "measures": ["危房改造", "易地搬迁"], "when": "true"},
    {"id": "m_land", "kind": "measure", "cause": "缺土地", "label": "产业", "measures": ["产业扶持", "易地搬迁"], "when": "true"},
    {"id": "q_land", "kind": "cause_check", "cause": "缺土地", "label": "核查", "message": "缺土地但耕地多",
     "severity": "warning", "when": "arable_land >= 5"},
]


def text_roster(n: int, seed: int):
    from fupin_cli.roster import Roster

    rng = np.random.default_rng(seed)

    def num(values, p_missing=0.1):
        return pd.array(np.where(rng.random(n) < p_missing, np.nan, rng.choice(values, n)), dtype="Float64")

    def flag():
        return pd.array(rng.choice([True, False, None], n, p=[0.3, 0.6, 0.1]), dtype="boolean")

    ids = ["110101199003071234", "5001011990", "500101198001011239", "12345", None]
    hh = pd.DataFrame({
        "household_id": [f"H{i}" for i in range(n)],
        "income_per_capita": num([1000.0, 2854.995, 2855.0, 2855.005, 3100.5, -120.25, 1234567.891, 0.125], 0.2),
        "net_income": num([8000.0, 10000.0, -500.0, 12345.675]),
        "household_size": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(1, 6, n)), dtype="Int64"),
        "arable_land": num([0.0, 0.5, 2.5, 2.505, 7.125, -1.0]),
        "housing_area": num([10.0, 19.995, 20.0, 85.5]),
        "unsafe_housing": flag(), "safe_water": flag(), "dibao_household": flag(),
        "business_income": num([0.0, 60000.0, 123456.785, 49999.995]),
        "business_expense": num([0.0, 9999.995, -10.5, 70000.0]),
        "wage_income": num([0.0, 3000.0, 4500.55, 1e7]),
        "annual_income": num([0.0, 10000.0, 15000.0]),
        "recorded_attribute": pd.array(rng.choice(["一般贫困户", "低保贫困户", "特困供养贫困户", None], n), dtype="str"),
        "recorded_primary_cause": pd.array(rng.choice(["缺土地", "因灾", None], n), dtype="str"),
        "head_id_number": pd.array(rng.choice(ids, n), dtype="str"),
        "bank_account": pd.array(rng.choice(["6228480012345678901", "6228", None], n), dtype="str"),
        "risk_types": pd.array(rng.choice(["因病", "因病、因残", "因学", None], n), dtype="str"),
        "monitoring_start": pd.to_datetime(pd.Series(rng.choice(["2009-12-31", "2015-06-30", "2016-01-01", None], n))),
    })
    sizes = rng.integers(0, 4, n)
    mem = pd.DataFrame({"household_id": np.repeat(hh["household_id"].to_numpy(), sizes)})
    return Roster(hh, mem)


@pytest.fixture(scope="module")
def text_pack(tmp_path_factory):
    return load_pack(write_pack(tmp_path_factory.mktemp("textpack"), TEXT_RULES, TEXT_DERIVED, name="texts", parameters=TEXT_PARAMETERS))


def test_identification_texts_of_a_pack_written_for_them(text_pack):
    roster = text_roster(3000, seed=8)
    want_ev = evaluate(roster, text_pack, 2016)
    assert not want_ev.not_evaluated
    want = identification(want_ev)
    got = evaluate(roster, text_pack, 2016, backend="duckdb")
    assert got.backend == "duckdb"
    assert list(got.sql_decisions.columns) == ["status", "attribute", "primary_cause", "secondary_causes", "cause_check", "measures",
                                               "basis", "not_identified_reason"]
    bad = _differences(got.sql_decisions, want[got.sql_decisions.columns])
    assert not bad, bad[:5]
    # every path through the texts was taken
    reasons, basis = want["not_identified_reason"].astype(str), want["basis"].astype(str)
    for words in ("未满足“", "待核实：", "，提交民主评议", "户主证件号码在黑名单", "收入达标但住房不安全", "务工比例高", "人口数不符", " 元",
                  "%", "2015-06-30", " 含 ", " 不属于 ", " 在 ", "缺失（按 否）"):
        assert reasons.str.contains(words, regex=False).any() or basis.str.contains(words, regex=False).any(), words
    texts = " ".join(reasons) + " ".join(basis)
    assert "110101199003071234" not in texts and "6228480012345678901" not in texts and "110101********1234" in texts
    rules = [r["id"] for r in TEXT_RULES if r["kind"] != "attribute" or not r.get("default")]
    details = evaluate_duckdb_details(roster, text_pack, 2016, None, rules)
    bad = _differences(details, want_ev.details_for(rules).reset_index(drop=True).set_axis(details.index))
    assert not bad, bad[:5]


# ---- random packs ------------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=random_pack(), seed=st.integers(0, 2**16))
def test_random_packs_deciding_values(spec, seed):
    derived, rules = spec
    with tempfile.TemporaryDirectory() as tmp:
        write_pack(Path(tmp), rules, derived, name="random", parameters=PARAMETERS)
        pack = load_pack(tmp)
        roster, _, _ = sql_random_roster(seed, 1000)
        want = evaluate(roster, pack, 2016, policy=InputPolicy(all_present=True))
        ids = [r.id for r in pack.rules if r.active(2016) and r.level == "households" and r.id in want.results.columns]
        if not ids:
            return
        got = evaluate_duckdb_details(roster, pack, 2016, None, ids)
        bad = _differences(got, want.details_for(ids).reset_index(drop=True).set_axis(got.index))
        assert not bad, (rules, bad[:5])


# ---- numbers ----------------------------------------------------------------------------------------
def halves(seed: int, n: int = 4000) -> np.ndarray:
    """Doubles at and around rounding halves of 2 and 0 decimals, negatives, large and tiny values."""
    rng = np.random.default_rng(seed)
    cents = rng.integers(-10**9, 10**9, n)
    out = np.concatenate([(cents + 0.5) / 100, (cents + 0.5), cents / 1000 + 0.0005, rng.normal(0, 1e6, n), rng.normal(0, 1, n),
                          np.array([0.0, -0.0, 0.005, 0.015, 0.025, 1e15 + 0.5, 2.0**53, -(2.0**52) - 0.5, 1e-320])])
    return out


def test_number_format_of_the_duckdb_dialect_is_pythons():
    import pyarrow as pa

    from fupin_cli.engine.compile_sql import DUCKDB

    x = halves(1)
    con = duckdb.connect()
    con.register("t", pa.table({"x": x}))
    got = con.sql(f"SELECT {DUCKDB.format_number('x', 2)} AS a, {DUCKDB.format_number('x', 0)} AS b FROM t").df()
    assert got["a"].tolist() == [f"{v:,.2f}" for v in x.tolist()]
    assert got["b"].tolist() == [f"{v:,.0f}" for v in x.tolist()]
