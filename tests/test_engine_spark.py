"""The Spark SQL dialect (engine/compile_sql.py ``SparkDialect``, engine/spark.py) in local mode.

* the semantics table of docs/architecture.md "Rules in SQL" (the one tests/test_engine_sql.py runs on
  DuckDB and the interpreter), expression by expression, in Spark SQL;
* the hypothesis property of tests/test_engine_sql.py (its generator, imported): random packs over random
  rosters of 1,000 households with missing values → Spark equals the scalar interpreter;
* every rule of every shipped pack over the generated sample chain: Spark equals DuckDB (rules, estimates,
  member checks, derived values, and the decision columns computed in SQL), household by household;
* the DataFrame path (Parquet in, lazy DataFrames out) decides as ``evaluate(backend="duckdb")``.

One session for the whole run (tests/conftest.py ``spark``: local[2], 2 shuffle partitions, UI off).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pack_helpers import write_pack
from test_engine_sql import (
    HTYPES,
    PARAMETERS,
    PARAMS,
    PVALUES,
    SEMANTICS,
    _norm,
    _py,
    compare_with_interpreter,
    random_pack,
    random_roster,
)

from fupin_cli.engine import load_pack
from fupin_cli.engine.compile_sql import SPARK, ExprCompiler
from fupin_cli.engine.evaluate import evaluate
from fupin_cli.engine.expr import parse
from fupin_cli.engine.typecheck import check, household_scope

pytestmark = pytest.mark.spark


def spark_rows(spark, expr: str, rows: list[dict]) -> list:
    """One household expression in Spark SQL over ``rows`` (the input path of engine/spark.py)."""
    import pyarrow as pa

    from fupin_cli.engine.spark import _bound, _to_spark

    node, _ = check(parse(expr), household_scope({}, PARAMS))
    names = sorted({k for r in rows for k in r})
    arrow = {"num": pa.float64(), "bool": pa.bool_(), "str": pa.string(), "date": pa.timestamp("ns")}
    table = pa.table({"__row": pa.array(range(len(rows)), pa.int64()),
                      **{n: pa.array([_py(r.get(n)) for r in rows], arrow[HTYPES[n].kind]) for n in names}})
    comp = ExprCompiler(HTYPES, PVALUES, {n: SPARK.ident(n) for n in names}, SPARK)
    value = comp.sql(node)
    ctes, source = comp.pool.layers("__households", "__layer")
    df = _to_spark(spark, table, {n: HTYPES[n].kind for n in names})
    with _bound(spark, df, df):
        out = spark.sql(("WITH " + ", ".join(ctes) + " " if ctes else "") + f"SELECT `__row`, {value} AS v FROM {source}")
    got = sorted((r["__row"], r["v"]) for r in out.collect())
    return [_norm(v) for _, v in got]


@pytest.mark.parametrize("expr, rows, expected", SEMANTICS, ids=[s[0] for s in SEMANTICS])
def test_semantics_table_on_spark(spark, expr, rows, expected):
    got = spark_rows(spark, expr, rows)
    if expr.startswith("year("):  # Spark gives the number back as a Python float as well
        got = [None if v is None else float(v) for v in got]
    assert got == expected


def test_spark_text_literals_escape_backslash_and_quote(spark):
    assert SPARK.string("a\\b'c") == "'a\\\\b\\'c'"
    assert spark.sql(f"SELECT {SPARK.string(chr(92) + chr(39) + '甲')} AS v").collect()[0]["v"] == "\\'甲"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(spec=random_pack(), seed=st.integers(0, 2**32 - 1))
def test_spark_equals_interpreter_on_random_packs(spark, spec, seed):
    derived, rules = spec
    with tempfile.TemporaryDirectory() as tmp:
        write_pack(Path(tmp), rules, derived, name="random", parameters=PARAMETERS)
        pack = load_pack(tmp)
        roster, hh_rows, mem_rows = random_roster(seed, 1000)
        ev, mismatches = compare_with_interpreter(pack, roster, hh_rows, mem_rows, 2016, backend="spark", spark=spark)
    assert ev.backend == "spark"  # not the pandas fallback
    assert not mismatches, (derived, rules, mismatches[:5])


# ---- every rule of every shipped pack over the sample chain: Spark == DuckDB ---------------------
def with_every_field(roster):
    """The roster with every canonical field the samples leave out added, all missing: the SQL backends
    then run the whole pack (a roster lacking a field the pack reads goes to the pandas path)."""
    from fupin_cli import schema

    for frame, fields in ((roster.households, schema.HOUSEHOLD_FIELDS), (roster.members, schema.MEMBER_FIELDS)):
        for f in fields:
            if f.name not in frame.columns:
                frame[f.name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return roster


@pytest.fixture(scope="module")
def chain():
    from fupin_cli.samples import generate_chain

    return [(with_every_field(r), t) for r, t in generate_chain(1000, seed=10, years=[2015, 2016, 2017])]


def _assert_same_evaluation(got, want):
    pd.testing.assert_frame_equal(got.results, want.results)
    pd.testing.assert_frame_equal(got.values, want.values)
    pd.testing.assert_frame_equal(got.member_results, want.member_results)
    for d in want.pack.derived:
        pd.testing.assert_series_equal(got.households[d.id], want.households[d.id])
    assert (got.sql_decisions is None) == (want.sql_decisions is None)
    if want.sql_decisions is not None:
        pd.testing.assert_frame_equal(got.sql_decisions, want.sql_decisions)


@pytest.mark.parametrize("name, region", [("national-2014", None), ("chongqing", "重庆")])
def test_shipped_packs_on_the_sample_chain_spark_equals_duckdb(spark, chain, name, region):
    pack = load_pack(name)
    for roster, truth in chain:
        year = truth.year
        if not (pack.meta.valid_from or 0) <= year <= (pack.meta.valid_until or 9999):
            continue
        got = evaluate(roster, pack, year, region, backend="spark", spark=spark)
        want = evaluate(roster, pack, year, region, backend="duckdb")
        assert got.backend == "spark"
        assert len(got.results.columns) > 5
        _assert_same_evaluation(got, want)


def test_monitoring_pack_spark_equals_duckdb(spark):
    from fupin_cli.samples.generate import generate_roster

    roster = with_every_field(generate_roster(1000, seed=2023, year=2023)[0])
    rng = np.random.default_rng(3)  # and 5% of every input blank: unknown results, 待核实
    for frame in (roster.households, roster.members):
        for c in frame.columns:
            if c != "household_id" and not c.startswith("_"):
                frame.loc[rng.random(len(frame)) < 0.05, c] = None
    pack = load_pack("monitoring-2021")
    got = evaluate(roster, pack, 2023, "云南", backend="spark", spark=spark)
    assert got.backend == "spark"
    _assert_same_evaluation(got, evaluate(roster, pack, 2023, "云南", backend="duckdb"))


# ---- DataFrames in, DataFrames out ----------------------------------------------------------------
def test_parquet_frames_decide_as_duckdb(spark, chain, tmp_path):
    from fupin_cli.engine.spark import evaluate_frames
    from fupin_cli.io.spark_io import read_roster

    roster, truth = chain[1]
    year = truth.year
    pack = load_pack("national-2014")
    hh = roster.households.copy()
    mem = roster.members.copy()
    # a typed roster as Parquet (dates as DATE: no time zone), then read back by Spark
    from fupin_cli.engine.derive import household_types, member_types

    for frame, types in ((hh, household_types(pack)), (mem, member_types())):
        for c in frame.columns:  # the all-missing fields added above get their field's type
            if frame[c].dtype == object and frame[c].isna().all() and c in types:
                frame[c] = frame[c].astype({"num": "Float64", "bool": "boolean", "date": "datetime64[ns]", "str": "str"}[types[c].kind])
        for c in frame.columns:
            if str(frame[c].dtype).startswith("datetime64"):
                frame[c] = frame[c].dt.date
    hh.to_parquet(tmp_path / "households.parquet")
    mem.to_parquet(tmp_path / "members.parquet")
    households, members = read_roster(spark, str(tmp_path / "households.parquet"), str(tmp_path / "members.parquet"))
    res = evaluate_frames(spark, households, members, pack, year)
    got = res.households.select("household_id", "status", "attribute", "primary_cause", "secondary_causes", "measures").toPandas()
    want = evaluate(roster, pack, year, backend="duckdb")
    expected = want.sql_decisions.assign(household_id=roster.households["household_id"].to_numpy())
    got = got.set_index("household_id").sort_index()
    expected = expected.set_index("household_id").sort_index()
    for col in ("status", "attribute", "primary_cause", "secondary_causes", "measures"):
        g = got[col].astype(object).where(got[col].notna(), None).tolist()
        w = expected[col].astype(object).where(expected[col].notna(), None).tolist()
        assert g == w, col
    assert len(got) == len(roster.households)


def test_frames_refuse_an_untyped_column(spark):
    from fupin_cli.engine.spark import SparkInputError, evaluate_frames

    households = spark.createDataFrame(pd.DataFrame({"household_id": ["H1"], "income_per_capita": ["两千"]}))
    members = spark.createDataFrame(pd.DataFrame({"household_id": ["H1"], "health": ["健康"]}))
    with pytest.raises(SparkInputError, match="income_per_capita.*a number"):
        evaluate_frames(spark, households, members, load_pack("national-2014"), 2016)


def test_spark_dialect_dates_ignore_the_session_time_zone(spark):
    """A date is the same day whatever spark.sql.session.timeZone is (TIMESTAMP_NTZ end to end)."""
    rows = [{"monitoring_start": dt.date(2021, 6, 1)}, {"monitoring_start": dt.date(2021, 5, 31)}]
    before = spark.conf.get("spark.sql.session.timeZone")
    try:
        spark.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")
        assert spark_rows(spark, "monitoring_start >= '2021-06-01'", rows) == [True, False]
        assert spark_rows(spark, "year(monitoring_start)", [{"monitoring_start": dt.date(2021, 1, 1)}]) == [2021.0]
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)


# ---- the explanation texts (engine/texts_sql.py) in Spark SQL -------------------------------------
def test_spark_number_format_is_pythons(spark):
    """``SparkDialect.format_number`` (format_number: DecimalFormat, half even on the double's exact value) writes
    every double as Python's ``f"{x:,.2f}"`` / ``f"{x:,.0f}"``, rounding halves, negatives and large values included."""
    from test_texts_sql import halves

    from fupin_cli.engine.compile_sql import SPARK

    x = halves(2, 1500)
    df = spark.createDataFrame(pd.DataFrame({"i": np.arange(len(x)), "x": x}))
    df.createOrReplaceTempView("nums")
    got = spark.sql(f"SELECT i, {SPARK.format_number('x', 2)} AS a, {SPARK.format_number('x', 0)} AS b FROM nums ORDER BY i").toPandas()
    assert got["a"].tolist() == [f"{v:,.2f}" for v in x.tolist()]
    assert got["b"].tolist() == [f"{v:,.0f}" for v in x.tolist()]


def test_spark_texts_equal_the_pandas_texts(spark, tmp_path):
    """识别依据, 未识别原因 and every decision column of a pack written for the texts (every leaf kind, masked IDs,
    units, dates, review/veto exclusions, status rules): Spark SQL equals engine.decide.identification."""
    from test_texts_sql import TEXT_DERIVED, TEXT_PARAMETERS, TEXT_RULES, _differences, text_roster

    from fupin_cli.engine.decide import identification

    pack = load_pack(write_pack(tmp_path / "p", TEXT_RULES, TEXT_DERIVED, name="texts", parameters=TEXT_PARAMETERS))
    roster = text_roster(1500, seed=9)
    want = identification(evaluate(roster, pack, 2016))
    got = evaluate(roster, pack, 2016, backend="spark", spark=spark)
    assert got.backend == "spark" and "not_identified_reason" in got.sql_decisions.columns
    bad = _differences(got.sql_decisions, want[got.sql_decisions.columns])
    assert not bad, bad[:5]
