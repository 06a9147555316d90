"""Issue 8 item 7: every reason text states the condition as it turned out, in plain Chinese.

For every household rule of every shipped pack, random households (every field the pack reads
present, values around the parameters' thresholds) are evaluated at once; for each rule one
household where it holds and one where it does not are taken, and the rule's text there is checked:
each comparison it states ("人均纯收入 5,826.29 元，不低于国家扶贫标准 2,855 元（2015，国家）")
agrees with its own numbers, and no expression syntax leaks (coalesce(, param., ==, <, ≥ …).
Labels carry no threshold: the values of the parameters a rule uses never appear in its label.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from fupin_cli import schema
from fupin_cli.engine import evaluate, ir, load_pack
from fupin_cli.engine.inputs import InputPolicy
from fupin_cli.engine.loader import shipped_packs
from fupin_cli.roster import Roster

YEAR = {"national-2014": 2016, "chongqing": 2016, "monitoring-2021": 2023}
REGION = {"monitoring-2021": "云南"}  # no national monitoring line after 2021: a provincial one
TEXT_KINDS = ("criterion", "exclusion", "status", "attribute", "cause", "household_exit", "monitoring", "risk", "elimination")
NUM = r"(-?[\d,]+(?:\.\d+)?)"
COMPARISON = re.compile(NUM + r"(?: [^，；（）\d]*)?，(不高于|不低于|不等于|低于|高于|等于) ?[^\d；，]*?" + NUM)
SYNTAX = ("coalesce(", "param.", "==", "!=", " and ", " or ", "≥", "≤", " < ", " > ", "contains(", "true", "false")
HOLDS = {"低于": np.less, "不高于": np.less_equal, "高于": np.greater, "不低于": np.greater_equal,
         "等于": np.isclose, "不等于": lambda a, b: not np.isclose(a, b)}


def _values(pack, year) -> list[float]:
    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.params import resolve_many

    params = resolve_many(pack, used_params(pack, year), year, REGION.get(pack.name, pack.meta.region))
    nums = [float(p.value) for p in params.values() if isinstance(p.value, (int, float)) and not isinstance(p.value, bool)]
    out = {0.0, 1.0, 2.0, 6.0, 12.0, 100000.0}
    for v in nums:
        out |= {v, v * 0.5, v * 1.5, v + 1, max(v - 1, 0)}
    return sorted(out)


def _column(field: schema.Field, n: int, rng, nums: list[float]):
    if field.kind == "bool":
        return pd.array(rng.choice([True, False, None], n, p=[0.4, 0.5, 0.1]), dtype="boolean")
    if field.kind in ("int", "float", "money"):
        vals = rng.choice(nums, n)
        if field.kind == "int":  # an integer column holds integers (the reader types it Int64)
            vals = np.floor(vals)
        return pd.array(np.where(rng.random(n) < 0.05, np.nan, vals), dtype="Float64")
    if field.kind == "code":
        labels = list(schema.CODE_TABLES[field.code_table])
        return pd.array(rng.choice(labels + [None], n), dtype="str")
    from fupin_cli.engine.typecheck import LIST_TABLES

    if field.name in LIST_TABLES:  # list-valued text (致贫返贫风险 …): one or two labels of its code table
        labels = list(schema.CODE_TABLES[LIST_TABLES[field.name]])
        return pd.array(["、".join(rng.choice(labels, int(k), replace=False)) for k in rng.integers(1, 3, n)], dtype="str")
    if field.kind == "date":
        return pd.to_datetime(rng.choice(["2015-01-01", "2022-03-01", "2023-11-01"], n))
    return pd.array([f"x{i}" for i in range(n)], dtype="str")


def random_roster(pack, year: int, n: int, seed: int) -> Roster:
    rng = np.random.default_rng(seed)
    nums = _values(pack, year)
    skip = {"household_id", *schema.PROVENANCE_COLUMNS}
    hh = {f.name: _column(f, n, rng, nums) for f in schema.HOUSEHOLD_FIELDS if f.name not in skip}
    hh["household_id"] = [f"H{i}" for i in range(n)]
    hh["household_size"] = pd.array(rng.integers(1, 6, n), dtype="Int64")
    hh["income_per_capita"] = pd.array(rng.choice(nums, n), dtype="Float64")
    sizes = rng.integers(1, 5, n)
    m = int(sizes.sum())
    mem = {f.name: _column(f, m, rng, nums) for f in schema.MEMBER_FIELDS if f.name not in skip}
    mem["household_id"] = np.repeat(hh["household_id"], sizes)
    mem["birth_date"] = pd.to_datetime([f"{y}-06-01" for y in rng.integers(year - 85, year - 3, m)])
    mem.pop("id_number", None)
    return Roster(pd.DataFrame(hh), pd.DataFrame(mem))


def params_read(pack, node, seen=None) -> set[str]:
    """Parameters a condition reads, through the derived fields it uses."""
    seen = set() if seen is None else seen
    out = set(ir.params(node))
    for name in ir.names(node) - seen:
        seen.add(name)
        for sub in pack.derived_ir.get(name, {}).values():
            out |= params_read(pack, sub, seen)
    return out


def check_text(text: str, where: str) -> int:
    """Every stated comparison agrees with its numbers; no expression syntax. Returns the count checked."""
    for token in SYNTAX:
        assert token not in text, f"{where}: expression syntax {token!r} in {text!r}"
    count = 0
    for left, word, right in COMPARISON.findall(text):
        a, b = float(left.replace(",", "")), float(right.replace(",", ""))
        assert HOLDS[word](a, b), f"{where}: {left} {word} {right} is false in {text!r}"
        count += 1
    return count


@pytest.mark.parametrize("pack_name", [p for p in shipped_packs() if p in YEAR])
def test_every_rule_text_is_true_both_ways(pack_name):
    pack = load_pack(pack_name)
    year = YEAR[pack_name]
    ev = evaluate(random_roster(pack, year, 1500, seed=7), pack, year, REGION.get(pack_name), policy=InputPolicy(all_present=True))
    missing, compared = [], 0
    for rule in pack.rules:
        if not rule.active(year) or rule.kind not in TEXT_KINDS or rule.id not in pack.conditions:
            continue
        res = ev.results[rule.id]
        for want in (True, False):
            rows = np.flatnonzero((res.fillna(not want).to_numpy(dtype=bool) == want) & ~res.isna().to_numpy())
            if not len(rows):
                switch = any(isinstance(ev.params[p].value, bool) for p in params_read(pack, pack.conditions[rule.id]) if p in ev.params)
                if not switch:  # a rule a yes/no parameter switches off this year cannot fail: not a gap of the test
                    missing.append(f"{rule.id} {'holds' if want else 'fails'}")
                continue
            mask = np.zeros(len(res), bool)
            mask[rows[:25]] = True
            for text in ev.details_for([rule.id], mask)[rule.id]:
                compared += check_text(text, f"{pack_name}/{rule.id} ({'holds' if want else 'fails'})")
    assert compared > 50
    # rules no random household could satisfy (or fail) are listed, never silently passed
    assert not missing, f"no household found where: {missing}"


@pytest.mark.parametrize("pack_name", [p for p in shipped_packs() if p in YEAR])
def test_labels_carry_no_threshold(pack_name):
    from fupin_cli.engine import ir
    from fupin_cli.engine.params import resolve_many

    pack = load_pack(pack_name)
    year = YEAR[pack_name]
    for rule in pack.rules:
        if rule.kind not in TEXT_KINDS + ("estimate",) or rule.id not in pack.conditions or not rule.active(year):
            continue
        names = ir.params(pack.conditions[rule.id]) | (ir.params(pack.values[rule.id]) if rule.id in pack.values else set())
        for p in resolve_many(pack, names, year, REGION.get(pack_name, pack.meta.region)).values():
            if isinstance(p.value, (int, float)) and not isinstance(p.value, bool) and p.value not in (0, 1):
                shown = {f"{p.value:g}", f"{p.value:,.0f}", f"{p.value / 10000:g}万"}
                assert not any(s in rule.label for s in shown), f"{pack_name}/{rule.id}: label {rule.label!r} writes {p.name}={p.value}"


def test_the_brief_example():
    pack = load_pack("national-2014")
    roster = random_roster(pack, 2015, 3, seed=1)
    roster.households["income_per_capita"] = pd.array([5826.29, 1000.0, 2855.0], dtype="Float64")
    ev = evaluate(roster, pack, 2015, policy=InputPolicy(all_present=True))
    text = ev.details_for(["income_below_line"])["income_below_line"].tolist()
    assert text[0] == "人均纯收入 5,826.29 元，不低于国家扶贫标准 2,855 元（2015，国家）"
    assert text[1] == "人均纯收入 1,000.00 元，低于国家扶贫标准 2,855 元（2015，国家）"
    assert text[2] == "人均纯收入 2,855.00 元，不低于国家扶贫标准 2,855 元（2015，国家）"
