"""The fast paths of the engine give exactly what the plain paths give.

* bulk number formatting == Python's ``f"{v:,.2f}"`` / ``f"{v:,.0f}"``;
* dictionary-coded text conditions (``==``, ``!=``, ``in``, ``not in``, ``contains`` decided once per
  distinct value) == the row-wise pandas evaluation (frames above 64 rows take the coded path);
* Arrow text joins (``join_sparse``) keep the order given and de-duplicate when asked;
* the register's member lookups through the evaluation's household codes == hashing the 户编号.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal

from fupin_cli.core.identify import _arrow_ids, _positions, identify
from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.compile_pandas import FrameEvaluator
from fupin_cli.engine.decide import identification, join_sparse
from fupin_cli.engine.derive import HouseholdCodes
from fupin_cli.engine.details import format_numbers
from fupin_cli.samples import generate_roster

TRICKY = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 2.675, 1.005, 0.125, 0.375, 999.995, 999.999, -999.999, 1000.0,
          1234567.891, -1234567.891, 123456789.125, 1e14, 1e16, -0.004, -0.005, 9.999, 99.5, float("inf"),
          float("-inf"), float("nan")]


@pytest.mark.parametrize("decimals", [0, 2])
def test_format_numbers_equals_python(decimals):
    rng = np.random.default_rng(5)
    values = np.concatenate([np.array(TRICKY), np.round(rng.gamma(2.0, 2500.0, 3000), 2), rng.normal(0, 1e7, 3000)])
    fmt = f"{{:,.{decimals}f}}"
    expected = ["缺失" if v != v else fmt.format(v) for v in values.tolist()]
    assert format_numbers(values, decimals).tolist() == expected


def test_format_numbers_examples():
    got = format_numbers(np.array([2310.0, 1234567.5, -0.001, float("nan")]), 2).tolist()
    assert got == ["2,310.00", "1,234,567.50", "-0.00", "缺失"]


def test_join_sparse_order_and_dedupe():
    rows = [np.array([0, 2, 3]), np.array([2, 3]), np.array([3])]
    texts = [pa.array(["a", "b", "c"]), np.array(["x", "c"], dtype=object), pa.array(["a"])]
    out = join_sparse(rows, texts, 5, "；")
    assert out.to_pylist() == ["a", "", "b；x", "c；c；a", ""]
    assert join_sparse(rows, texts, 5, "；", dedupe=True).to_pylist() == ["a", "", "b；x", "c；a", ""]
    assert join_sparse([], [], 2).to_pylist() == ["", ""]
    for dedupe in (False, True):  # texts joined as combinations of distinct texts: same result
        assert join_sparse(rows, texts, 5, "；", dedupe, repeated=True).to_pylist() == join_sparse(rows, texts, 5, "；", dedupe).to_pylist()


def test_join_sparse_repeated_equals_plain_on_random_rows():
    rng = np.random.default_rng(3)
    words = np.array(["因病", "因残；因学", "缺水", "因病；缺水", ""], dtype=object)
    rows = [np.sort(rng.choice(500, size=int(rng.integers(1, 400)), replace=False)) for _ in range(6)]
    texts = [words[rng.integers(0, len(words), len(r))] for r in rows]
    for dedupe in (False, True):
        plain = join_sparse(rows, texts, 500, "；", dedupe).to_pylist()
        assert join_sparse(rows, texts, 500, "；", dedupe, repeated=True).to_pylist() == plain


@pytest.fixture(scope="module")
def messy_roster():
    roster, _ = generate_roster(400, seed=11, year=2016, messy=True)
    return roster


def _evaluation_frames(roster, pack, year):
    ev = evaluate(roster, pack, year)
    return ev, [ev.households, ev.results, ev.member_results, ev.details_for(list(ev.results.columns))]


@pytest.mark.parametrize("pack_name,year", [("national-2014", 2016), ("monitoring-2021", 2021)])
def test_coded_text_conditions_equal_rowwise(messy_roster, pack_name, year, monkeypatch):
    pack = load_pack(pack_name)
    ev, fast = _evaluation_frames(messy_roster, pack, year)
    assert any(v is not None for v in ev._hh.dictionaries.values())  # the coded path was taken
    monkeypatch.setattr(FrameEvaluator, "text_codes", lambda self, node: None)
    _, plain = _evaluation_frames(messy_roster, pack, year)
    for a, b in zip(fast, plain):
        assert_frame_equal(a, b)


def test_register_lookups_through_codes_equal_hashing():
    hh = pd.DataFrame({"household_id": pd.array(["a", "b", None, "a", "c"], dtype="str")})
    members = pd.DataFrame({"household_id": pd.array(["c", "a", "x", None, "b", "a", "c"], dtype="str")})
    codes = HouseholdCodes(hh, members)
    assert codes.member_counts().tolist() == [2, 1, 0, 2, 2]
    assert codes.household_row_of_members().tolist() == [4, 0, -1, -1, 1, 0, 4]
    assert _positions(_arrow_ids(members["household_id"]), _arrow_ids(hh["household_id"])).tolist() == [4, 0, -1, -1, 1, 0, 4]


def test_identify_register_same_without_codes(messy_roster, monkeypatch):
    pack = load_pack("national-2014")
    fast = identify(messy_roster, pack, 2016, allow_errors=True)
    from fupin_cli.engine.evaluate import Evaluation

    monkeypatch.delattr(Evaluation, "household_codes")
    plain = identify(messy_roster, pack, 2016, allow_errors=True)
    assert_frame_equal(fast.households, plain.households)
    assert_frame_equal(fast.members, plain.members)
    assert fast.counts == plain.counts
    decisions = identification(fast.evaluation)
    assert [str(decisions[c].dtype) for c in ("secondary_causes", "measures", "basis", "not_identified_reason")] == ["str"] * 4
