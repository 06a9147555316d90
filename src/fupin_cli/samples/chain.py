"""Multi-year chains for the annual cycle (动态调整): one Roster + Truth per year.

Transition model (each year after the first; documented in docs/samples.md):

* households in the registry (贫困户 / 返贫 last year):
  ~2 % disappear (自然减少: death or move; at least one per year when there are any),
  ~3 % get an exclusion flag (a car, a member becomes a public employee, a town flat): under
  national-2014's defaults exclusions are review (待核实, 民主评议), so they stay 继续帮扶 — 清退
  needs a pack whose exclusions are vetoes,
  ~35 % exit (脱贫: income 105–160 % of this year's 脱贫标准 and 两不愁三保障 + 饮水安全 met),
  ~10 % of the rest pass the line but still live in an unsafe house (继续帮扶, exit unmet),
  the rest stay below the line (继续帮扶; incomes grow 5–25 % through assistance);
* households that exited earlier: ~8 % fall back below the line (返贫), others stay above;
* other households: ~1.5 % fall below the line (新识别) unless excluded, the rest stay above;
* one household (two from 200 households) gets a new 户编号 with the same head (renumbered);
* one household splits: the married adult child, their spouse and children form a new
  household (new 户编号), which falls below the line (新识别).

Everyone else's income grows by about 7 %.  Ages advance, statuses follow the new ages.
``Truth.households.transition`` is then computed from the data by the national rules
(:func:`expected_transitions`), not copied from the plan, so tests can check one against the other.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.roster import Roster
from fupin_cli.samples import households as H
from fupin_cli.samples import names, people
from fupin_cli.samples.generate import State, _person_names, build_state, poverty_line, to_roster, truth_for
from fupin_cli.samples.rand import at_least_one, stream
from fupin_cli.samples.truth import Truth

IN_REGISTRY = ("贫困户", "返贫")
TRANSITIONS = ("新识别", "继续帮扶", "脱贫", "返贫", "清退", "自然减少", "非贫困户")
MONEY_PARTS = ["wage_income", "business_income", "business_expense", "dividend_income", "dibao_benefit",
               "tekun_benefit", "pension_benefit", "family_planning_subsidy", "eco_compensation"]


def generate_chain(n_households: int, seed: int, years: list[int] | tuple[int, ...] = (2015, 2016, 2017),
                   county: str | names.County = names.DEFAULT_COUNTY, *, poor_share: float = 0.11) -> list[tuple[Roster, Truth]]:
    """One (Roster, Truth) per year; the first year is an ordinary :func:`generate_roster`."""
    years = [int(y) for y in years]
    if not years or any(b <= a for a, b in itertools.pairwise(years)):
        raise UsageError(f"years must be increasing: {years}", "e.g. --years 2015,2016,2017")
    for y in years:
        poverty_line(y)
    state = build_state(n_households, seed, years[0], county, poor_share=poor_share)
    truth = truth_for(state)
    th = truth.households
    poor = th["expected_status"].eq("贫困户")
    th["transition"] = np.where(poor, "新识别", "非贫困户")
    th["registry_status"] = np.where(poor, "贫困户", "非贫困户")
    th["previous_household_id"] = ""
    th["split_from"] = ""
    state.households["_exit_year"] = np.nan
    out = [(to_roster(state, "member"), truth)]
    for year in years[1:]:
        state, truth = advance(state, truth, year)
        out.append((to_roster(state, "member"), truth))
    return out


def advance(prev: State, prev_truth: Truth, year: int) -> tuple[State, Truth]:
    """Next year's state and truth from this year's."""
    rng = stream(prev.seed, f"chain-{year}")
    line = poverty_line(year)
    h = prev.households.copy().reset_index(drop=True)
    m = prev.members.copy().reset_index(drop=True)
    reg = h["household_id"].map(prev_truth.households.set_index("household_id")["registry_status"]).fillna("非贫困户")
    n = len(h)
    u = rng.random((n, 8))
    in_reg = reg.isin(IN_REGISTRY).to_numpy()
    exited = (reg == "已脱贫").to_numpy()
    excluded = h[H.EXCLUSION_FIELDS].astype(bool).any(axis=1).to_numpy()
    never = ~in_reg & ~exited

    plan = np.full(n, "grow", dtype=object)
    vanish = at_least_one(in_reg & (u[:, 0] < 0.02), in_reg, u[:, 0])
    qt_c = in_reg & ~vanish & ~excluded
    qingtui = at_least_one(qt_c & (u[:, 1] < 0.03), qt_c, u[:, 1])
    ex_c = in_reg & ~vanish & ~qingtui
    exit_ = at_least_one(ex_c & (u[:, 2] < 0.35), ex_c, u[:, 2])
    stay = in_reg & ~vanish & ~qingtui & ~exit_
    unmet = stay & (u[:, 3] < 0.1)
    ret_c = exited & ~excluded
    ret = at_least_one(ret_c & (u[:, 4] < 0.08), ret_c, u[:, 4])
    new_c = never & ~excluded
    new = at_least_one(new_c & (u[:, 5] < 0.015), new_c, u[:, 5])
    for mask, name in ((stay, "stay"), (unmet, "unmet"), (exit_, "exit"), (qingtui, "qingtui"), (ret, "return"),
                       (new, "new"), (vanish, "vanish")):
        plan[mask] = name

    # renumbering and splitting happen to households that stay poor
    ren_c = np.flatnonzero(plan == "stay")
    n_ren = min(len(ren_c), 2 if n >= 200 else 1)
    renumber = ren_c[np.argsort(u[ren_c, 6], kind="stable")[:n_ren]]
    roles = m.groupby("household_id")["_role"].agg(lambda r: bool((r == people.ADULT_CHILD).any() and (r == people.INLAW).any()))
    can_split = h["household_id"].map(roles).fillna(False).to_numpy(dtype=bool)
    split_c = np.flatnonzero(can_split & np.isin(plan, ("stay", "grow")))
    split_c = np.setdiff1d(split_c, renumber)
    pref = split_c[np.isin(plan[split_c], ("stay",))]
    split_c = pref if len(pref) else split_c
    split = split_c[np.argsort(u[split_c, 7], kind="stable")[:1]]

    # ages and age-dependent statuses
    age = year - pd.DatetimeIndex(m["birth_date"]).year.to_numpy()
    st = people.statuses(age, m["health"].to_numpy(dtype=object), m[[f"_u{j}" for j in range(8)]].to_numpy())
    for k, v in st.items():
        m[k] = v
    m["pension_insurance"] = m["pension_insurance"].astype(bool) | ((age == 16) & (m["school_status"] == "非在校生").to_numpy())

    # income: grow everyone, then hit the planned targets
    prev_pc = h["income_per_capita"].to_numpy(dtype=float)
    g = rng.lognormal(np.log(1.07), 0.05, n)
    ut = rng.random(n)
    target = np.maximum(prev_pc * g, line * 1.02)
    target = np.where(plan == "stay", np.minimum(prev_pc * (1.05 + 0.2 * ut), line * (0.85 + 0.12 * ut)), target)
    target = np.where(plan == "unmet", line * (1.02 + 0.28 * ut), target)
    target = np.where(plan == "exit", H.EXIT_STANDARDS[year] * (1.05 + 0.55 * ut), target)  # exit is against the 脱贫标准
    target = np.where(plan == "qingtui", prev_pc * g, target)
    target = np.where(np.isin(plan, ("return", "new")), line * (0.5 + 0.45 * ut), target)
    _match_wages(h, m)
    h = _set_income(h, target)
    h["previous_income_per_capita"] = prev_pc
    h["year"] = year
    h["_at_line"] = False

    # conditions behind the plan
    ex = plan == "exit"
    h.loc[ex, "unsafe_housing"] = False
    h.loc[ex, "unsafe_housing_level"] = None
    h.loc[ex, "safe_water"] = True
    h.loc[ex, "water_difficulty"] = False
    h.loc[ex, "food_clothing_secure"] = True
    exit_members = m["household_id"].isin(h.loc[ex, "household_id"]).to_numpy()
    m.loc[exit_members, "medical_insurance"] = True
    m.loc[exit_members, "critical_illness_insurance"] = True
    m.loc[exit_members, "dropout"] = False
    h.loc[plan == "unmet", "unsafe_housing"] = True
    h.loc[plan == "unmet", "unsafe_housing_level"] = "C级"
    _plant_exclusions(h, m, np.flatnonzero(plan == "qingtui"), age, rng)

    # records as of last year's registry
    h["recorded_attribute"] = np.where(in_reg | exited, h["recorded_attribute"].fillna(_attribute(h)), None)
    h["exit_status"] = reg.map({"贫困户": "未脱贫", "返贫": "返贫", "已脱贫": "已脱贫"}).where(in_reg | exited, None).to_numpy()
    h["exit_year"] = h["_exit_year"]
    primary, secondary = H.causes(stream(prev.seed, f"chain-causes-{year}"), n, *_cause_inputs(h, m))
    lacking = (in_reg | exited) & h["recorded_primary_cause"].isna().to_numpy()
    h.loc[lacking, "recorded_primary_cause"] = primary[lacking]
    h.loc[lacking, "recorded_secondary_causes"] = secondary[lacking]
    h.loc[~(in_reg | exited), ["recorded_primary_cause", "recorded_secondary_causes"]] = None
    h["first_identified_year"] = np.where(in_reg | exited, h["first_identified_year"].fillna(year - 1), np.nan)
    needs_helper = in_reg & h["responsible_person"].isna().to_numpy()
    h.loc[needs_helper, "responsible_person"] = _person_names(rng, int(needs_helper.sum()))
    h.loc[needs_helper, "responsible_unit"] = "县扶贫办"

    h["_plan"] = plan
    h["_prev_id"] = h["household_id"]
    h["_split_from"] = ""
    for i in renumber:
        _renumber(h, m, int(i))
    for i in split:
        h, m = _split(h, m, int(i), line, rng)

    gone = h["_plan"].eq("vanish").to_numpy()
    gone_ids = h.loc[gone, "household_id"]
    vanished = h.loc[gone].copy()
    h = h.loc[~gone].reset_index(drop=True)
    m = m.loc[~m["household_id"].isin(gone_ids)].reset_index(drop=True)
    state = State(h, m, year, prev.seed, prev.county)
    truth = truth_for(state)
    expected_transitions(truth, prev_truth, h, vanished)
    # exit year bookkeeping for next year
    t = truth.households.set_index("household_id")
    newly_out = h["household_id"].map(t["transition"]).eq("脱贫").to_numpy()
    h.loc[newly_out, "_exit_year"] = year
    h.loc[h["household_id"].map(t["transition"]).isin(["返贫"]).to_numpy(), "return_year"] = year
    return state, truth


def expected_transitions(truth: Truth, prev_truth: Truth, h: pd.DataFrame, vanished: pd.DataFrame) -> None:
    """Fill transition / registry_status from the data by the national rules (in place)."""
    th = truth.households
    prev_status = prev_truth.households.set_index("household_id")["registry_status"]
    prev_id = h["_prev_id"].astype(str).to_numpy()
    split_from = h["_split_from"].astype(str).to_numpy()
    before = pd.Series(prev_id).map(prev_status).fillna("非贫困户").to_numpy()
    before = np.where(split_from != "", "非贫困户", before)
    # national-2014 defaults: exclusions are review (待核实), not vetoes, so nothing is 清退 and an
    # excluded household is never poor this year; exit is against the exit standard (脱贫标准)
    poor_now = th["expected_status"].eq("贫困户").to_numpy()
    above = th["income_per_capita"].to_numpy() > H.EXIT_STANDARDS[truth.year]
    met = th["three_guarantees_met"].to_numpy()
    in_reg = np.isin(before, IN_REGISTRY)
    was_out = before == "已脱贫"
    transition = np.select(
        [in_reg & above & met, in_reg, was_out & poor_now, was_out, poor_now],
        ["脱贫", "继续帮扶", "返贫", "非贫困户", "新识别"], "非贫困户")
    registry = np.select(
        [transition == "新识别", transition == "继续帮扶", transition == "脱贫", transition == "返贫",
         transition == "清退", was_out],
        ["贫困户", "贫困户", "已脱贫", "返贫", "清退", "已脱贫"], "非贫困户")
    th["transition"] = transition
    th["registry_status"] = registry
    th["previous_household_id"] = np.where(prev_id != h["household_id"].astype(str).to_numpy(), prev_id, "")
    th["split_from"] = split_from
    th["_plan"] = h["_plan"].to_numpy()
    if len(vanished):
        gone = pd.DataFrame({
            "household_id": vanished["household_id"].astype(str), "township": vanished["township"].astype(str),
            "village": vanished["village"].astype(str), "household_size": 0, "income_per_capita": np.nan,
            "poverty_line": truth.poverty_line, "below_line": False, "at_line": False, "excluded": False,
            "exclusion_reasons": "", "expected_status": "非贫困户", "recorded_poor": True,
            "three_guarantees_met": False, "faults": "", "transition": "自然减少", "registry_status": "自然减少",
            "previous_household_id": "", "split_from": "", "_plan": "vanish"})
        th = pd.concat([th, gone], ignore_index=True)
    truth.households = th


def _set_income(h: pd.DataFrame, target_pc: np.ndarray) -> pd.DataFrame:
    size = h["household_size"].to_numpy(dtype=float)
    raw = {k: h[k].to_numpy(dtype=float) for k in MONEY_PARTS}
    raw["other_property"] = h["property_income"].to_numpy(dtype=float) - raw["dividend_income"]
    parts = ["dibao_benefit", "tekun_benefit", "pension_benefit", "family_planning_subsidy", "eco_compensation"]
    raw["other_transfer"] = h["transfer_income"].to_numpy(dtype=float) - sum(raw[k] for k in parts)
    raw["business_income"] = np.maximum(raw["business_income"], 300.0)  # keep something to scale
    inc = H.calibrate(raw, size, target_pc)
    for k in ("annual_income", "wage_income", "business_income", "property_income", "dividend_income",
              "transfer_income", "family_planning_subsidy", "dibao_benefit", "tekun_benefit", "pension_benefit",
              "eco_compensation", "business_expense", "net_income", "income_per_capita"):
        h[k] = inc[k]
    return h


def _match_wages(h: pd.DataFrame, m: pd.DataFrame) -> None:
    """Keep 工资性收入 consistent with who works away after statuses moved with age."""
    months = m.groupby("household_id")["work_months"].sum()
    mon = h["household_id"].map(months).fillna(0).to_numpy(dtype=float)
    wage = h["wage_income"].to_numpy(dtype=float)
    lost = (mon == 0) & (wage > 0)
    h.loc[lost, "business_income"] = h.loc[lost, "business_income"].to_numpy(dtype=float) + wage[lost]
    h.loc[lost, "wage_income"] = 0.0
    gained = (mon > 0) & (wage <= 0)
    h.loc[gained, "wage_income"] = 2000.0 * mon[gained]


def _attribute(h: pd.DataFrame) -> pd.Series:
    d, t = h["dibao_household"].astype(bool), h["tekun_household"].astype(bool)
    return pd.Series(np.select([d & t, t, d], ["低保特困供养贫困户", "特困供养贫困户", "低保贫困户"], "一般贫困户"), index=h.index)


def _cause_inputs(h: pd.DataFrame, m: pd.DataFrame):
    hpos = pd.Index(h["household_id"]).get_indexer(m["household_id"])
    keep = hpos >= 0
    mm = {k: m[k].to_numpy(dtype=object)[keep] for k in ("health", "labour", "school_status")}
    cond = {"arable_land": h["arable_land"].to_numpy(dtype=float), "water_difficulty": h["water_difficulty"].to_numpy(dtype=bool),
            "road_distance_km": h["road_distance_km"].to_numpy(dtype=float)}
    return hpos[keep], mm, cond, h["household_size"].to_numpy(dtype=float)


def _plant_exclusions(h: pd.DataFrame, m: pd.DataFrame, rows: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> None:
    for i in rows:
        hid = h.at[i, "household_id"]
        adults = np.flatnonzero((m["household_id"] == hid).to_numpy() & (age >= 22) & (age <= 60))
        pick = rng.random()
        if pick < 0.4 and len(adults):
            m.loc[adults[0], "public_employee"] = True
            h.at[i, "has_public_employee"] = True
        elif pick < 0.8:
            h.at[i, "has_vehicle"] = True
            h.at[i, "vehicle_value"] = float(np.rint(40000 + rng.random() * 60000))
        else:
            h.at[i, "has_town_property"] = True


def _new_id(h: pd.DataFrame, old: str) -> str:
    village = old[:12]
    same = h["household_id"].astype(str)
    seqs = same[same.str.startswith(village)].str[12:].astype(int)
    return f"{village}{int(seqs.max()) + 1:0{len(old) - 12}d}"


def _renumber(h: pd.DataFrame, m: pd.DataFrame, i: int) -> None:
    old = str(h.at[i, "household_id"])
    new = _new_id(h, old)
    h.at[i, "household_id"] = new
    sel = m["household_id"] == old
    m.loc[sel, "household_id"] = new
    m.loc[sel, "member_id"] = new + m.loc[sel, "member_id"].astype(str).str[len(old):]


GRAND_TO_CHILD = {"之孙子": "之子", "之孙女": "之女", "之外孙子": "之子", "之外孙女": "之女"}


def _split(h: pd.DataFrame, m: pd.DataFrame, i: int, line: float, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The adult child, their spouse and children leave household ``i`` as a new household."""
    old = str(h.at[i, "household_id"])
    sel = (m["household_id"] == old).to_numpy()
    roles = m["_role"].to_numpy()
    leave = sel & np.isin(roles, (people.ADULT_CHILD, people.INLAW, people.GRAND))
    new = _new_id(h, old)
    mm = m.loc[leave].copy()
    mm["relation"] = mm["relation"].map(GRAND_TO_CHILD).fillna(mm["relation"])
    mm.loc[mm["_role"] == people.ADULT_CHILD, "relation"] = "户主"
    mm.loc[mm["_role"] == people.INLAW, "relation"] = "配偶"
    mm["_role"] = mm["_role"].map({people.ADULT_CHILD: people.HEAD, people.INLAW: people.SPOUSE}).fillna(people.CHILD).astype(int)
    mm = mm.sort_values("_role", kind="stable")
    mm["seq"] = np.arange(1, len(mm) + 1)
    mm["household_id"] = new
    mm["member_id"] = [f"{new}{s:03d}" for s in mm["seq"]]
    rest = m.loc[sel & ~leave]
    m.loc[sel & ~leave, "seq"] = np.arange(1, len(rest) + 1)
    m.loc[sel & ~leave, "member_id"] = [f"{old}{s:03d}" for s in range(1, len(rest) + 1)]
    m = pd.concat([m.loc[~leave], mm], ignore_index=True)

    row = h.loc[[i]].copy()
    k_new, k_old = len(mm), int(h.at[i, "household_size"]) - len(mm)
    head = mm.iloc[0]
    row["household_id"], row["head_name"], row["head_id_number"] = new, head["name"], head["id_number"]
    row["household_size"] = k_new
    for c in ("recorded_attribute", "recorded_primary_cause", "recorded_secondary_causes", "exit_status",
              "first_identified_year", "responsible_person", "responsible_unit", "responsible_phone", "exit_year"):
        row[c] = None
    row["_plan"], row["_prev_id"], row["_split_from"], row["_exit_year"] = "new", new, old, np.nan
    for c in MONEY_PARTS + ["property_income", "transfer_income"]:
        total = float(h.at[i, c])
        row[c] = np.rint(total * k_new / (k_new + k_old))
        h.at[i, c] = total - float(row[c].iloc[0])
    h.at[i, "household_size"] = k_old
    ut = rng.random(2)
    stays_poor = h.at[i, "_plan"] == "stay"
    old_target = line * (0.6 + 0.3 * ut[0]) if stays_poor else max(float(h.at[i, "income_per_capita"]), line * 1.05)
    both = pd.concat([h.loc[[i]], row]).reset_index(drop=True)
    _match_wages(both, m)
    both = _set_income(both, np.array([old_target, line * (0.5 + 0.4 * ut[1])]))
    for c in both.columns:
        h.at[i, c] = both.at[0, c]
    return pd.concat([h, both.iloc[[1]]], ignore_index=True), m
