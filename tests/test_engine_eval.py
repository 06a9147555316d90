"""Vectorised evaluation: semantics of missing values, derived fields, and properties
(vectorised == scalar interpreter on random households; row order never changes results)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.compile_pandas import FrameEvaluator
from fupin_cli.engine.derive import household_types, member_ages, member_types
from fupin_cli.engine.explain import row_values, scalar_household
from fupin_cli.engine.expr import parse
from fupin_cli.engine.inputs import InputPolicy
from fupin_cli.engine.interpret import Interpreter
from fupin_cli.engine.typecheck import FLOAT, INT, check, household_scope
from fupin_cli.errors import RuleError
from fupin_cli.roster import Roster

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests/data/packs/mini"
PARAMS = {"line": INT, "rate": FLOAT}
PVALUES = {"line": 2855, "rate": 0.5}


@pytest.fixture(scope="module")
def mini():
    return load_pack(MINI)


def frame(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


def run(expr: str, df: pd.DataFrame) -> list:
    node, _ = check(parse(expr), household_scope({}, PARAMS))
    types = household_types(type("P", (), {"field_types": {}})())
    fe = FrameEvaluator(df, types, PVALUES)
    value = fe.eval(node)
    if hasattr(value, "isna") and not isinstance(value, pd.Series):
        return [None if v is pd.NA else bool(v) for v in value]
    if isinstance(value, np.ndarray):
        return [None if (v != v) else float(v) for v in value.tolist()] if value.dtype.kind == "f" else list(value)
    return list(value)


# ---- semantics -------------------------------------------------------------------------
def test_comparison_with_missing_is_unknown():
    df = frame(income_per_capita=pd.array([2000, None, 3000], dtype="Float64"))
    assert run("income_per_capita < param.line", df) == [True, None, False]


def test_kleene_logic():
    df = frame(has_vehicle=pd.array([False, None, True, None], dtype="boolean"),
               has_company=pd.array([None, True, None, None], dtype="boolean"))
    assert run("has_vehicle and has_company", df) == [False, None, None, None]
    assert run("has_vehicle or has_company", df) == [None, True, True, None]
    assert run("not has_vehicle", df) == [True, None, False, None]


def test_is_missing_is_never_unknown():
    df = frame(income_per_capita=pd.array([1.0, None], dtype="Float64"))
    assert run("income_per_capita is missing", df) == [False, True]
    assert run("income_per_capita is not missing", df) == [True, False]


def test_division_by_zero_is_missing_and_arithmetic_propagates():
    df = frame(net_income=pd.array([100, 100, None], dtype="Float64"), household_size=pd.array([4, 0, 2], dtype="Int64"))
    assert run("net_income / household_size", df) == [25.0, None, None]


def test_between_is_inclusive_and_in_lists():
    df = frame(income_per_capita=pd.array([2855, 2955, 2956, None], dtype="Float64"),
               recorded_primary_cause=pd.Series(["因病", "缺劳力", None, "其他"], dtype="str"))
    assert run("income_per_capita between param.line and param.line + 100", df) == [True, True, False, None]
    assert run("recorded_primary_cause in ['因病', '缺劳动力']", df) == [True, True, None, False]
    assert run("recorded_primary_cause not in ['因病']", df) == [False, True, None, True]


def test_functions():
    df = frame(wage_income=pd.array([100.4, None, -5], dtype="Float64"), business_income=pd.array([1, 2, None], dtype="Float64"),
               monitoring_start=pd.to_datetime(["2021-03-01", None, "2019-12-31"]),
               risk_types=pd.Series(["因病、因学", "缺劳动力", None], dtype="str"))
    assert run("coalesce(wage_income, business_income)", df) == [100.4, 2.0, -5.0]
    assert run("max(wage_income, 0)", df) == [100.4, None, 0.0]
    assert run("round(wage_income)", df) == [100.0, None, -5.0]
    assert run("abs(wage_income)", df) == [100.4, None, 5.0]
    assert run("year(monitoring_start) >= 2020", df) == [True, None, False]
    assert run("monitoring_start >= '2020-01-01'", df) == [True, None, False]
    assert run("contains(risk_types, '因学')", df) == [True, False, None]
    assert run("contains(risk_types, '因缺劳动力')", df) == [False, True, None]  # spelling 缺劳动力 matches


def test_missing_column_is_all_missing():
    df = frame(household_id=["H1", "H2"])
    assert run("has_vehicle", df) == [None, None]
    assert run("has_vehicle is missing", df) == [True, True]


def test_bool_words_in_text_columns_are_understood():
    df = frame(has_vehicle=pd.Series(["是", "否", "√", None, "maybe"], dtype="object"))
    assert run("has_vehicle", df) == [True, False, True, None, None]


# ---- derived fields ------------------------------------------------------------------
def roster_a() -> Roster:
    hh = pd.DataFrame({
        "household_id": ["H1", "H2", "H3", "H4"],
        "household_size": pd.array([2, 1, 1, None], dtype="Int64"),
        "net_income": pd.array([4620, 3000, None, 1000], dtype="Float64"),
        "income_per_capita": pd.array([None, None, None, 1500], dtype="Float64"),
    })
    mem = pd.DataFrame({
        "household_id": ["H1", "H1", "H2", "X9"],
        "health": pd.Series(["患有大病", "健康", None, "残疾"], dtype="str"),
        "labour": pd.Series(["普通劳动力", "无劳动力", "技能劳动力", "普通劳动力"], dtype="str"),
        "birth_date": pd.to_datetime(["1950-06-30", None, "2009-01-01", "1990-01-01"]),
        "id_number": pd.Series([None, "50010119801231123X", None, None], dtype="str"),
        "dropout": pd.array([False, False, True, False], dtype="boolean"),
    })
    return Roster(hh, mem)


def test_member_aggregates_and_empty_households(mini):
    ev = evaluate(roster_a(), mini, 2015)
    hh = ev.households
    assert hh["labourer_count"].tolist() == [1, 1, 0, 0]  # H3/H4 have no members: count 0 (X9 is an orphan)
    assert hh["seriously_ill_count"].astype(object).tolist() == [1, pd.NA, 0, 0]  # H2's health missing → unknown
    assert hh["any_disabled"].astype(object).tolist() == [False, pd.NA, False, False]
    assert hh["any_dropout"].tolist() == [False, True, False, False]  # age 6 in 2015, dropout
    assert hh["oldest_age"].astype(object).tolist() == [65, 6, pd.NA, pd.NA]  # max of none is missing
    assert hh["income_pc"].astype(object).tolist() == [2310.0, 3000.0, pd.NA, 1500.0]


def test_age_from_birth_date_else_id_number():
    mem = roster_a().members
    assert member_ages(mem, 2015).tolist()[:3] == [65.0, 35.0, 6.0]
    assert np.isnan(member_ages(mem.assign(birth_date=pd.NaT, id_number=None), 2015)).all()
    # 15-digit ID: birth year '19' + digits 7–8
    one = pd.DataFrame({"id_number": ["500101491231002"], "birth_date": [pd.NaT]})
    assert member_ages(one, 2015).tolist() == [66.0]


def test_results_details_and_params(mini):
    ev = evaluate(roster_a(), mini, 2015)
    assert ev.results["income_below_line"].astype(object).tolist() == [True, False, pd.NA, True]
    assert ev.details["income_below_line"].tolist() == [
        "人均纯收入 2,310.00 元，低于国家扶贫标准 2,855 元（2015，国家）",
        "人均纯收入 3,000.00 元，不低于国家扶贫标准 2,855 元（2015，国家）",
        "人均纯收入 缺失",
        "人均纯收入 1,500.00 元，低于国家扶贫标准 2,855 元（2015，国家）",
    ]
    assert "old_rule" not in ev.results.columns  # until 2014
    pv = ev.params["poverty_line"]
    assert (pv.value, pv.year, pv.region, pv.source, pv.verified) == (2855, 2015, "国家", "nbs-2017", True)
    assert set(ev.params) == {"poverty_line", "vehicle_limit"}  # only parameters the rules use


def test_details_show_only_deciding_leaves(mini):
    hh = pd.DataFrame({"household_id": ["A", "B", "C"],
                       "has_vehicle": pd.array([True, False, True], dtype="boolean"),
                       "vehicle_value": pd.array([50000, 90000, None], dtype="Float64")})
    ev = evaluate(Roster(hh, pd.DataFrame({"household_id": pd.Series([], dtype="str")})), mini, 2015)
    assert ev.results["expensive_vehicle"].astype(object).tolist() == [True, False, pd.NA]
    assert ev.details["expensive_vehicle"].tolist() == [
        "有机动车 是；车辆价值 50,000.00 元，不低于车辆价值上限 30,000 元（2014，国家）",
        "有机动车 否",
        "车辆价值 缺失",
    ]


def test_parameter_lookup_region_chain_and_errors(mini):
    from fupin_cli.engine.params import resolve

    assert resolve(mini, "poverty_line", 2016, "重庆").value == 3100
    assert resolve(mini, "poverty_line", 2015, "重庆").value == 2855  # 重庆 has no 2015 value → 西部 → 国家
    assert resolve(mini, "poverty_line", 2020, None).year == 2016  # latest year <= Y
    v = resolve(mini, "village_incidence", 2016, "重庆")
    assert (v.value, v.region) == (3, "西部")
    with pytest.raises(RuleError) as info:
        resolve(mini, "poverty_line", 2013, "重庆")
    assert info.value.message == "parameter poverty_line (国家扶贫标准) has no value for year 2013, region 重庆; its first value is for 2014"
    with pytest.raises(RuleError) as info:
        evaluate(roster_a(), mini, 2015, region="重床")
    assert info.value.message == "unknown region '重床' for rule pack mini (did you mean '重庆'?)"


def test_evaluate_before_first_parameter_year_is_an_error(mini):
    with pytest.raises(RuleError) as info:
        evaluate(roster_a(), mini, 2013)
    assert "has no value for year 2013" in info.value.message


# ---- properties ----------------------------------------------------------------------
NUM_FIELDS = ["income_per_capita", "household_size", "net_income"]
BOOL_FIELDS = ["has_vehicle", "unsafe_housing", "dibao_household"]


def num_expr(depth: int = 2):
    leaf = st.one_of(st.sampled_from(NUM_FIELDS), st.integers(-5, 5000).map(str), st.just("param.line"), st.just("param.rate"))
    if depth == 0:
        return leaf
    sub = num_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), sub, sub).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        sub.map(lambda s: f"abs({s})"),
        sub.map(lambda s: f"round({s}, 1)"),
        sub.map(lambda s: f"-{s}"),
    )


def bool_expr(depth: int = 2):
    leaf = st.one_of(
        st.sampled_from(BOOL_FIELDS),
        st.tuples(num_expr(1), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), num_expr(1)).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(num_expr(1), num_expr(0), num_expr(0)).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}"),
        st.sampled_from(NUM_FIELDS + BOOL_FIELDS + ["recorded_primary_cause"]).map(lambda f: f"{f} is missing"),
        st.sampled_from(["recorded_primary_cause in ['因病', '因残']", "recorded_primary_cause not in ['其他']",
                         "recorded_primary_cause == '缺劳力'", "contains(risk_types, '因病')", "year(monitoring_start) < 2021",
                         "monitoring_start >= '2021-06-01'", "coalesce(has_vehicle, false)", "has_vehicle == unsafe_housing"]),
        st.sampled_from(["true", "false"]),
    )
    if depth == 0:
        return leaf
    sub = bool_expr(depth - 1)
    return st.one_of(
        leaf,
        sub.map(lambda s: f"not ({s})"),
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
    )


def households_strategy():
    opt = lambda s: st.one_of(st.none(), s)  # noqa: E731
    row = st.fixed_dictionaries({
        "income_per_capita": opt(st.floats(-1000, 10000, allow_nan=False).map(lambda x: round(x, 2))),
        "household_size": opt(st.integers(0, 8)),
        "net_income": opt(st.sampled_from([0.0, 2855.0, 5710.0, 12000.5])),
        "has_vehicle": opt(st.booleans()),
        "unsafe_housing": opt(st.booleans()),
        "dibao_household": opt(st.booleans()),
        "recorded_primary_cause": opt(st.sampled_from(["因病", "因残", "缺劳力", "其他"])),
        "risk_types": opt(st.sampled_from(["因病", "因学、因病", "因残", "因病残"])),
        "monitoring_start": opt(st.dates(dt.date(2019, 1, 1), dt.date(2023, 12, 31))),
    })
    return st.lists(row, min_size=1, max_size=12).map(_frame_of)


def _frame_of(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    return df.astype({"income_per_capita": "Float64", "household_size": "Int64", "net_income": "Float64",
                      "has_vehicle": "boolean", "unsafe_housing": "boolean", "dibao_household": "boolean",
                      "recorded_primary_cause": "str", "risk_types": "str"}).assign(
        monitoring_start=pd.to_datetime(df["monitoring_start"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=households_strategy(), expr=bool_expr(2))
def test_vectorised_equals_scalar_interpreter(df, expr):
    node, _ = check(parse(expr), household_scope({}, PARAMS), "bool")
    types = household_types(type("P", (), {"field_types": {}})())
    fe = FrameEvaluator(df, types, PVALUES)
    vec = fe.eval_bool(node)
    names = list(df.columns)
    for i in range(len(df)):
        expected = Interpreter(row_values(df, types, names, i), PVALUES).eval(node)
        got = None if vec[i] is pd.NA else bool(vec[i])
        assert got == expected, (expr, i, df.iloc[i].to_dict())


def members_strategy():
    opt = lambda s: st.one_of(st.none(), s)  # noqa: E731
    return st.lists(st.fixed_dictionaries({
        "household_id": st.sampled_from(["H1", "H2", "H3", "H4"]),
        "health": opt(st.sampled_from(["健康", "患有大病", "长期慢性病", "残疾"])),
        "labour": opt(st.sampled_from(["普通劳动力", "无劳动力", "技能劳动力"])),
        "birth_date": opt(st.dates(dt.date(1920, 1, 1), dt.date(2014, 12, 31))),
        "dropout": opt(st.booleans()),
    }), min_size=0, max_size=14)


def _roster(hh_rows, mem_rows) -> Roster:
    hh = pd.DataFrame({"household_id": ["H1", "H2", "H3", "H4"],
                       "income_per_capita": pd.array(hh_rows, dtype="Float64"),
                       "household_size": pd.array([2, None, 1, 3], dtype="Int64"),
                       "net_income": pd.array([5000, 3000, None, 0], dtype="Float64")})
    if mem_rows:
        mem = pd.DataFrame(mem_rows).astype({"health": "str", "labour": "str", "dropout": "boolean"})
        mem["birth_date"] = pd.to_datetime(mem["birth_date"])
    else:
        mem = pd.DataFrame({"household_id": pd.Series([], dtype="str")})
    return Roster(hh, mem)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incomes=st.lists(st.one_of(st.none(), st.sampled_from([1000.0, 2855.0, 2900.0, 9000.0])), min_size=4, max_size=4),
       members=members_strategy())
def test_derived_fields_and_rules_vectorised_equal_scalar(mini, incomes, members):
    roster = _roster(incomes, members)
    # the scalar interpreter reads a column the roster lacks as blank cells: compare on that footing
    ev = evaluate(roster, mini, 2015, policy=InputPolicy(all_present=True))
    htypes = household_types(mini)
    mtypes = member_types()
    params = {k: v.value for k, v in ev.params.items()}
    ages = member_ages(roster.members, 2015) if len(roster.members) else np.array([])
    for i, hid in enumerate(roster.households["household_id"]):
        hvals = row_values(roster.households, htypes, [c for c in roster.households.columns if c in htypes], i)
        pos = np.flatnonzero((roster.members["household_id"] == hid).to_numpy()) if len(roster.members) else []
        mrows = []
        for j in pos:
            vals = row_values(roster.members, mtypes, [c for c in roster.members.columns if c in mtypes], int(j))
            vals["age"] = None if np.isnan(ages[j]) else float(ages[j])
            mrows.append(vals)
        hvals, _ = scalar_household(mini, hvals, mrows, params)
        for d in mini.derived:
            got = ev.households[d.id].iloc[i]
            got = None if got is pd.NA or (isinstance(got, float) and np.isnan(got)) else got
            want = hvals[d.id]
            if isinstance(want, float) and got is not None:
                assert float(got) == pytest.approx(want), (d.id, hid)
            else:
                assert got == want, (d.id, hid, got, want)
        interp = Interpreter(hvals, params)
        for rid in ev.results.columns:
            node = mini.conditions.get(rid)
            want = interp.eval(node) if node is not None else True
            got = ev.results[rid].iloc[i]
            assert (None if got is pd.NA else bool(got)) == want, (rid, hid)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incomes=st.lists(st.one_of(st.none(), st.sampled_from([1000.0, 2855.0, 2900.0, 9000.0])), min_size=4, max_size=4),
       members=members_strategy(), seed=st.integers(0, 10_000))
def test_row_order_never_changes_results(mini, incomes, members, seed):
    from fupin_cli.engine.decide import identification

    roster = _roster(incomes, members)
    base = identification(evaluate(roster, mini, 2015))
    rng = np.random.default_rng(seed)
    hh = roster.households.iloc[rng.permutation(len(roster.households))]
    mem = roster.members.iloc[rng.permutation(len(roster.members))] if len(roster.members) else roster.members
    shuffled = identification(evaluate(Roster(hh, mem), mini, 2015))
    pd.testing.assert_frame_equal(shuffled.loc[base.index], base)
