"""Multi-year chains: transitions follow the national rules and sum up year to year."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from fupin_cli.samples import TRANSITIONS, generate_chain
from fupin_cli.samples.generate import three_guarantees


@pytest.fixture(scope="module")
def chain():
    return generate_chain(1200, seed=21, years=[2015, 2016, 2017])


def test_years_and_lines(chain):
    assert [t.year for _, t in chain] == [2015, 2016, 2017]
    assert [t.poverty_line for _, t in chain] == [2855, 2952, 2952]
    assert all(set(t.households["transition"]) <= set(TRANSITIONS) for _, t in chain)
    first = chain[0][1].households
    assert set(first["transition"]) == {"新识别", "非贫困户"}


def test_plan_equals_rule_outcome(chain):
    # national-2014 defaults: exclusions are review (待核实), so a registered household with one continues
    expect = {"stay": "继续帮扶", "unmet": "继续帮扶", "exit": "脱贫", "qingtui": "继续帮扶", "return": "返贫",
              "new": "新识别", "vanish": "自然减少"}
    for _, t in chain[1:]:
        th = t.households
        planned = th["_plan"].map(expect)
        grow = th["_plan"] == "grow"
        assert (planned[~grow] == th.loc[~grow, "transition"]).all()
        assert (th.loc[grow, "transition"] == "非贫困户").all()


def test_every_transition_happens(chain):
    for _, t in chain[1:]:
        c = t.households["transition"].value_counts()
        for name in ("新识别", "继续帮扶", "脱贫", "自然减少", "非贫困户"):  # no 清退: exclusions are review by default
            assert c.get(name, 0) >= 1, (t.year, name)
    assert chain[2][1].households["transition"].eq("返贫").sum() >= 1


def test_transitions_sum_up(chain):
    for (prev_roster, prev), (roster, cur) in itertools.pairwise(chain):
        p, th = prev.households, cur.households
        in_reg = p["registry_status"].isin(["贫困户", "返贫"]).sum()
        c = th["transition"].value_counts()
        # every household in last year's registry has one of these outcomes this year
        assert in_reg == c.get("继续帮扶", 0) + c.get("脱贫", 0) + c.get("清退", 0) + c.get("自然减少", 0)
        # this year's households = last year's - vanished + split-offs
        split = (th["split_from"] != "").sum()
        assert roster.n_households == prev_roster.n_households - c.get("自然减少", 0) + split
        assert th["transition"].ne("自然减少").sum() == roster.n_households
        poor_now = th["registry_status"].isin(["贫困户", "返贫"]).sum()
        assert poor_now == c.get("新识别", 0) + c.get("继续帮扶", 0) + c.get("返贫", 0)


def test_transitions_agree_with_data(chain):
    for roster, t in chain[1:]:
        h = roster.households.set_index("household_id")
        th = t.households[t.households["transition"] != "自然减少"].set_index("household_id")
        line = t.poverty_line
        pc = h.loc[th.index, "income_per_capita"]
        assert (pc[th["transition"].isin(["新识别", "返贫"])] < line).all()
        assert (pc[th["transition"] == "脱贫"] > line).all()
        met = three_guarantees(roster.households, roster.members)
        met.index = roster.households["household_id"]
        assert met[th.index[th["transition"] == "脱贫"]].all()
        excl = h[["has_public_employee", "has_vehicle", "has_town_property"]].any(axis=1)
        assert excl[th.index[th["transition"] == "清退"]].all()


def test_renumbered_and_split_households(chain):
    for (prev_roster, _), (roster, t) in itertools.pairwise(chain):
        th = t.households
        ren = th[th["previous_household_id"] != ""]
        assert 1 <= len(ren) <= 2
        old_heads = prev_roster.households.set_index("household_id")["head_id_number"]
        new_heads = roster.households.set_index("household_id")["head_id_number"]
        for r in ren.itertuples():
            assert r.previous_household_id not in set(roster.households["household_id"])
            assert new_heads[r.household_id] == old_heads[r.previous_household_id]
        split = th[th["split_from"] != ""]
        assert len(split) == 1
        s = split.iloc[0]
        assert s["transition"] == "新识别"
        members = roster.members[roster.members["household_id"] == s["household_id"]]
        assert (members["relation"] == "户主").sum() == 1
        before = set(prev_roster.members.loc[prev_roster.members["household_id"] == s["split_from"], "id_number"])
        assert set(members["id_number"]) <= before


def test_vanished_households_gone_and_ages_advance(chain):
    (r0, _), (r1, t1) = chain[0], chain[1]
    gone = t1.households.loc[t1.households["transition"] == "自然减少", "household_id"]
    assert not gone.isin(r1.households["household_id"]).any()
    assert not r1.members["household_id"].isin(gone).any()
    kept = r0.members.merge(r1.members, on="id_number", suffixes=("0", "1"))
    assert (kept["birth_date0"] == kept["birth_date1"]).all()
    age1 = 2016 - kept["birth_date1"].dt.year
    assert (kept.loc[age1 == 12, "school_status1"].isin(["七年级", "非在校生"])).all()


def test_chain_deterministic():
    a = generate_chain(60, seed=4, years=[2015, 2016])
    b = generate_chain(60, seed=4, years=[2015, 2016])
    for (ra, ta), (rb, tb) in zip(a, b):
        pd.testing.assert_frame_equal(ra.members, rb.members)
        pd.testing.assert_frame_equal(ta.households, tb.households)
