"""fupin measures: FGT, gap, near-line, targeting and Alkire–Foster MPI against hand-computed values,
the published Alkire–Foster (2011) worked example, decomposition by groups, unusable incomes,
absent indicators, the bootstrap, and the CLI (--json equals the library result)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.core.measures import measures, present_fields
from fupin_cli.engine import evaluate, load_pack
from fupin_cli.errors import RuleError, UsageError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "roster-clean.xlsx"
Z = 2855.0  # national line 2015
runner = CliRunner()


def small_roster(drop: tuple[str, ...] = ()) -> SimpleNamespace:
    """Seven households; H6 and H7 have unusable incomes (missing, negative)."""
    hh = pd.DataFrame({
        "household_id": ["H1", "H2", "H3", "H4", "H5", "H6", "H7"],
        "township": ["甲镇", "甲镇", "甲镇", "乙镇", "乙镇", "乙镇", "乙镇"],
        "village": ["一村", "一村", "二村", "三村", "三村", "三村", "三村"],
        "head_name": ["甲", "乙", "丙", "丁", "戊", "己", "庚"],
        "household_size": pd.array([4, 2, 3, 1, 5, 2, 2], dtype="Int64"),
        "income_per_capita": pd.array([1000, 2000, 3000, 2500, 10000, None, -100], dtype="Float64"),
        "unsafe_housing": pd.array([True, False, False, False, False, False, False], dtype="boolean"),
        "water_difficulty": pd.array([False, False, True, False, False, False, False], dtype="boolean"),
        "safe_water": pd.array([True, True, True, True, True, True, True], dtype="boolean"),
        "food_clothing_secure": pd.array([True, True, True, False, True, True, True], dtype="boolean"),
        "status": ["贫困户", "贫困户", "贫困户", "非贫困户", "非贫困户", "贫困户", "非贫困户"],
    })
    sizes = dict(zip(hh["household_id"], hh["household_size"]))
    rows = []
    for hid, k in sizes.items():
        for j in range(int(k)):
            rows.append({"household_id": hid, "name": f"{hid}-{j}", "relation": "户主" if j == 0 else "之子",
                         "birth_date": pd.Timestamp("1975-05-01"), "school_status": "非在校生",
                         "medical_insurance": not (hid == "H3" and j == 1), "dropout": False})
    members = pd.DataFrame(rows)
    members["medical_insurance"] = members["medical_insurance"].astype("boolean")
    members["dropout"] = members["dropout"].astype("boolean")
    hh = hh.drop(columns=list(drop))
    return SimpleNamespace(households=hh, members=members)


def run_measures(r, pack="national-2014", year=2015, **kw):
    p = load_pack(pack)
    ev = evaluate(r, p, year=year)
    return measures(r.households, r.members, ev, **kw)


# ---- hand-computed values -----------------------------------------------------------------
def test_fgt_gap_near_line_and_targeting_by_hand():
    m = run_measures(small_roster())
    o = m.overall.iloc[0]
    assert o["people"] == 15 and o["households"] == 5
    assert o["fgt0"] == pytest.approx(7 / 15)
    assert o["fgt1"] == pytest.approx((4 * 1855 + 2 * 855 + 1 * 355) / Z / 15)
    assert o["fgt2"] == pytest.approx((4 * 1855 ** 2 + 2 * 855 ** 2 + 355 ** 2) / Z ** 2 / 15)
    assert o["gap_yuan"] == pytest.approx(4 * 1855 + 2 * 855 + 355)
    assert o["near_line_share"] == pytest.approx(3 / 15)  # H3: 2855 <= 3000 < 4282.5
    assert (o["registered_people"], o["income_poor_people"], o["inclusion_people"], o["exclusion_people"]) == (9, 7, 3, 1)


def test_mpi_by_hand():
    m = run_measures(small_roster())
    o = m.overall.iloc[0]
    # poor (c >= 1/3): H1 income+housing (4 people), H3 water+uninsured (3), H4 income+food (1)
    assert o["H"] == pytest.approx(8 / 15)
    assert o["A"] == pytest.approx(1 / 3)
    assert o["M0"] == pytest.approx(8 / 45)
    ch = {i.id: o[f"ch_{i.id}"] for i in m.indicators}
    assert ch == pytest.approx({"income_below_line": 5 / 15, "food_clothing_insecure": 1 / 15, "out_of_school": 0.0,
                                "uninsured": 3 / 15, "unsafe_housing": 4 / 15, "unsafe_water": 3 / 15})
    contrib = m.to_json()["overall"]["mpi"]["contribution"]
    assert contrib["income_below_line"] == pytest.approx((1 / 6) * (5 / 15) / (8 / 45))
    assert sum(contrib.values()) == pytest.approx(1.0)
    # H2 is deprived in income only (1/6 < 1/3): uncensored but not censored
    assert o["h_income_below_line"] == pytest.approx(7 / 15)


def test_sensitivity_and_incidence_curve():
    m = run_measures(small_roster())
    sens = m.sensitivity.set_index("multiple")
    assert sens.loc[1.0, "fgt0"] == pytest.approx(7 / 15)
    assert sens.loc[0.8, "fgt0"] == pytest.approx(6 / 15)  # 0.8z = 2284: H1, H2
    assert sens.loc[1.2, "fgt0"] == pytest.approx(10 / 15)  # 3426: + H3
    assert sens.loc[1.5, "gap_yuan"] == pytest.approx(4 * (1.5 * Z - 1000) + 2 * (1.5 * Z - 2000) + 3 * (1.5 * Z - 3000) + (1.5 * Z - 2500))
    curve = m.curve
    assert curve["fgt0"].is_monotonic_increasing and curve["fgt0"].iloc[0] == 0
    assert curve.loc[curve["multiple"] == 1.0, "fgt0"].item() == pytest.approx(7 / 15)


def test_unusable_incomes_are_counted_and_reported_not_dropped_silently():
    m = run_measures(small_roster())
    un = m.unusable.set_index("reason")
    assert un.loc["收入缺失", "households"] == 1 and un.loc["收入缺失", "people"] == 2
    assert un.loc["收入为负数", "households"] == 1
    assert set(m.unusable_households["household_id"]) == {"H6", "H7"}
    assert any("2 households left out" in n for n in m.notes)


def test_non_finite_income_is_unusable():
    r = small_roster()
    r.households["income_per_capita"] = pd.array([1000, 2000, 3000, 2500, float("inf"), 100, 100], dtype="Float64")
    m = run_measures(r)
    assert m.unusable.set_index("reason").loc["收入非有限数值", "households"] == 1
    assert m.overall.iloc[0]["people"] == 4 + 2 + 3 + 1 + 2 + 2


# ---- absent indicators --------------------------------------------------------------------
def test_absent_indicator_is_not_evaluated_and_weights_are_rescaled():
    m = run_measures(small_roster(drop=("food_clothing_secure",)))
    food = next(i for i in m.indicators if i.id == "food_clothing_insecure")
    assert not food.evaluated and food.used_weight == 0
    assert all(i.used_weight == pytest.approx(1 / 5) for i in m.indicators if i.evaluated)
    o = m.overall.iloc[0]
    assert o["H"] == pytest.approx(7 / 15)  # H4 (income only, 1/5) is no longer poor
    assert m.mpi_spec["partial"] is True
    assert any("MPI computed on 5 of 6 indicators" in n and "吃穿有愁" in n for n in m.notes)
    assert "food_clothing_insecure" not in m.to_json()["overall"]["mpi"]["contribution"]


def test_mpi_not_computed_with_fewer_than_two_indicators():
    r = small_roster(drop=("food_clothing_secure", "unsafe_housing", "water_difficulty", "safe_water"))
    r.members = r.members.drop(columns=["medical_insurance", "school_status", "dropout"])
    m = run_measures(r)
    assert not m.mpi_computed
    assert m.to_json()["overall"]["mpi"] is None
    assert m.overall.iloc[0]["fgt0"] == pytest.approx(7 / 15)  # FGT does not depend on the MPI
    assert any("MPI not computed" in n for n in m.notes)


def test_blank_indicator_values_count_as_not_deprived_and_are_reported():
    r = small_roster()
    r.households["food_clothing_secure"] = pd.array([True, None, True, False, None, True, True], dtype="boolean")
    m = run_measures(r)
    food = next(i for i in m.indicators if i.id == "food_clothing_insecure")
    assert food.evaluated and food.unknown_households == 2
    assert any("吃穿有愁: 2 households have no value" in n for n in m.notes)


# ---- decomposition ------------------------------------------------------------------------
ADDITIVE = ["fgt0", "fgt1", "fgt2", "near_line_share", "H", "M0"]


def assert_adds_up(m, by):
    total, groups = m.overall.iloc[0], m.groups[by]
    assert groups["people"].sum() == total["people"]
    assert groups["households"].sum() == total["households"]
    assert groups["gap_yuan"].sum() == pytest.approx(total["gap_yuan"])
    for c in ADDITIVE:
        assert (groups["people"] * groups[c]).sum() / total["people"] == pytest.approx(total[c]), c
    for c in [c for c in groups.columns if c.startswith(("h_", "ch_"))]:
        assert (groups["people"] * groups[c]).sum() / total["people"] == pytest.approx(total[c]), c
    for c in ("registered_people", "income_poor_people", "inclusion_people", "exclusion_people"):
        assert groups[c].sum() == total[c]


def test_decomposition_adds_up_on_the_small_roster():
    m = run_measures(small_roster(), by=["乡镇", "行政村"])
    assert list(m.groups["township"]["township"]) == ["甲镇", "乙镇"]
    for by in ("township", "village"):
        assert_adds_up(m, by)
    a = m.groups["township"].set_index("township").loc["甲镇"]
    assert a["people"] == 9 and a["fgt0"] == pytest.approx(6 / 9)


@pytest.fixture(scope="module")
def sample_result():
    from fupin_cli.core.identify import identify
    from fupin_cli.io import read_roster

    roster = read_roster(SAMPLE)
    res = identify(roster, load_pack("national-2014"), 2015, allow_errors=True)
    return roster, res


def test_decomposition_adds_up_on_the_sample_county(sample_result):
    roster, res = sample_result
    m = measures(res.households, roster.members, res.evaluation, by=["乡镇", "行政村", "主要致贫原因", "贫困户属性"],
                 present=present_fields(roster.households, roster.members))
    for by in ("township", "village", "primary_cause", "attribute"):
        assert_adds_up(m, by)
    assert "(非贫困户)" in set(m.groups["primary_cause"]["primary_cause"])


# ---- independent reference: Alkire & Foster (2011) ------------------------------------------
AF_MEASURES = """
measures:
  income: income_pc
  line: poverty_line
  mpi:
    - id: af2011
      label: Alkire & Foster (2011) section 2 example
      from: 2010
      k: 1/2
      dimensions:
        - {id: income, label: income, indicators: [{id: income, label: income < 13, weight: 1/4, deprived: income_per_capita < 13}]}
        - {id: schooling, label: years of schooling, indicators: [{id: schooling, label: schooling < 12, weight: 1/4, deprived: housing_area < 12}]}
        - {id: calories, label: caloric intake, indicators: [{id: calories, label: calories < 3, weight: 1/4, deprived: arable_land < 3}]}
        - {id: health, label: access to health, indicators: [{id: health, label: no access, weight: 1/4, deprived: food_clothing_secure == false}]}
"""


def test_alkire_foster_2011_worked_example(tmp_path):
    """Alkire & Foster (2011, J. Public Econ. 95: 476–487), section 2: achievement matrix
    y = [[13.1, 14, 4, 1], [15.2, 7, 5, 0], [12.5, 10, 1, 0], [20, 11, 3, 1]], cutoffs z = (13, 12, 3, 1),
    equal weights, k = 2 of 4: deprivation counts c = (0, 2, 4, 1), H = 1/2, A = 3/4, M0 = 3/8.
    The four columns are carried by roster fields (income, housing_area, arable_land, a 0/1 flag)."""
    pack = tmp_path / "af"
    pack.mkdir()
    (pack / "pack.yaml").write_text('pack:\n  name: af\n  version: "1"\n  extends: national-2014\n', encoding="utf-8")
    (pack / "measures.yaml").write_text(AF_MEASURES, encoding="utf-8")
    hh = pd.DataFrame({
        "household_id": ["P1", "P2", "P3", "P4"], "household_size": pd.array([1, 1, 1, 1], dtype="Int64"),
        "income_per_capita": pd.array([13.1, 15.2, 12.5, 20], dtype="Float64"),
        "housing_area": pd.array([14, 7, 10, 11], dtype="Float64"),
        "arable_land": pd.array([4, 5, 1, 3], dtype="Float64"),
        "food_clothing_secure": pd.array([True, False, False, True], dtype="boolean"),
        "status": "非贫困户",
    })
    r = SimpleNamespace(households=hh, members=pd.DataFrame({"household_id": pd.Series(dtype="str")}))
    m = run_measures(r, pack=str(pack), year=2015)
    o = m.overall.iloc[0]
    assert (o["H"], o["A"], o["M0"]) == (pytest.approx(0.5), pytest.approx(0.75), pytest.approx(0.375))
    # uncensored headcounts from the deprivation matrix g0: 1/4, 3/4, 1/4, 1/2; censored (persons 2, 3): 1/4, 1/2, 1/4, 1/2
    assert [o[f"h_{k}"] for k in ("income", "schooling", "calories", "health")] == pytest.approx([0.25, 0.75, 0.25, 0.5])
    assert [o[f"ch_{k}"] for k in ("income", "schooling", "calories", "health")] == pytest.approx([0.25, 0.5, 0.25, 0.5])
    # M0 = Σ w_j CH_j
    assert sum(0.25 * o[f"ch_{k}"] for k in ("income", "schooling", "calories", "health")) == pytest.approx(0.375)


def test_mpi_pack_errors_have_positions(tmp_path):
    pack = tmp_path / "bad"
    pack.mkdir()
    (pack / "pack.yaml").write_text('pack:\n  name: bad\n  version: "1"\n  extends: national-2014\n', encoding="utf-8")
    (pack / "measures.yaml").write_text(AF_MEASURES.replace("weight: 1/4, deprived: arable_land", "weight: 1/3, deprived: arable_lnd"),
                                        encoding="utf-8")
    with pytest.raises(RuleError) as e:
        load_pack(pack)
    text = "\n".join(e.value.problems)
    assert "measures.yaml:10:7: measures.mpi.0.dimensions: indicator weights of MPI 'af2011' sum to 1.08333, not 1" in text
    assert "measures.yaml:13:" in text and "unknown field 'arable_lnd' (did you mean 'arable_land'?)" in text


# ---- bootstrap ----------------------------------------------------------------------------
def test_bootstrap_is_seeded_and_brackets_the_estimate(sample_result):
    roster, res = sample_result
    kw = {"by": ["乡镇"], "sample": True, "replicates": 200, "present": present_fields(roster.households, roster.members)}
    a = measures(res.households, roster.members, res.evaluation, seed=7, **kw)
    b = measures(res.households, roster.members, res.evaluation, seed=7, **kw)
    c = measures(res.households, roster.members, res.evaluation, seed=8, **kw)
    assert a.ci == b.ci and a.ci != c.ci
    o = a.overall.iloc[0]
    for k in ("fgt0", "fgt1", "gap_yuan", "M0"):
        lo, hi = a.ci["overall"][k]
        assert lo <= o[k] <= hi, k
    assert len(a.ci["groups"]["乡镇"]) == len(a.groups["township"])


def test_bad_by_is_a_usage_error():
    with pytest.raises(UsageError):
        run_measures(small_roster(), by=["县"])


def test_year_without_mpi_spec_is_a_pack_error():
    # 2013 is also before national-2014's era (pack.yaml years: 2014–2020): either refusal is a pack error
    with pytest.raises(RuleError, match="no MPI specification|--year 2013 is outside it"):
        run_measures(small_roster(), year=2013)


# ---- CLI ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def register_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("measures")
    reg = d / "register.xlsx"
    r = runner.invoke(app, ["identify", str(SAMPLE), "--year", "2015", "-o", str(reg), "-q"])
    assert r.exit_code == 0, r.output
    return reg


def test_cli_json_equals_the_library(register_file):
    from fupin_cli.io.register import read_register

    r = runner.invoke(app, ["measures", str(register_file), "--year", "2015", "--by", "行政村", "--json"])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert set(payload["overall"]) == {"people", "fgt0", "fgt1", "fgt2", "gap_yuan", "near_line_share", "mpi"}
    assert set(payload["overall"]["mpi"]) == {"H", "A", "M0", "contribution"}
    reg = read_register(register_file)
    ev = evaluate(SimpleNamespace(households=reg.households, members=reg.members), load_pack("national-2014"), year=2015)
    lib = measures(reg.households, reg.members, ev, by=["行政村"]).to_json()
    assert payload["overall"] == lib["overall"]
    assert payload["groups"] == lib["groups"]
    assert payload["provenance"]["command"] == "measures"


def test_cli_roster_and_register_agree(register_file):
    a = json.loads(runner.invoke(app, ["measures", str(SAMPLE), "--year", "2015", "--json"]).stdout)
    b = json.loads(runner.invoke(app, ["measures", str(register_file), "--year", "2015", "--json"]).stdout)
    assert a["overall"] == b["overall"] and a["targeting"] == b["targeting"]


def test_cli_workbook_has_a_sheet_per_view_with_charts(tmp_path, register_file):
    import openpyxl

    out = tmp_path / "m.xlsx"
    r = runner.invoke(app, ["measures", str(register_file), "--year", "2015", "--by", "乡镇", "--by", "主要致贫原因",
                            "--sample", "--replicates", "50", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["总体", "按乡镇", "按主要致贫原因", "多维贫困", "标准敏感性", "项目台账", "收入不可用", "说明"]
    assert [c.value for c in wb["总体"][1]] == ["指标", "数值", "比率", "比率95%下限", "比率95%上限", "95%下限（元）", "95%上限（元）"]
    for name in ("按乡镇", "按主要致贫原因", "多维贫困", "标准敏感性"):
        assert len(wb[name]._charts) == 1, name
    about = {row[0].value: row[1].value for row in wb["说明"].iter_rows(min_row=2)}
    assert about["命令 (command)"] == "measures"
    # the group rows end with a 合计 row equal to the county
    rows = list(wb["按乡镇"].iter_rows(min_row=2, values_only=True))
    assert rows[-1][0] == "合计" and rows[-1][2] == sum(r[2] for r in rows[:-1])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_long_table(tmp_path, register_file, suffix):
    out = tmp_path / f"m{suffix}"
    r = runner.invoke(app, ["measures", str(register_file), "--year", "2015", "--by", "乡镇", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(df["视图"]) == ["总体", "乡镇", "乡镇"]
    assert df["人数"].iloc[1:].sum() == df["人数"].iloc[0]


def test_cli_errors_are_one_line(register_file):
    r = runner.invoke(app, ["measures", str(register_file), "--year", "2015", "--by", "县"])
    assert r.exit_code == 2 and "--by 县" in r.output
    r = runner.invoke(app, ["measures", str(register_file), "--year", "2022"])  # the pack's years first (one --year rule)
    assert r.exit_code == 3 and "covers the years 2010–2020, not 2022" in r.output
    r = runner.invoke(app, ["measures", str(register_file), str(SAMPLE), "--year", "2015"])
    assert r.exit_code == 2 and "mixes rosters and registers" in r.output


# ---- programme ledgers (项目台账) ------------------------------------------------------------------
def test_programme_ledger_relocation_share_and_estimates():
    r = small_roster()
    r.households["relocated"] = pd.array([True, False, False, False, True, False, False], dtype="boolean")
    # a 原贫困户属性 column with blank cells (a roster without the column at all leaves the subsidy rules not evaluated)
    r.households["recorded_attribute"] = pd.array([None] * len(r.households), dtype="str")
    m = run_measures(r, pack="chongqing")
    reloc = m.programmes["relocation"]
    assert (reloc["relocated_households"], reloc["relocated_people"], reloc["poor_people"]) == (2, 9, 4)
    assert reloc["poor_share_of_relocated_people"] == pytest.approx(4 / 9)
    assert reloc["relocated_share_of_poor_people"] == pytest.approx(4 / 11)  # registered: H1, H2, H3, H6
    est = m.programmes["estimates"].set_index("rule")
    # blank 原贫困户属性: both relocated households get the ordinary 8,000 per person
    assert est.loc["est_relocation_subsidy_ordinary", "total"] == pytest.approx(8000 * 9)
    assert est.loc["est_relocation_subsidy_poor", "households"] == 0
    assert pd.isna(est.loc["est_microcredit_term", "total"])  # years do not add up
    assert m.to_json()["programmes"]["relocation"] == reloc


def test_programme_ledger_says_when_relocation_cannot_be_checked():
    m = run_measures(small_roster())
    assert m.programmes["relocation"] is None


def test_rules_show_lists_the_mpi_and_fund_items():
    r = runner.invoke(app, ["rules", "show", "chongqing", "--year", "2015", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    mpi = data["measures"]["mpi"][0]
    assert mpi["k"] == pytest.approx(1 / 3) and len(mpi["indicators"]) == 6
    assert sum(i["weight"] for i in mpi["indicators"]) == pytest.approx(1)
    items = {i["id"]: i for i in data["funds"]}
    assert items["relocation_subsidy"]["standards"][0]["param"] == "relocation_subsidy_poor"
    assert runner.invoke(app, ["rules", "show", "chongqing", "--year", "2018", "--json"]).exit_code == 0
