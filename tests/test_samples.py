"""The synthetic sample generator: determinism, internal consistency, truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupin_cli.errors import UsageError
from fupin_cli.samples import generate_roster, poverty_line
from fupin_cli.samples.generate import build_state
from fupin_cli.samples.ids import check_char, is_valid, mask, to_15, with_sex

PARENT_CHILD = {"之子", "之女"}


@pytest.fixture(scope="module")
def county():
    return generate_roster(1500, seed=11, year=2015)


def test_check_char_matches_known_numbers():
    # domain.md §6: checked locally against python-stdnum
    assert check_char("11010519491231002") == "X"
    assert check_char("36042619910101007") == "1"
    assert check_char("12010319880601824") == "1"
    assert is_valid("11010519491231002X") and not is_valid("110105194912310021")
    assert to_15("11010519491231002X") == "110105491231002"
    assert mask("11010519491231002X") == "110105********002X"


def test_with_sex_sets_parity_and_check():
    male = with_sex("11010519491231002X", True)
    assert int(male[16]) % 2 == 1 and is_valid(male)


def test_same_seed_same_frames_and_csv_bytes():
    a, ta = generate_roster(120, seed=7)
    b, tb = generate_roster(120, seed=7)
    pd.testing.assert_frame_equal(a.households, b.households)
    pd.testing.assert_frame_equal(a.members, b.members)
    assert a.members.to_csv(index=False).encode() == b.members.to_csv(index=False).encode()
    assert ta.to_json() == tb.to_json()
    c, _ = generate_roster(120, seed=8)
    assert not a.members["id_number"].equals(c.members["id_number"])


def test_ids_valid_unique_with_birth_date_and_sex(county):
    roster, _ = county
    m = roster.members
    ids = m["id_number"].astype(str)
    assert ids.map(is_valid).all()
    assert not ids.duplicated().any()
    assert ids.str.endswith("X").mean() > 0.05  # some end in X (1 in 11)
    assert (ids.str[6:14] == m["birth_date"].dt.strftime("%Y%m%d")).all()
    odd = ids.str[16].astype(int) % 2 == 1
    assert ((m["sex"] == "男") == odd).all()
    assert ids.str[:6].isin(["500230", "500233", "500102", "500236"]).all()


def test_household_ids_and_head(county):
    roster, _ = county
    h, m = roster.households, roster.members
    assert h["household_id"].is_unique
    heads = m[m["relation"] == "户主"]
    assert heads["household_id"].is_unique and len(heads) == len(h)
    merged = h.merge(heads[["household_id", "name", "id_number"]], on="household_id")
    assert (merged["head_name"] == merged["name"]).all()
    assert (merged["head_id_number"] == merged["id_number"]).all()
    assert (m.groupby("household_id").size().reindex(h["household_id"]).to_numpy() == h["household_size"].to_numpy()).all()
    assert h["household_size"].between(1, 8).all()
    assert 3.2 < h["household_size"].mean() < 3.8


def test_relations_sex_and_ages(county):
    roster, _ = county
    m = roster.members
    year = 2015
    age = year - m["birth_date"].dt.year
    sex = m.set_index(["household_id", "relation"])["sex"]
    for rel, s in (("之父", "男"), ("之母", "女"), ("之儿媳", "女"), ("之女婿", "男"), ("之子", "男"), ("之女", "女"),
                   ("之公公", "男"), ("之婆婆", "女"), ("之孙子", "男"), ("之孙女", "女")):
        assert (m.loc[m["relation"] == rel, "sex"] == s).all(), rel
    head = m[m["relation"] == "户主"].set_index("household_id")
    spouse = m[m["relation"] == "配偶"].set_index("household_id")
    assert (spouse["sex"] != head.loc[spouse.index, "sex"]).all()
    head_age = (year - head["birth_date"].dt.year)
    kids = m[m["relation"].isin(PARENT_CHILD)]
    kid_age = year - kids["birth_date"].dt.year
    assert (kid_age.to_numpy() <= head_age.loc[kids["household_id"]].to_numpy() - 20).all()
    parents = m[m["relation"].isin(["之父", "之母"])]
    assert ((year - parents["birth_date"].dt.year).to_numpy() >= head_age.loc[parents["household_id"]].to_numpy() + 20).all()
    assert age.between(0, 110).all()
    del sex


def test_statuses_consistent_with_age_and_health(county):
    roster, _ = county
    m = roster.members
    age = 2015 - m["birth_date"].dt.year
    assert (m.loc[age.between(6, 11), "school_status"] != "高中一年级").all()
    assert (m.loc[age <= 5, "education"] == "学龄前儿童").all()
    assert (m.loc[age >= 23, "school_status"] == "非在校生").all()
    assert (m.loc[age < 16, "labour"] == "无劳动力").all()
    healthy_working = (m["health"] == "健康") & age.between(16, 64) & (m["school_status"] == "非在校生")
    assert m.loc[healthy_working, "labour"].isin(["普通劳动力", "技能劳动力"]).all()
    assert (m.loc[m["work_status"].isna(), "work_months"] == 0).all()
    assert m.loc[m["work_months"] > 0, "work_status"].isin(["乡(镇)内务工", "乡(镇)外县内务工", "县外省内务工", "省外务工"]).all()
    shares = m["health"].value_counts(normalize=True)
    assert 0.75 < shares["健康"] < 0.95 and set(shares.index) == {"健康", "长期慢性病", "患有大病", "残疾"}
    assert m.loc[m["health"] == "残疾", "disability_cert"].str.len().eq(20).all()


def test_income_formula_exact(county):
    roster, _ = county
    h = roster.households
    net = h["wage_income"] + h["business_income"] + h["property_income"] + h["transfer_income"] - h["business_expense"]
    assert (net == h["net_income"]).all()
    assert ((h["net_income"] / h["household_size"] - h["income_per_capita"]).abs() <= 0.005 + 1e-9).all()
    parts = h[["family_planning_subsidy", "dibao_benefit", "tekun_benefit", "pension_benefit", "eco_compensation"]].sum(axis=1)
    assert (parts <= h["transfer_income"]).all()
    assert (h["dividend_income"] <= h["property_income"]).all()
    assert (h["annual_income"] == h["net_income"] + h["business_expense"]).all()


def test_wage_only_with_migrant_workers(county):
    roster, _ = county
    months = roster.members.groupby("household_id")["work_months"].sum()
    h = roster.households.set_index("household_id")
    assert (h.loc[months.index[months == 0], "wage_income"] == 0).all()


def test_poor_share_and_truth(county):
    roster, truth = county
    h, th = roster.households, truth.households
    line = poverty_line(2015)
    assert line == 2855
    below = (h["income_per_capita"] < line).to_numpy()
    assert (th["below_line"].to_numpy() == below).all()
    assert 0.08 <= below.mean() <= 0.15
    assert th["at_line"].sum() == 1
    assert (h.loc[th["at_line"].to_numpy(), "income_per_capita"] == line).all()
    excl = h[["has_public_employee", "has_village_cadre", "has_vehicle", "has_town_property", "has_company",
              "large_scale_operator", "split_household", "absentee_registration"]].any(axis=1).to_numpy()
    assert (th["excluded"].to_numpy() == excl).all()
    assert 0 < excl.mean() < 0.1
    assert (th.loc[below & excl, "expected_status"] == "待核实").all()  # exclusions are review (民主评议) by default
    assert (th["expected_status"].eq("贫困户").to_numpy() == (below & ~excl)).all()
    assert (h.loc[h["has_vehicle"], "vehicle_value"] >= 30000).all()
    assert (below & excl).any()  # a few poor-looking households are excluded (识别不准)


def test_recorded_attribute_and_causes_consistent(county):
    roster, truth = county
    h, m = roster.households, roster.members
    rec = h[h["recorded_attribute"].notna()]
    assert truth.households["recorded_poor"].sum() == len(rec)
    assert (rec.loc[rec["dibao_household"] & ~rec["tekun_household"], "recorded_attribute"] == "低保贫困户").all()
    assert (rec.loc[~rec["dibao_household"] & ~rec["tekun_household"], "recorded_attribute"] == "一般贫困户").all()
    sick = m[m["health"].isin(["患有大病", "长期慢性病"])]["household_id"].unique()
    disabled = m[m["health"] == "残疾"]["household_id"].unique()
    assert rec.loc[rec["recorded_primary_cause"] == "因病", "household_id"].isin(sick).all()
    assert rec.loc[rec["recorded_primary_cause"] == "因残", "household_id"].isin(disabled).all()
    assert rec["recorded_primary_cause"].notna().all()
    assert rec["responsible_person"].notna().mean() > 0.8
    assert h.groupby("village")["task_force"].first().notna().mean() > 0.6
    dibao = h.loc[h["dibao_household"], "household_id"]
    assert dibao.isin(m.loc[m["on_dibao"], "household_id"]).all()


def test_geography_scales():
    small = build_state(60, 3, 2015, "丰都县")
    per_village = small.households.groupby("village").size()
    assert 2 <= small.households["township"].nunique() <= 5
    assert per_village.mean() < 40
    big = build_state(20000, 3, 2015, "丰都县")
    assert big.households["village"].nunique() > 100
    assert big.households.groupby(["township", "village"]).ngroups == big.households["village"].nunique()


def test_bad_arguments():
    with pytest.raises(UsageError, match="no poverty line for year 2030"):
        generate_roster(10, 1, year=2030)
    with pytest.raises(UsageError, match="unknown sample county"):
        generate_roster(10, 1, county="无此县")
    with pytest.raises(UsageError, match="messy samples need at least 40 households"):
        generate_roster(10, 1, messy=True)
    with pytest.raises(UsageError, match="between 1 and"):
        generate_roster(0, 1)


@pytest.mark.slow
def test_hundred_thousand_households_generate():
    roster, truth = generate_roster(100_000, seed=5)
    assert roster.n_households == 100_000
    assert not roster.members["id_number"].duplicated().any()
    assert np.isclose(truth.households["below_line"].mean(), 0.11, atol=0.02)
