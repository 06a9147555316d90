"""Metamorphic suite (issue 8): the same households in another *form* give the same decisions.

A generated county (60 households, 2016, national-2014) is written plainly; its decisions
(识别结果, 贫困户属性, 主要/次要致贫原因 per household) are the reference.  Then its form alone is
changed — labels relabelled with realistic variants (inverted polarity with inverted values, units
with scaled values, graded 危房 values, √/×), spaces and units in labels, member rows repeated or
household columns on the head's row only, households and members on two sheets, one sheet per
village or one file per township, rows and columns shuffled, xlsx / xls / csv / parquet — and
every household's decision must stay identical.  A one-row-per-household roster holds less (no
members), so it is compared with the plain one-row-per-household file.

The hypothesis property runs a few combinations by default (fast); ``-m slow`` runs many more.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metamorphic_forms import Form, variants, write_form

from fupin_cli.core.identify import identify
from fupin_cli.engine import load_pack
from fupin_cli.io.read import read_roster
from fupin_cli.io.write_roster import write_roster
from fupin_cli.samples import generate_roster

YEAR = 2016
HAS_XLWT = importlib.util.find_spec("xlwt") is not None
FORMATS = ["xlsx", "csv", "parquet"] + (["xls"] if HAS_XLWT else [])
DECISION = ["status", "attribute", "primary_cause", "secondary_causes"]


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """(member text frame, household text frame, reference decisions per family)."""
    d = tmp_path_factory.mktemp("county")
    roster, _ = generate_roster(60, seed=7, year=YEAR)
    frames, reference = {}, {}
    for family in ("member", "household"):
        p = d / f"plain-{family}.csv"
        write_roster(roster, p, layout=family, encoding="utf-8-sig")
        frames[family] = pd.read_csv(p, dtype=str, keep_default_na=False)
        reference[family] = decisions([p])
    return frames["member"], frames["household"], reference


def decisions(paths: list[Path]) -> pd.DataFrame:
    roster = read_roster(paths)
    errors = roster.notes[roster.notes["severity"] == "error"]
    assert errors.empty, errors["message"].tolist()[:5]
    result = identify(roster, load_pack("national-2014"), YEAR, allow_errors=True)
    hh = result.households.set_index("household_id")[DECISION].astype(object)
    return hh.where(hh.notna(), None).sort_index()


def check(county, form: Form, folder: Path) -> None:
    member, household, reference = county
    paths = write_form(member, household, form, folder)
    got = decisions(paths)
    want = reference[form.family]
    assert list(got.index) == list(want.index), f"{form}: households differ"
    diff = (got != want) & ~(got.isna() & want.isna())
    bad = diff.any(axis=1)
    assert not bad.any(), f"{form}: {int(bad.sum())} households differ, e.g.\n{got[bad].head(3)}\nwant\n{want[bad].head(3)}"


def forms():
    """Random combinations of form changes (each valid for its format)."""
    @st.composite
    def build(draw):
        family = draw(st.sampled_from(["member", "household"]))
        fmt = draw(st.sampled_from(FORMATS))
        layout = draw(st.sampled_from(["repeated", "head-only"] + (["two-sheet"] if fmt in ("xlsx", "xls") else []))) \
            if family == "member" else "repeated"
        split = draw(st.sampled_from(["none", "files"] + (["sheets"] if fmt in ("xlsx", "xls") else [])))
        labels = sorted(variants(family))
        relabel = tuple(draw(st.lists(st.sampled_from(labels), unique=True, max_size=len(labels))))
        return Form(family, layout, fmt, relabel, draw(st.booleans()), split, draw(st.booleans()),
                    draw(st.integers(0, 10_000)))
    return build()


# derandomized like every property here by default (tests/conftest.py profile "ci": the same forms every run);
# HYPOTHESIS_PROFILE=explore draws new ones
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}


@settings(max_examples=8, **SETTINGS)
@given(form=forms())
def test_form_changes_keep_every_decision(county, tmp_path_factory, form):
    check(county, form, tmp_path_factory.mktemp("form"))


@pytest.mark.slow
@settings(max_examples=150, **SETTINGS)
@given(form=forms())
def test_form_changes_keep_every_decision_many(county, tmp_path_factory, form):
    check(county, form, tmp_path_factory.mktemp("form"))


# ---- the specific cases of issue 8, always run ---------------------------------------------
ALL_MEMBER = tuple(sorted(variants("member")))
ALL_HOUSEHOLD = tuple(sorted(variants("household")))


@pytest.mark.parametrize("form", [
    Form("member", relabel=ALL_MEMBER, spaces=True, seed=3, fmt="csv"),
    Form("member", layout="head-only", relabel=ALL_MEMBER, shuffle=True, seed=5, fmt="xlsx"),
    Form("member", layout="two-sheet", split="sheets", relabel=ALL_MEMBER, seed=8, fmt="xlsx"),
    Form("member", split="files", shuffle=True, seed=12, fmt="parquet"),
    Form("household", relabel=ALL_HOUSEHOLD, seed=13, fmt="parquet"),
    Form("household", relabel=ALL_HOUSEHOLD, spaces=True, split="sheets", seed=14),
], ids=lambda f: f"{f.family}-{f.layout}-{f.fmt}-{f.split}")
def test_fixed_forms(county, tmp_path, form):
    check(county, form, tmp_path)


@pytest.mark.parametrize("fmt", ["xlsx"] + (["xls"] if HAS_XLWT else []))
def test_government_template_layout(county, tmp_path, fmt):
    """The county template (title rows, two-row merged header, household cells merged down over the
    member rows, a 合计 row and a signature line) gives the decisions of the plain member sheet."""
    _, _, reference = county
    roster, _ = generate_roster(60, seed=7, year=YEAR)
    p = tmp_path / f"template.{fmt}"
    write_roster(roster, p, layout="template")
    assert decisions([p]).equals(reference["member"])


def test_units_grades_and_polarity_in_labels(county, tmp_path):
    """人均纯收入(万元) scaled back to 元, D级危房 read as unsafe, 房屋是否安全 read inverted."""
    _member, household, reference = county
    df = household.copy()
    df["人均纯收入"] = df["人均纯收入"].map(lambda v: str(float(v) / 10000))
    df = df.rename(columns={"人均纯收入": "人均纯收入(万元)"})
    unsafe = df["是否危房"] == "是"
    df["是否危房"] = unsafe.map({True: "D级危房", False: "B级"})
    df["房屋是否安全"] = (~unsafe).map({True: "是", False: "否"})
    p = tmp_path / "units.csv"
    df.drop(columns=["是否危房"]).to_csv(p, index=False, encoding="utf-8-sig")
    both = tmp_path / "grades.csv"
    df.drop(columns=["房屋是否安全"]).to_csv(both, index=False, encoding="utf-8-sig")
    for path in (p, both):
        r = read_roster(path)
        assert r.households["unsafe_housing"].fillna(False).tolist() == unsafe.tolist()
        assert (r.households["income_per_capita"] - household["人均纯收入"].astype(float)).abs().max() < 1e-6
        assert decisions([path]).equals(reference["household"])


def test_member_flag_on_household_sheet_is_read_as_the_household_flag(county, tmp_path):
    """是否特困供养 / 是否财政供养人员 on one row per household: the household meaning, no member rows,
    no 家庭人口数 ≠ members errors."""
    _, household, reference = county
    df = household.rename(columns={"是否特困供养户": "是否特困供养", "有国家公职人员": "是否财政供养人员"})
    p = tmp_path / "hh.xlsx"
    df.to_excel(p, index=False)
    r = read_roster(p)
    assert r.sources[0].layout == "household" and r.n_members == 0
    assert r.households["tekun_household"].tolist() == household["是否特困供养户"].eq("是").tolist()
    assert "read.household_meaning" in set(r.notes["check"])
    assert decisions([p]).equals(reference["household"])


def test_one_sheet_per_village_reads_all_households(county, tmp_path):
    member, household, _ = county
    paths = write_form(member, household, Form("member", split="sheets", seed=2), tmp_path)
    r = read_roster(paths)
    villages = household["行政村"].nunique()
    assert len(r.sources[0].sheets) == villages > 1
    assert r.n_households == 60 and r.n_members == len(member)
