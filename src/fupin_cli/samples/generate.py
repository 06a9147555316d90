"""``generate_roster``: a deterministic synthetic county as a Roster plus its Truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.roster import Roster
from fupin_cli.samples import households as H
from fupin_cli.samples import names, people
from fupin_cli.samples.rand import group_any, group_sum, labels, stream, zfill
from fupin_cli.samples.truth import Truth, empty_faults
from fupin_cli.schema import FIELDS, PROVENANCE_COLUMNS, SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET

MAX_HOUSEHOLDS = 5_000_000
HIDDEN_MEMBER = ["_u0", "_u1", "_u2", "_u3", "_u4", "_u5", "_u6", "_u7", "_role"]
EXCLUSION_ZH = {f: FIELDS[f].zh for f in H.EXCLUSION_FIELDS}
TRANSFER_PARTS = ["dibao_benefit", "tekun_benefit", "pension_benefit", "family_planning_subsidy", "eco_compensation"]


@dataclass
class State:
    """Generator state: canonical columns plus hidden ``_``-prefixed helper columns."""

    households: pd.DataFrame
    members: pd.DataFrame
    year: int
    seed: int
    county: names.County


def poverty_line(year: int) -> int:
    if year not in H.POVERTY_LINES:
        years = sorted(H.POVERTY_LINES)
        raise UsageError(f"no poverty line for year {year} in the sample generator",
                         f"use a year from {years[0]} to {years[-1]}")
    return H.POVERTY_LINES[year]


def resolve_county(county: str | names.County) -> names.County:
    if isinstance(county, names.County):
        return county
    if county not in names.COUNTIES:
        raise UsageError(f"unknown sample county {county!r}", "choose one of: " + ", ".join(names.COUNTIES))
    return names.COUNTIES[county]


def check_size(n_households: int) -> None:
    if not 1 <= n_households <= MAX_HOUSEHOLDS:
        raise UsageError(f"--households must be between 1 and {MAX_HOUSEHOLDS:,} (got {n_households:,})")


def generate_roster(n_households: int, seed: int, year: int = 2015, county: str | names.County = names.DEFAULT_COUNTY,
                    messy: bool = False, *, poor_share: float = 0.11) -> tuple[Roster, Truth]:
    """A synthetic county roster and what the national rules should conclude about it.

    Same (n_households, seed, year, county, messy) → identical frames on any machine.
    ``messy=True`` plants the documented faults (see :mod:`fupin_cli.samples.messy`) into
    the same county the clean call would produce; fault positions refer to the
    ``template`` layout of :func:`fupin_cli.io.write_roster.write_roster`.
    """
    state = build_state(n_households, seed, year, county, poor_share=poor_share)
    truth = truth_for(state)
    if messy:
        from fupin_cli.samples.messy import plant_faults

        return plant_faults(state, truth)
    return to_roster(state, layout="member"), truth


def build_state(n: int, seed: int, year: int, county: str | names.County, *, poor_share: float = 0.11) -> State:
    check_size(n)
    line = poverty_line(year)
    cty = resolve_county(county)
    geo = H.geography(stream(seed, "geography"), n, cty)
    comp = people.compose(stream(seed, "composition"), n)
    size = comp["size"]
    m = people.make_members(stream(seed, "members"), comp, year, cty)
    st = people.statuses(m["age"], m["health"], m["u_status"])
    m.update(st)
    hh = m["hh"]
    mm = len(hh)
    rng = stream(seed, "household")
    cond = H.conditions(stream(seed, "conditions"), n, size)

    # social assistance: 低保 more likely without labour or with serious illness; 特困 = old, alone, no labour
    labouring = np.isin(m["labour"], ("普通劳动力", "技能劳动力"))
    no_lab = ~group_any(hh, labouring, n)
    sick = group_any(hh, np.isin(m["health"], ("患有大病", "残疾")), n)
    oldest = np.zeros(n, dtype=np.int64)
    np.maximum.at(oldest, hh, m["age"])
    tekun = (size == 1) & (oldest >= 60) & no_lab & (rng.random(n) < 0.6)
    dibao = ~tekun & (rng.random(n) < 0.04 + 0.2 * no_lab + 0.1 * sick)
    um = stream(seed, "member-flags").random((mm, 8))
    m["on_dibao"] = dibao[hh] & ((um[:, 0] < 0.85) | (m["pos"] == 0))
    m["on_tekun"] = tekun[hh]
    student = m["school_status"] != "非在校生"
    m["medical_insurance"] = um[:, 1] < 0.97
    m["critical_illness_insurance"] = m["medical_insurance"] & (um[:, 2] < 0.96)
    m["pension_insurance"] = (m["age"] >= 16) & ~student & (um[:, 3] < 0.85)
    m["active_military"] = m["male"] & (m["age"] >= 18) & (m["age"] <= 25) & (um[:, 4] < 0.01)
    disabled = m["health"] == "残疾"
    cert = np.strings.add(m["id_number"].astype(str), np.strings.add((1 + (um[:, 5] * 7).astype(np.int64)).astype(str),
                                                                      (1 + (um[:, 6] * 4).astype(np.int64)).astype(str)))
    m["disability_cert"] = np.where(disabled, cert, None).astype(object)
    m["ethnicity"] = np.where(rng.random(n) < cty.minority_share, cty.minority, "汉族")[hh].astype(object)
    up = stream(seed, "politics").random(mm)
    m["politics"] = np.where((m["age"] >= 22) & (up < 0.05), "中共党员",
                             np.where((m["age"] >= 14) & (m["age"] <= 28) & (up > 0.88), "共青团员", "群众")).astype(object)
    m["politics"] = np.where(m["age"] < 14, None, m["politics"]).astype(object)

    # income
    raw = H.raw_income(stream(seed, "income"), n, hh, m, cond, {"dibao_household": dibao, "tekun_household": tekun})
    raw_net = (raw["wage_income"] + raw["business_income"] + raw["other_property"] - raw["business_expense"]
               + sum(raw[k] for k in TRANSFER_PARTS) + raw["other_transfer"])
    ri = stream(seed, "income-target")
    target, poor = H.income_targets(ri, raw_net / size, line, poor_share)
    raw["dividend_income"] = np.where(poor & (ri.random(n) < 0.25), 300 + ri.random(n) * 700, 0.0)
    inc = H.calibrate(raw, size, target)
    at_line = np.zeros(n, dtype=bool)
    if n >= 20:  # one household exactly at the line: not poor (income must be *below* the line)
        cand = np.flatnonzero(~poor & (target < line * 1.25))
        if len(cand):
            i = int(cand[ri.integers(0, len(cand))])
            inc["business_income"][i] += line * size[i] - inc["net_income"][i]
            inc = H.finish_income(inc, size)
            at_line[i] = True

    excl = H.exclusions(stream(seed, "exclusions"), n, poor)
    # member flags behind household exclusions: one adult member each
    ue = stream(seed, "exclusion-members").random(mm)
    adult = (m["age"] >= 22) & (m["age"] <= 60)
    first_adult = _first_per_household(hh, adult, ue, n)
    m["public_employee"] = np.zeros(mm, dtype=bool)
    m["village_cadre"] = np.zeros(mm, dtype=bool)
    for flag, member_flag in (("has_public_employee", "public_employee"), ("has_village_cadre", "village_cadre")):
        ok = excl[flag] & (first_adult >= 0)
        excl[flag] = ok
        m[member_flag][first_adult[ok]] = True

    below = inc["income_per_capita"] < line
    excluded = np.zeros(n, dtype=bool)
    for f in H.EXCLUSION_FIELDS:
        excluded |= excl[f]
    expected_poor = below & ~excluded
    # the registry on record: the expected poor, minus a few missed (漏评), plus a few wrong (错评)
    ur = stream(seed, "recorded").random((n, 6))
    recorded = (expected_poor & (ur[:, 0] >= 0.03)) | (below & excluded & (ur[:, 1] < 0.5)) \
        | (~below & (inc["income_per_capita"] < line * 1.15) & ~at_line & (ur[:, 2] < 0.1))
    primary, secondary = H.causes(stream(seed, "causes"), n, hh, m, cond, size)
    attribute = np.select([dibao & tekun, tekun, dibao], ["低保特困供养贫困户", "特困供养贫困户", "低保贫困户"], "一般贫困户")

    # people on the record: head, assistance
    head_idx = np.flatnonzero(m["pos"] == 0)
    ua = stream(seed, "assistance")
    helped = recorded & (ua.random(n) < 0.92)
    helper = _person_names(ua, n)
    n_vil = geo["n_villages"]
    vil = geo["village_idx"]
    team = _person_names(ua, n_vil)
    has_team = ua.random(n_vil) < 0.85
    has_sec = ua.random(n_vil) < 0.7
    secretary = _person_names(ua, n_vil)
    units = np.asarray(names.UNITS, dtype=object)
    phone = np.strings.add(np.strings.add("1", labels(["3", "5", "8"], ua.integers(0, 3, n)).astype(str)), zfill(ua.integers(0, 10**9, n), 9))
    helper_phone = np.strings.add("139", zfill(ua.integers(0, 10**8, n), 8))
    bank_acct = np.strings.add(np.strings.add("62", zfill(ua.integers(0, 10**9, n), 9)), zfill(ua.integers(0, 10**8, n), 8))
    house_no = (ua.random(n) * 80 + 1).astype(np.int64).astype(str)
    children = group_sum(hh, np.isin(m["relation"], ("之子", "之女")), n)
    daughters = group_sum(hh, m["relation"] == "之女", n)

    hd = {
        "household_id": geo["household_id"],
        "province": np.full(n, cty.province, dtype=object), "city": np.full(n, cty.city, dtype=object),
        "county": np.full(n, cty.county, dtype=object),
        "township": geo["township"], "village": geo["village"], "natural_village": geo["natural_village"],
        "head_name": m["name"][head_idx], "head_id_number": m["id_number"][head_idx],
        "household_size": size, "phone": phone.astype(object),
        "address": np.strings.add(np.strings.add(np.strings.add(geo["township"].astype(str), geo["village"].astype(str)),
                                                 geo["natural_village"].astype(str)), np.strings.add(house_no, "号")).astype(object),
        "bank_name": np.strings.add(cty.county, labels(names.BANKS, ua.integers(0, len(names.BANKS), n)).astype(str)).astype(object),
        "bank_account": bank_acct.astype(object),
        "year": np.full(n, year), "identification_standard": np.full(n, "国家标准", dtype=object),
        "recorded_attribute": np.where(recorded, attribute, None).astype(object),
        "recorded_primary_cause": np.where(recorded, primary, None).astype(object),
        "recorded_secondary_causes": np.where(recorded, secondary, None).astype(object),
        "exit_status": np.where(recorded, "未脱贫", None).astype(object),
        "first_identified_year": np.where(recorded, min(year, 2014), np.nan),
        "military_family": cond["military_family"],
        "only_child": (children == 1) & (ur[:, 3] < 0.4),
        "two_daughters": (children == 2) & (daughters == 2) & (ur[:, 4] < 0.5),
        "relocated": recorded & (ur[:, 5] < 0.03),
    }
    for k in ("arable_land", "irrigated_land", "forest_land", "grain_for_green", "coop_member", "production_power",
              "domestic_power", "broadcast_tv", "road_distance_km", "road_type", "housing_area", "housing_structure",
              "unsafe_housing", "unsafe_housing_level", "water_difficulty", "safe_water", "fuel_type",
              "sanitary_toilet", "food_clothing_secure"):
        hd[k] = cond[k]
    for k in ("annual_income", "wage_income", "business_income", "property_income", "dividend_income", "transfer_income",
              "family_planning_subsidy", "dibao_benefit", "tekun_benefit", "pension_benefit", "eco_compensation",
              "business_expense", "net_income", "income_per_capita"):
        hd[k] = inc[k]
    hd["previous_income_per_capita"] = np.round(inc["income_per_capita"] / (1.05 + 0.15 * ur[:, 0]), 2)
    hd["dibao_household"], hd["tekun_household"] = dibao, tekun
    for f in H.EXCLUSION_FIELDS:
        hd[f] = excl[f]
    hd["vehicle_value"] = excl["vehicle_value"]
    hd["responsible_person"] = np.where(helped, helper, None).astype(object)
    hd["responsible_unit"] = np.where(helped, units[ua.integers(0, len(units), n)], None).astype(object)
    hd["responsible_phone"] = np.where(helped, helper_phone, None).astype(object)
    hd["task_force"] = np.where(has_team, team, None)[vil].astype(object)
    hd["first_secretary"] = np.where(has_sec, secretary, None)[vil].astype(object)
    households = pd.DataFrame(hd)
    households["_at_line"] = at_line

    md = {
        "household_id": geo["household_id"][hh],
        "member_id": np.strings.add(geo["household_id"][hh].astype(str), zfill(m["pos"] + 1, 3)).astype(object),
        "seq": m["pos"] + 1, "name": m["name"], "sex": np.where(m["male"], "男", "女").astype(object),
        "birth_date": m["birth"], "id_number": m["id_number"], "relation": m["relation"],
    }
    for k in ("ethnicity", "politics", "education", "school_status", "health", "labour", "work_status", "work_months",
              "active_military", "medical_insurance", "critical_illness_insurance", "pension_insurance",
              "on_dibao", "on_tekun", "disability_cert", "dropout", "public_employee", "village_cadre"):
        md[k] = m[k]
    members = pd.DataFrame(md)
    for j in range(8):
        members[f"_u{j}"] = m["u_status"][:, j]
    members["_role"] = m["role"]
    return State(households, members, year, seed, cty)


def _first_per_household(hh: np.ndarray, mask: np.ndarray, u: np.ndarray, n: int) -> np.ndarray:
    """Index of one randomly chosen member satisfying ``mask`` per household (-1 if none)."""
    key = np.where(mask, u, 2.0)
    order = np.lexsort((key, hh))
    first = np.full(n, -1, dtype=np.int64)
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = hh[order][1:] != hh[order][:-1]
    cand = order[starts]
    ok = mask[cand]
    first[hh[cand[ok]]] = cand[ok]
    return first


def _person_names(rng: np.random.Generator, k: int) -> np.ndarray:
    sur = np.asarray(names.SURNAMES)[rng.integers(0, len(names.SURNAMES), k)]
    pool = np.asarray(names.MALE_CHARS + names.FEMALE_CHARS)
    given = np.strings.add(pool[rng.integers(0, len(pool), k)], pool[rng.integers(0, len(pool), k)])
    return np.strings.add(sur, given).astype(object)


# --------------------------------------------------------------------------------------
# Truth and Roster
# --------------------------------------------------------------------------------------
def three_guarantees(households: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """两不愁三保障 + 饮水安全 as the samples define them (docs/samples.md)."""
    g = members.groupby("household_id", sort=False)
    all_insured = g["medical_insurance"].all()
    any_dropout = g["dropout"].any()
    hid = households["household_id"]
    ok = (~households["unsafe_housing"].astype(bool) & households["safe_water"].astype(bool)
          & households["food_clothing_secure"].astype(bool)
          & hid.map(all_insured).fillna(False).astype(bool) & ~hid.map(any_dropout).fillna(False).astype(bool))
    return ok.astype(bool)


def truth_for(state: State) -> Truth:
    h = state.households
    line = poverty_line(state.year)
    excl = h[H.EXCLUSION_FIELDS].astype(bool)
    excluded = excl.any(axis=1)
    reasons = pd.Series([""] * len(h), index=h.index, dtype=object)
    for f in H.EXCLUSION_FIELDS:
        reasons = reasons.where(~excl[f], reasons + "、" + EXCLUSION_ZH[f])
    below = h["income_per_capita"] < line
    th = pd.DataFrame({
        "household_id": h["household_id"].astype(str),
        "township": h["township"].astype(str), "village": h["village"].astype(str),
        "household_size": h["household_size"].astype(int),
        "income_per_capita": h["income_per_capita"].astype(float),
        "poverty_line": float(line),
        "below_line": below.astype(bool),
        "at_line": h["_at_line"].astype(bool),
        "excluded": excluded.astype(bool),
        "exclusion_reasons": reasons.str.lstrip("、"),
        "expected_status": np.where(below & ~excluded, "贫困户", "非贫困户"),
        "recorded_poor": h["recorded_attribute"].notna().astype(bool),
        "three_guarantees_met": three_guarantees(h, state.members).to_numpy(),
        "faults": "",
    })
    return Truth(state.year, state.seed, state.county.county, float(line), False, th.reset_index(drop=True), empty_faults())


def typed(df: pd.DataFrame, raw: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Cast canonical columns to the Roster dtypes (schema kinds); others untouched.

    Columns named in ``raw`` (messy samples) are kept as written when they hold values of
    the wrong type for their field (text in a money column, a number in the ID column).
    """
    out = {}
    for col in df.columns:
        f = FIELDS.get(col)
        s = df[col]
        if f is None or (col in raw and s.dtype == object and _is_raw(s, f.kind)):
            out[col] = s  # hidden columns, or messy raw values kept as written
        elif f.kind in ("str", "code"):
            out[col] = s.astype("str")
        elif f.kind == "int":
            out[col] = pd.array(pd.to_numeric(s), dtype="Int64")
        elif f.kind in ("float", "money"):
            out[col] = pd.array(pd.to_numeric(s), dtype="Float64")
        elif f.kind == "bool":
            out[col] = pd.array(s, dtype="boolean")
        elif f.kind == "date":
            out[col] = pd.to_datetime(s).astype("datetime64[ns]")
        else:
            out[col] = s
    return pd.DataFrame(out, index=df.index)


def _is_raw(s: pd.Series, kind: str) -> bool:
    """A messy column holding values as written: text in a typed column, numbers in a text column."""
    if kind in ("str", "code"):
        return bool(s.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v == v).any())
    return bool(s.map(lambda v: isinstance(v, str)).any())


def to_roster(state: State, layout: str, raw: frozenset[str] = frozenset()) -> Roster:
    """Drop hidden columns, cast, and add provenance for the given written layout."""
    from fupin_cli.io.write_roster import SHEETS, row_numbers

    hh = typed(state.households.drop(columns=[c for c in state.households.columns if c.startswith("_")]), raw)
    mem = typed(state.members.drop(columns=[c for c in state.members.columns if c.startswith("_")]), raw)
    hh = hh.reset_index(drop=True)
    mem = mem.reset_index(drop=True)
    roster = Roster(hh, mem)
    hrows, mrows = row_numbers(roster, layout)
    hsheet, msheet = SHEETS[layout]
    source = f"synthetic(seed={state.seed})"
    for frame, rows, sheet in ((hh, hrows, hsheet), (mem, mrows, msheet)):
        frame[SOURCE_FILE] = source
        frame[SOURCE_SHEET] = sheet
        frame[SOURCE_ROW] = pd.array(rows, dtype="Int64")
    assert list(hh.columns[-3:]) == PROVENANCE_COLUMNS
    return roster
