"""Expression limits (issue 10 item 6): `rules check` refuses what the engines cannot evaluate, with
file:line:col and exit 3; whatever it accepts runs on every engine without a RecursionError."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pack_helpers import write_pack
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.engine import load_pack
from fupin_cli.engine.decide import identification
from fupin_cli.engine.evaluate import evaluate
from fupin_cli.engine.explain import explain
from fupin_cli.engine.expr import MAX_DEPTH, MAX_NODES, ExprError, parse
from fupin_cli.errors import RuleError
from fupin_cli.roster import Roster

runner = CliRunner()


@pytest.mark.parametrize("text, message, col", [
    ("1" + "+1" * 599, "nested too deeply", None),                       # the 600-term sum of the issue
    ("household_size < " + "9" * 1900, "too large", 17),                  # a 1,900-digit number
    ("household_size < 1e400", "too large", 17),
    ("household_size < 1e16", "too large", 17),
    ("not " * (MAX_DEPTH + 1) + "unsafe_housing", "nested too deeply", None),
    ("-" * (MAX_DEPTH + 1) + "household_size > 0", "nested too deeply", None),
    ("household_size in [" + ", ".join(["1"] * MAX_NODES) + "]", "too large", None),
    ("recorded_primary_cause == 'a\x00b'", "NUL character", 28),
    ("abs(" * (MAX_DEPTH + 1) + "household_size" + ")" * (MAX_DEPTH + 1) + " > 0", "nested too deeply", None),
])
def test_parse_refuses_what_the_engines_cannot_evaluate(text, message, col):
    with pytest.raises(ExprError) as info:
        parse(text)
    assert message in info.value.message
    if col is not None:
        assert info.value.col == col
    assert 0 <= info.value.col < len(text)


def test_rules_check_refuses_the_600_term_sum_with_position_and_exit_3(tmp_path):
    big = "1" + "+1" * 599
    folder = write_pack(tmp_path / "p", f"  - id: big\n    kind: criterion\n    label: 大\n    when: income_per_capita < {big}\n"
                                    f"  - id: huge\n    kind: criterion\n    label: 大数\n    when: income_per_capita < {'9' * 1900}\n")
    r = runner.invoke(app, ["rules", "check", str(folder)])
    assert r.exit_code == 3
    lines = [ln for ln in r.stderr.splitlines() if "rules.yaml:" in ln]
    assert len(lines) == 2
    assert lines[0].startswith(f"{folder / 'rules.yaml'}:7:") and "nested too deeply" in lines[0]
    assert lines[1].startswith(f"{folder / 'rules.yaml'}:11:31: rules.1.when: number 9999")
    with pytest.raises(RuleError):
        load_pack(folder)


def _at_limit_rules() -> str:
    deep = "income_per_capita < 1" + " + 1" * (MAX_DEPTH - 2)  # exactly MAX_DEPTH levels
    assert max_depth(parse(deep)) == MAX_DEPTH
    wide = "household_size in [" + ", ".join(str(i) for i in range(MAX_NODES - 3)) + "]"  # exactly MAX_NODES nodes (in, name, list, items)
    nots = "not " * (MAX_DEPTH - 2) + "(income_per_capita > param.line)"
    # operands SQL reads twice (NULL-guarded min, x / NULLIF(y, 0)), nested to the limit: no exponential query
    mins = "min(" * (MAX_DEPTH - 2) + "income_per_capita" + ", 5000)" * (MAX_DEPTH - 2) + " > 100"
    divs = "income_per_capita > " + "2 / (" * (MAX_DEPTH - 2) + "household_size" + ")" * (MAX_DEPTH - 2)
    for text in (deep, mins, divs):
        assert max_depth(parse(text)) == MAX_DEPTH
    return "".join(f"  - id: {rid}\n    kind: criterion\n    label: {rid}\n    when: {json.dumps(w)}\n"
                   for rid, w in (("deep", deep), ("wide", wide), ("nots", nots), ("mins", mins), ("divs", divs)))


def max_depth(node) -> int:
    from fupin_cli.engine import ir

    stack, best = [(node, 1)], 0
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in ir.children(n))
    return best


def _roster(n: int = 200) -> Roster:
    rng = np.random.default_rng(1)
    hh = pd.DataFrame({"household_id": [f"H{i}" for i in range(n)],
                       "income_per_capita": pd.array(np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 6000, n)), dtype="Float64"),
                       "household_size": pd.array(rng.integers(1, 500, n), dtype="Int64")})
    mem = pd.DataFrame({"household_id": pd.Series([f"H{i}" for i in range(n)], dtype="str"),
                        "health": pd.Series(["健康"] * n, dtype="str")})
    return Roster(hh, mem)


def test_expressions_at_the_limits_run_on_every_engine(tmp_path):
    chain = "".join(f"  - id: f_{i}\n    expr: {'income_per_capita' if i == 0 else f'f_{i - 1}'} + 1\n" for i in range(150))
    rules = _at_limit_rules() + "  - id: chained\n    kind: exclusion\n    label: 链\n    when: f_149 > 5000\n"
    pack = load_pack(write_pack(tmp_path / "p", rules, chain))
    roster = _roster()
    a = evaluate(roster, pack, 2016)
    b = evaluate(roster, pack, 2016, backend="duckdb")
    pd.testing.assert_frame_equal(a.results, b.results)
    assert a.results["deep"].notna().any() and a.results["wide"].any() and a.results["mins"].any() and a.results["divs"].any()
    pd.testing.assert_frame_equal(identification(a), identification(b))
    tree = explain(roster, pack, 2016, None, "H3")
    assert any(node.rule_id == "deep" for node in tree.walk())


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e16", "9" * 400, "[1, .inf]", '"a\\0b"'])
def test_parameter_values_must_be_finite_numbers(tmp_path, value):
    folder = write_pack(tmp_path / "p", "  - id: r\n    kind: criterion\n    label: r\n    when: income_per_capita < param.big\n")
    with (folder / "pack.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  big: {{label: 大, values: [{{year: 2015, value: {value}}}]}}\n")
    with pytest.raises(RuleError) as info:
        load_pack(folder)
    assert ("is not a finite number" in info.value.problems[0] or "NUL" in info.value.problems[0]) and "pack.yaml:6:" in info.value.problems[0]
