"""Properties: the vectorised column typing equals the one-value-at-a-time parsers, in any row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin_cli.io.read_grid import STR
from fupin_cli.io.read_values import BAD, Where, fold, normalise_column, parse_bool, parse_date, parse_number
from fupin_cli.schema import FIELDS, fold_width

numbers = st.one_of(
    st.integers(-10**6, 10**9).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
    st.integers(0, 10**7).map(lambda i: f"{i:,}"),
    st.integers(0, 10**5).map(lambda i: f"{i}元"),
    st.integers(0, 99).map(lambda i: f"{i}.5万"),
    st.sampled_from(["abc", "", " ", "—", "1.2.3", "１２３", "12 345.60"]),
)
dates = st.one_of(
    st.dates(min_value=pd.Timestamp("1900-03-01").date(), max_value=pd.Timestamp("2030-12-31").date()).flatmap(
        lambda d: st.sampled_from([d.isoformat(), f"{d.year}.{d.month}.{d.day}", f"{d.year}/{d.month}/{d.day}",
                                   f"{d.year}{d.month:02d}{d.day:02d}", f"{d.year}年{d.month}月", f"{d.isoformat()} 00:00:00"])),
    st.integers(1, 60000).map(str),
    st.sampled_from(["1990-02-30", "不详", "19901", ""]),
)
bools = st.sampled_from(["是", "否", "√", "×", "1", "0", "Y", "n", "有", "无", "TRUE", "false", "也许", "2", ""])


def _reference(values: list[str], parser):
    out = []
    for v in values:
        t = fold_width(v).strip()
        out.append(np.nan if not t else parser(t))
    return out


def _column(values: list[str], name: str):
    s = fold(pd.Series(pd.array([v or None for v in values], dtype=STR)))
    where = Where("f.xlsx", "S", "A", FIELDS[name].zh, np.arange(2, 2 + len(values)))
    return normalise_column(s, FIELDS[name], where)


def _same(got, ref) -> bool:
    if ref is BAD or (isinstance(ref, float) and np.isnan(ref)):
        return pd.isna(got)
    return not pd.isna(got) and got == ref


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(numbers, min_size=1, max_size=30), st.randoms())
def test_money_column_equals_row_by_row(values, rnd):
    typed, notes = _column(values, "income_per_capita")
    ref = _reference(values, parse_number)
    assert all(_same(g, r) for g, r in zip(typed.tolist(), ref))
    bad_rows = sorted(int(r) for n in notes for r in n["row"])
    assert bad_rows == [i + 2 for i, r in enumerate(ref) if r is BAD]
    order = list(range(len(values)))
    rnd.shuffle(order)
    shuffled, _ = _column([values[i] for i in order], "income_per_capita")
    expected = [typed.iloc[i] for i in order]
    assert [(pd.isna(a) and pd.isna(b)) or a == b for a, b in zip(shuffled.tolist(), expected)] == [True] * len(values)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dates, min_size=1, max_size=30))
def test_date_column_equals_row_by_row(values):
    typed, notes = _column(values, "birth_date")
    ref = _reference(values, parse_date)
    assert all(_same(g, r) for g, r in zip(typed.tolist(), ref))
    assert sorted(int(r) for n in notes for r in n["row"]) == [i + 2 for i, r in enumerate(ref) if r is BAD]


@settings(max_examples=40, deadline=None)
@given(st.lists(bools, min_size=1, max_size=30))
def test_bool_column_equals_row_by_row(values):
    typed, _ = _column(values, "unsafe_housing")
    ref = _reference(values, parse_bool)
    assert all(_same(g, r) for g, r in zip(typed.tolist(), ref))
