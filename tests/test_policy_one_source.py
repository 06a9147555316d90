"""Issue 9.6: the rule pack is the one source of truth for `validate`.

* `validate` (exit.unsolved_guarantees) and `exit` agree on every household of the generated chain;
* editing a parameter of a pack changes what `validate` reports.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from fupin_cli.checks import pack_checks, validate
from fupin_cli.checks.context import CheckContext
from fupin_cli.checks.exited import exited_mask
from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.decide import household_exit
from fupin_cli.samples.chain import generate_chain


@pytest.fixture(scope="module")
def chain():
    return generate_chain(150, 11, [2017, 2018, 2019])


def test_validate_and_exit_agree_on_every_household_of_the_chain(chain):
    pack = load_pack("national-2014")
    compared = 0
    for roster, truth in chain:
        year = truth.year
        findings = validate(roster, year, [pack_checks(pack)])
        flagged = set(findings.loc[findings["check"] == "exit.unsolved_guarantees", "household_id"])
        ev = evaluate(roster, pack, year)
        exits = household_exit(ev)
        unmet = exits["exit_unmet"].astype(str)
        # a non-income exit condition is unmet (the exit list names it) ⇔ validate flags the exited household
        guarantee_unmet = np.array([any(lab in u for lab in _guarantee_labels(pack, year)) for u in unmet])
        found = exited_mask(CheckContext(roster, year))
        assert found is not None
        exited = found[0].to_numpy(dtype=bool)
        ids = roster.households["household_id"].astype(str).to_numpy()
        expected = set(ids[exited & guarantee_unmet])
        assert flagged == expected, (year, sorted(flagged ^ expected)[:5])
        compared += int(exited.sum())
    assert compared > 0


def _guarantee_labels(pack, year):
    return [r.label for r in pack.rules_of("household_exit", year) if r.id != "hh_exit_income"]


def test_editing_a_pack_parameter_changes_what_validate_reports(tmp_path, chain):
    """working_age_max 65 → 75: healthy 66–75-year-olds without labour become a finding of validate."""
    roster, truth = chain[0]
    base = load_pack("national-2014")
    before = validate(roster, truth.year, [pack_checks(base)])
    folder = tmp_path / "national-edited"
    shutil.copytree(base.path, folder, ignore=shutil.ignore_patterns("tests"))
    text = (folder / "parameters.yaml").read_text(encoding="utf-8")
    old = "  working_age_max:\n    label: 劳动年龄上限\n    unit: 周岁\n    values:\n      - {year: 2010, value: 65,"
    assert old in text
    (folder / "parameters.yaml").write_text(text.replace(old, old.replace("value: 65,", "value: 75,")), encoding="utf-8")
    edited = load_pack(str(folder))
    after = validate(roster, truth.year, [pack_checks(edited)])
    n_before = int((before["check"] == "member.healthy_no_labour").sum())
    n_after = int((after["check"] == "member.healthy_no_labour").sum())
    assert n_after > n_before
