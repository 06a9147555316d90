"""``generate_roster``: a deterministic synthetic county as a Roster plus its Truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from fupin_cli.errors import UsageError
from fupin_cli.roster import Roster
from fupin_cli.samples import households as H
from fupin_cli.samples import names, people
from fupin_cli.samples.rand import as_str, const, digits, group_any, group_sum, isin, join, stream, text
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


def generate_roster(n_households: int, seed: int, year: int = 2015, county: str | names.County | None = None,
                    messy: bool = False, *, poor_share: float = 0.11) -> tuple[Roster, Truth]:
    """A synthetic county roster and what the national rules should conclude about it.

    Same (n_households, seed, year, county, messy) → identical frames on any machine.
    ``messy=True`` plants the documented faults (see :mod:`fupin_cli.samples.messy`) into
    the same county the clean call would produce; fault positions refer to the
    ``template`` layout of :func:`fupin_cli.io.write_roster.write_roster`.

    Years 2021–2025 give a 防止返贫监测 county (:mod:`fupin_cli.samples.monitor`) whose truth
    is what ``rules/monitoring-2021`` should conclude.
    """
    from fupin_cli.samples.monitor import MONITORING_COUNTY, MONITORING_LINES, generate_monitor_roster

    if year not in H.POVERTY_LINES and year not in MONITORING_LINES:
        raise UsageError(f"no poverty line for year {year} in the sample generator",
                         f"use {min(H.POVERTY_LINES)}–{max(H.POVERTY_LINES)} (建档立卡) or "
                         f"{'、'.join(map(str, MONITORING_LINES))} (防止返贫监测, 云南: no verified line for the other years)")
    if year in MONITORING_LINES:

        if messy:
            raise UsageError(f"messy samples are only made for 2010–2020 rosters (got --year {year})",
                             "drop --messy for a 2021+ monitoring sample")
        return generate_monitor_roster(n_households, seed, year, county or MONITORING_COUNTY)
    county = county or names.DEFAULT_COUNTY
    state = build_state(n_households, seed, year, county, poor_share=poor_share)
    truth = truth_for(state)
    if messy:
        from fupin_cli.samples.messy import plant_faults

        return plant_faults(state, truth)
    return to_roster(state, layout="member"), truth


def build_state(n: int, seed: int, year: int, county: str | names.County, *, poor_share: float = 0.11,
                line: float | None = None) -> State:
    """The generator's frames; incomes are set against ``line`` (default: the year's poverty line)."""
    check_size(n)
    line = poverty_line(year) if line is None else line
    cty = resolve_county(county)
    geo = H.geography(stream(seed, "geography"), n, cty)
    comp = people.compose(stream(seed, "composition"), n)
    size = comp["size"]
    m = people.make_members(stream(seed, "members"), comp, year, cty)
    st = people.statuses(m["age"], m["_health_code"], m["u_status"])
    m.update(st)
    hh = m["hh"]
    mm = len(hh)
    rng = stream(seed, "household")
    cond = H.conditions(stream(seed, "conditions"), n, size)

    # social assistance: 低保 more likely without labour or with serious illness; 特困 = old, alone, no labour
    labouring = m["_labour_code"] <= 1  # 普通劳动力, 技能劳动力
    no_lab = ~group_any(hh, labouring, n)
    sick = group_any(hh, isin(m["health"], ("患有大病", "残疾")), n)
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
    grade = (1 + (um[:, 5] * 7).astype(np.int64)) * 10 + 1 + (um[:, 6] * 4).astype(np.int64)
    m["disability_cert"] = join(m["id_number"], digits(grade, 2), missing=~disabled)
    m["ethnicity"] = text(["汉族", cty.minority], (rng.random(n) < cty.minority_share)[hh].astype(np.int64))
    up = stream(seed, "politics").random(mm)
    pol = np.where((m["age"] >= 22) & (up < 0.05), 1, np.where((m["age"] >= 14) & (m["age"] <= 28) & (up > 0.88), 2, 0))
    m["politics"] = text(["群众", "中共党员", "共青团员"], pol, missing=m["age"] < 14)

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
    attribute = np.select([dibao & tekun, tekun, dibao], [0, 1, 2], 3)

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
    phone = digits(np.asarray([13, 15, 18])[ua.integers(0, 3, n)] * 10**9 + ua.integers(0, 10**9, n), 11)
    helper_phone = digits(139 * 10**8 + ua.integers(0, 10**8, n), 11)
    bank_acct = digits((62 * 10**9 + ua.integers(0, 10**9, n)) * 10**8 + ua.integers(0, 10**8, n), 19)
    house_no = (ua.random(n) * 80 + 1).astype(np.int64)
    rel = m["rel_code"]
    children = group_sum(hh, (rel == people.R["之子"]) | (rel == people.R["之女"]), n)
    daughters = group_sum(hh, rel == people.R["之女"], n)

    hd = {
        "household_id": geo["household_id"],
        "province": const(cty.province, n), "city": const(cty.city, n), "county": const(cty.county, n),
        "township": geo["township"], "village": geo["village"], "natural_village": geo["natural_village"],
        "head_name": m["name"].take(head_idx), "head_id_number": m["id_number"].take(head_idx),
        "household_size": size, "phone": as_str(phone),
        "address": join(geo["township"], geo["village"], geo["natural_village"], text([str(i) for i in range(82)], house_no), "号"),
        "bank_name": text([cty.county + b for b in names.BANKS], ua.integers(0, len(names.BANKS), n)),
        "bank_account": as_str(bank_acct),
        "year": np.full(n, year), "identification_standard": const("国家标准", n),
        "recorded_attribute": text(["低保特困供养贫困户", "特困供养贫困户", "低保贫困户", "一般贫困户"], attribute, missing=~recorded),
        "recorded_primary_cause": primary.copy(),
        "recorded_secondary_causes": secondary.copy(),
        "exit_status": text(["未脱贫"], np.zeros(n, dtype=np.int64), missing=~recorded),
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
    hd["responsible_person"] = join(helper, missing=~helped)
    hd["responsible_unit"] = text(names.UNITS, ua.integers(0, len(names.UNITS), n), missing=~helped)
    hd["responsible_phone"] = join(helper_phone, missing=~helped)
    hd["task_force"] = text(pd.Series(team).tolist(), vil, missing=~has_team[vil])
    hd["first_secretary"] = text(pd.Series(secretary).tolist(), vil, missing=~has_sec[vil])
    households = pd.DataFrame(hd)
    households.loc[~recorded, ["recorded_primary_cause", "recorded_secondary_causes"]] = np.nan
    households["_at_line"] = at_line

    md = {
        "household_id": geo["household_id"].take(hh),
        "member_id": join(pa.array(geo["household_id"]).take(pa.array(hh)), digits(m["pos"] + 1, 3)),
        "seq": m["pos"] + 1, "name": m["name"], "sex": text(["女", "男"], m["male"].astype(np.int64)),
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
    step = np.diff(hh)
    if len(hh) and hh[0] == 0 and hh[-1] == n - 1 and step.min(initial=0) >= 0 and step.max(initial=0) <= 1:
        # members grouped by household in order, every household present: no sort needed
        starts = np.flatnonzero(np.r_[True, hh[1:] != hh[:-1]])
        lowest = np.minimum.reduceat(key, starts)
        hit = np.flatnonzero(mask & (key == lowest[hh]))
        first = np.full(n, -1, dtype=np.int64)
        first[hh[hit][::-1]] = hit[::-1]
        return first
    order = np.lexsort((key, hh))
    first = np.full(n, -1, dtype=np.int64)
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = hh[order][1:] != hh[order][:-1]
    cand = order[starts]
    ok = mask[cand]
    first[hh[cand[ok]]] = cand[ok]
    return first


def _person_names(rng: np.random.Generator, k: int):
    """``k`` random names (surname + two characters) as a pandas ``str`` array."""
    pool = names.MALE_CHARS + names.FEMALE_CHARS
    sur = text(names.SURNAMES, rng.integers(0, len(names.SURNAMES), k))
    return join(sur, text(pool, rng.integers(0, len(pool), k)), text(pool, rng.integers(0, len(pool), k)))


# --------------------------------------------------------------------------------------
# Truth and Roster
# --------------------------------------------------------------------------------------
WATER_FROM = 2019  # rules/national-2014 exit.yaml: hh_exit_water `from: 2019`
COMPULSORY_AGES = (7, 14)  # rules/national-2014 parameters compulsory_age_min/max (31 Dec ages)
VEHICLE_LIMIT = 30000  # rules/national-2014 parameters vehicle_value_limit


def member_positions(households: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Position of each member's household in ``households`` (-1: none), fast when members come grouped in order."""
    from fupin_cli.io.write_roster import household_positions

    return household_positions(households, members)


def _flag(df: pd.DataFrame, col: str, default: bool) -> np.ndarray:
    """A yes/no column with blanks read as ``default`` (the pack's ``coalesce``)."""
    if col not in df.columns:
        return np.full(len(df), default)
    return pd.array(df[col], dtype="boolean").fillna(default).to_numpy(dtype=bool)


def three_guarantees(households: pd.DataFrame, members: pd.DataFrame, year: int | None = None) -> pd.Series:
    """两不愁三保障 (+ 饮水安全 from 2019) as ``rules/national-2014`` exit.yaml tests them.

    Only a recorded gap counts (a blank flag is not a gap): 危房 = 是, 不愁吃穿 = 否, a member
    with 基本医疗保险 = 否 (or a 患有大病/长期慢性病 member with 大病保险 = 否), a member marked 辍学 or aged 7–14 on 31 December who is 非在校生,
    and from 2019 饮水困难 = 是 or 饮水安全 = 否.
    """
    if year is None:
        year = int(pd.to_numeric(households["year"]).dropna().iloc[0])
    n = len(households)
    hpos = member_positions(households, members)
    inside = hpos >= 0
    age = year - pd.DatetimeIndex(members["birth_date"]).year.to_numpy()
    out_of_school = _flag(members, "dropout", False) | (
        (age >= COMPULSORY_AGES[0]) & (age <= COMPULSORY_AGES[1])
        & members["school_status"].eq("非在校生").fillna(False).to_numpy(dtype=bool))
    uninsured = ~_flag(members, "medical_insurance", True)
    if "critical_illness_insurance" in members.columns and "health" in members.columns:  # 基本医疗 includes 大病保险
        sick = members["health"].isin(["患有大病", "长期慢性病"]).fillna(False).to_numpy(dtype=bool)
        uninsured = uninsured | (sick & ~_flag(members, "critical_illness_insurance", True))
    ok = (~_flag(households, "unsafe_housing", False) & _flag(households, "food_clothing_secure", True)
          & ~group_any(hpos[inside], uninsured[inside], n) & ~group_any(hpos[inside], out_of_school[inside], n))
    if year >= WATER_FROM:
        ok &= ~_flag(households, "water_difficulty", False) & _flag(households, "safe_water", True)
    return pd.Series(ok, index=households.index)


def exclusion_flags(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """The 一票否决 rules of ``rules/national-2014`` identify.yaml, one boolean column per flag field."""
    n = len(households)
    hpos = member_positions(households, members)
    inside = hpos >= 0
    out = {f: _flag(households, f, False) for f in H.EXCLUSION_FIELDS}
    for flag, member_flag in (("has_public_employee", "public_employee"), ("has_village_cadre", "village_cadre")):
        if member_flag in members.columns:
            out[flag] |= group_any(hpos[inside], _flag(members, member_flag, False)[inside], n)
    value = pd.to_numeric(households["vehicle_value"], errors="coerce").to_numpy(dtype=float) \
        if "vehicle_value" in households.columns else np.full(n, np.nan)
    out["has_vehicle"] = np.where(np.isnan(value), out["has_vehicle"], value >= VEHICLE_LIMIT)  # value where given, else the flag
    if "relocated" in households.columns:  # a relocated household's town flat is no exclusion
        out["has_town_property"] &= ~_flag(households, "relocated", False)
    return pd.DataFrame(out, index=households.index)


def expected_status(below: np.ndarray, excluded: np.ndarray, met: np.ndarray) -> pd.Series:
    """识别结果 under national-2014's defaults: exclusions in review mode (待核实 below the line) and
    guarantee_gap_mode review (待核实 at or above the line with a recorded 两不愁三保障 gap, not excluded)."""
    code = np.select([below & ~excluded, below & excluded, ~below & ~excluded & ~met], [0, 1, 1], 2)
    return text(["贫困户", "待核实", "非贫困户"], code.astype(np.int64))


def truth_for(state: State) -> Truth:
    h = state.households
    line = poverty_line(state.year)
    excl = exclusion_flags(h, state.members)
    bits = np.zeros(len(h), dtype=np.int64)
    for k, f in enumerate(H.EXCLUSION_FIELDS):
        bits |= excl[f].to_numpy().astype(np.int64) << k
    combos, inv = np.unique(bits, return_inverse=True)
    words = ["、".join(EXCLUSION_ZH[f] for k, f in enumerate(H.EXCLUSION_FIELDS) if c >> k & 1) for c in combos.tolist()]
    excluded = bits > 0
    below = (h["income_per_capita"] < line).to_numpy(dtype=bool)
    met = three_guarantees(h, state.members, state.year).to_numpy()
    th = pd.DataFrame({
        "household_id": h["household_id"].astype("str"),
        "township": h["township"].astype("str"), "village": h["village"].astype("str"),
        "household_size": h["household_size"].astype(int),
        "income_per_capita": h["income_per_capita"].astype(float),
        "poverty_line": float(line),
        "below_line": below,
        "at_line": h["_at_line"].astype(bool),
        "excluded": excluded,
        "exclusion_reasons": text(words, inv),
        "expected_status": expected_status(below, excluded, met),
        "recorded_poor": h["recorded_attribute"].notna().astype(bool),
        "three_guarantees_met": met,
        "faults": const("", len(h)),
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
