"""2021+ monitoring samples (防止返贫监测) for ``fupin monitor`` and ``rules/monitoring-2021``.

A monitoring-year county is an ordinary generated county (members, conditions, income) with
the 2014–2020 registry columns replaced by the post-2021 ones:

* 户类型: 脱贫户 (exited 2014–2020: 脱贫年度, 脱贫状态 已脱贫, 原贫困户属性 …脱贫户), 一般农户, or
  监测户 (already monitored: 监测对象类别, 致贫返贫风险, 风险识别时间, 已监测月数, 帮扶措施数);
* the county is in 云南 (``MONITORING_REGION``, default county 元谋县): from 2022 there is no national
  monitoring line, and 云南 has verified values; income is set against the year's **monitoring line**
  (``MONITORING_LINES``: 2021 the national 6000, 2023 云南 8050 (2024 keeps it), 2025 云南 8700; 2022
  has no verified value and is refused), about 8 % of households below it, with 上年人均纯收入;
* 合规自付支出, 医疗自付支出, 教育支出, 灾害损失, 收入骤减 and 整户无劳动能力 as the pack reads them.

Planned cases (at least one of each from 40 households): new 脱贫不稳定户 / 边缘易致贫户 /
突发严重困难户 (big medical bill or income halved, whatever the income; one 脱贫户 too),
监测户 still monitored (below the line, too few months, no measure, or a whole household
without labour), 风险消除 with a risk still present (帮扶消除) and without one (自然消除: risk
left blank and nothing in the data), and a household whose risk was eliminated last year (it
is judged again as not monitored).  :func:`expected` then computes the outcome from the data
by the pack's semantics (docs/packs.md, monitoring-2021), independently of the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.roster import Roster
from fupin_cli.samples import households as H
from fupin_cli.samples import names
from fupin_cli.samples.generate import COMPULSORY_AGES, _flag, build_state, member_positions, to_roster
from fupin_cli.samples.rand import at_least_one, group_any, group_sum, stream, text
from fupin_cli.samples.truth import Truth, empty_faults

# rules/monitoring-2021 parameters.yaml: 2021 national, then 云南's own values (a later year keeps the last value)
MONITORING_REGION = "云南"
MONITORING_COUNTY = "元谋县"
MONITORING_LINES: dict[int, int] = {2021: 6000, 2023: 8050, 2024: 8050, 2025: 8700}
RIGID_EXPENSE_RATIO, INCOME_DROP_SHARE = 1.0, 0.5
MEDICAL_HIGH, EDUCATION_HIGH, DISASTER_MIN = 5000, 5000, 2000
MIN_MONTHS, MIN_MEASURES = 6, 1
CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
RISKS = ("因病", "因残", "因学", "因自然灾害", "因缺劳动力", "因意外事故", "因产业失败", "因务工就业不稳", "其他")
STATUSES = ("新纳入监测", "继续监测", "风险消除", "待核实", "非监测对象")
ELIMINATION = ("elim_months", "elim_measures", "elim_income", "elim_rigid_spending", "elim_housing",
               "elim_education", "elim_medical", "elim_water", "elim_has_labour")
NONCOMPULSORY = ("高中一年级", "高中二年级", "高中三年级", "中职一年级", "中职二年级", "中职三年级",
                 "高职一年级", "高职二年级", "高职三年级", "大专及以上")
DROPPED = [*H.EXCLUSION_FIELDS, "vehicle_value", "identification_standard", "recorded_primary_cause",
           "recorded_secondary_causes"]
MIN_HOUSEHOLDS = 40


def monitoring_line(year: int) -> int:
    if year not in MONITORING_LINES:
        raise UsageError(f"no monitoring line for year {year} in the sample generator",
                         f"use a year from {min(MONITORING_LINES)} to {max(MONITORING_LINES)}")
    return MONITORING_LINES[year]


def generate_monitor_roster(n_households: int, seed: int, year: int = 2023,
                            county: str | names.County = MONITORING_COUNTY) -> tuple[Roster, Truth]:
    """A 2021+ county roster for ``fupin monitor`` and the outcome the monitoring pack should reach."""
    line = monitoring_line(year)
    if n_households < MIN_HOUSEHOLDS:
        raise UsageError(f"monitoring samples need at least {MIN_HOUSEHOLDS} households (got {n_households})",
                         "use --households 40 or more")
    state = build_state(n_households, seed, year, county, poor_share=max(0.1, 6 / n_households), line=line)
    h, m = state.households, state.members
    n = len(h)
    rng = stream(seed, "monitoring")
    u = rng.random((n, 12))
    hpos = member_positions(h, m)
    pc = h["income_per_capita"].to_numpy(dtype=float)
    below = pc < line
    labour = m["labour"].astype("str")
    any_labour = group_any(hpos, labour.isin(["普通劳动力", "技能劳动力", "弱劳动力或半劳动力"]).to_numpy(), n)
    data_risk = _data_risks(h, m, hpos, n).any(axis=1)
    safe = _guarantees_ok(h, m, hpos, n, year)

    # --- plan ---------------------------------------------------------------------------
    plan = np.full(n, "none", dtype=object)
    # new monitoring objects first (one 边缘易致贫户 and one 脱贫不稳定户 at least), then the 监测户
    new_c = below & data_risk
    marginal = at_least_one(new_c & (u[:, 6] >= 0.8), new_c, -u[:, 6])  # 一般农户
    unstable = at_least_one(new_c & ~marginal & (u[:, 6] < 0.2), new_c & ~marginal, u[:, 6])  # 脱贫户
    fresh = ~marginal & ~unstable
    monitored = fresh & ((below & (u[:, 0] < 0.5)) | (~below & (u[:, 0] < 0.04)))
    elim_c = monitored & ~below
    natural = at_least_one(elim_c & ~data_risk & any_labour & safe & (u[:, 1] < 0.3),
                            ~below & ~data_risk & any_labour & safe, u[:, 1])
    monitored |= natural
    elim_c = monitored & ~below & ~natural
    assisted = at_least_one(elim_c & data_risk & any_labour & safe & (u[:, 2] < 0.7),
                             ~below & data_risk & any_labour & safe & ~monitored, u[:, 2])
    monitored |= assisted
    cont = monitored & ~natural & ~assisted
    cont = at_least_one(cont, below & ~monitored & fresh, u[:, 3])
    monitored |= cont
    free = ~monitored & fresh
    before = at_least_one(free & (u[:, 4] < 0.01), free & ~below, u[:, 4])
    free &= ~before
    sudden = at_least_one(free & ~below & (u[:, 5] < 0.02), free & ~below, u[:, 5])
    free &= ~sudden
    plan[marginal], plan[unstable] = "new_marginal", "new_unstable"
    plan[monitored] = "continuing"
    plan[assisted], plan[natural] = "eliminate_assisted", "eliminate_natural"
    plan[before], plan[sudden] = "eliminated_before", "sudden"

    # --- household type and the 2014–2020 record --------------------------------------------
    exited = np.where(monitored, u[:, 6] < 0.5, u[:, 6] < np.where(below, 0.6, 0.25))
    exited[marginal], exited[unstable] = False, True
    exited[sudden] = False  # 一般农户: 突发严重困难户; plus one 脱贫户 (脱贫不稳定户 through hardship)
    extra = np.flatnonzero(free & ~below & exited)
    if len(extra):
        j = extra[np.argmin(u[extra, 5])]
        sudden[j], plan[j] = True, "sudden"
    htype = np.where(monitored, "监测户", np.where(exited, "脱贫户", "一般农户"))
    exit_year = np.where(exited, 2014 + (u[:, 7] * 7).astype(np.int64), 0)
    first_year = np.where(exited, np.minimum(2014, exit_year), 0)
    dibao, tekun = _flag(h, "dibao_household", False), _flag(h, "tekun_household", False)
    attr = np.select([tekun, dibao], [1, 2], 0)

    # --- money the pack reads --------------------------------------------------------------
    net = h["net_income"].to_numpy(dtype=float).copy()
    ill = group_any(hpos, m["health"].isin(["患有大病", "长期慢性病"]).to_numpy(), n)
    students = group_sum(hpos, m["school_status"].isin(list(NONCOMPULSORY)).to_numpy(), n)
    medical = np.where(ill, np.rint(300 + u[:, 8] * 3500), 0.0)
    education = np.where(students > 0, np.rint(students * (1500 + u[:, 9] * 2000)), 0.0)
    compliant = np.rint(np.minimum(medical + education + u[:, 10] * 800, 0.3 * np.maximum(net, 0)))
    disaster = np.zeros(n)
    prev_pc = h["previous_income_per_capita"].to_numpy(dtype=float).copy()
    income_drop = np.zeros(n, dtype=bool)
    # 突发严重困难: half a big medical bill (合规自付 > 纯收入), half income halved (收入骤减)
    s_idx = np.flatnonzero(sudden)
    bill = s_idx[u[s_idx, 11] < 0.5] if len(s_idx) > 1 else s_idx
    drop = np.setdiff1d(s_idx, bill)
    medical[bill] = np.rint(net[bill] * (1.3 + u[bill, 8]) + 5000)
    compliant[bill] = medical[bill] + education[bill]
    income_drop[drop] = True
    prev_pc[drop] = np.round(pc[drop] * (2.2 + u[drop, 9]), 2)
    no_labour = ~any_labour

    # --- monitoring record of 监测户 -------------------------------------------------------------
    risk_rec = _recorded_risks(h, m, hpos, n, u)
    months = np.where(monitored, 6 + (u[:, 11] * (12 * (year - 2021) + 6)).astype(np.int64), 0)
    measures = np.where(monitored, 1 + (u[:, 10] * 3).astype(np.int64), 0)
    cont_idx = np.flatnonzero(cont & ~below)  # above the line but still monitored: too new or no measure yet
    months[cont_idx[u[cont_idx, 9] < 0.5]] = 2 + (u[cont_idx[u[cont_idx, 9] < 0.5], 8] * 3).astype(np.int64)
    measures[cont_idx[u[cont_idx, 9] >= 0.5]] = 0
    start = pd.Timestamp(f"{year}-12-31") - pd.to_timedelta(np.maximum(months, 0) * 30.44 + 15, unit="D")
    start = pd.DatetimeIndex(start.normalize())
    months = (year - start.year.to_numpy()) * 12 + (12 - start.month.to_numpy()) + (start.day.to_numpy() == 1)
    category = np.where(exited, 0, np.where(below | (u[:, 5] < 0.7), 1, 2))
    ok_rows = natural | assisted
    for col, val in (("unsafe_housing", False), ("water_difficulty", False), ("safe_water", True)):
        h.loc[ok_rows, col] = val
    h.loc[ok_rows, "unsafe_housing_level"] = np.nan
    ins = np.isin(hpos, np.flatnonzero(ok_rows))
    m.loc[ins, "medical_insurance"] = True
    m.loc[ins, "critical_illness_insurance"] = True
    risk_rec = np.where(natural, "", risk_rec)

    # --- write the columns -----------------------------------------------------------------
    h = h.drop(columns=[c for c in DROPPED if c in h.columns])
    m = m.drop(columns=[c for c in ("public_employee", "village_cadre") if c in m.columns])
    was = monitored | before
    h["household_type"] = htype
    h["recorded_attribute"] = text(["一般脱贫户", "特困供养脱贫户", "低保脱贫户"], attr, missing=~exited)
    h["exit_status"] = text(["已脱贫"], np.zeros(n, dtype=np.int64), missing=~exited)
    h["exit_year"] = pd.array(np.where(exited, exit_year, np.nan), dtype="Float64")
    h["first_identified_year"] = np.where(exited, first_year, np.nan)
    h["previous_income_per_capita"] = prev_pc
    h["compliant_expense"], h["medical_expense"] = compliant, medical
    h["education_expense"], h["disaster_loss"] = education, disaster
    h["income_drop"], h["no_labour_household"] = income_drop, no_labour
    h["monitoring_category"] = text(CATEGORIES, category, missing=~was)
    h["risk_types"] = text(sorted(set(risk_rec.tolist())), np.searchsorted(sorted(set(risk_rec.tolist())), risk_rec),
                           missing=~was | (risk_rec == ""))
    h["monitoring_start"] = pd.Series(start, index=h.index).where(was)
    h["monitored_months"] = pd.array(np.where(was, months, np.nan), dtype="Float64")
    h["measures_count"] = pd.array(np.where(was, np.maximum(measures, before.astype(int)), np.nan), dtype="Float64")
    h["risk_eliminated"] = pd.array(np.where(was, before, None), dtype="boolean")  # type: ignore[call-overload]  # numpy stubs refuse a None branch; at run time it gives an object array
    h["elimination_date"] = pd.Series(pd.Timestamp(f"{year - 1}-11-30"), index=h.index).where(before)
    h.loc[~was & ~exited, ["responsible_person", "responsible_unit", "responsible_phone"]] = np.nan
    h["_plan"] = plan
    state.households, state.members = h, m

    truth = expected(h, m, year, line)
    truth_h = truth.assign(_plan=plan)
    t = Truth(year, seed, state.county.county, float(line), False, truth_h.reset_index(drop=True), empty_faults())
    return to_roster(state, "member"), t


# --------------------------------------------------------------------------------------
# Truth: the monitoring-2021 semantics computed directly (no engine)
# --------------------------------------------------------------------------------------
def expected(h: pd.DataFrame, m: pd.DataFrame, year: int, line: float) -> pd.DataFrame:
    """Per household: is_exited, risks, 突发严重困难, the rule category, 监测情况, elimination."""
    n = len(h)
    hpos = member_positions(h, m)
    pc = pd.to_numeric(h["income_per_capita"]).to_numpy(dtype=float)
    net = pd.to_numeric(h["net_income"]).to_numpy(dtype=float)
    htype = h["household_type"].astype("str")
    exited = (htype.isin(["脱贫户", "已脱贫户"]).to_numpy() | h["exit_year"].notna().to_numpy()
              | h["exit_status"].astype("str").isin(["已脱贫", "脱贫", "脱贫户"]).to_numpy())
    compliant = pd.to_numeric(h["compliant_expense"]).fillna(0).to_numpy(dtype=float)
    prev = pd.to_numeric(h["previous_income_per_capita"]).to_numpy(dtype=float)
    size = pd.to_numeric(h["household_size"]).to_numpy(dtype=float)
    base = np.where(np.isnan(prev), net, prev * size)  # 刚性支出 against last year's income when recorded
    rigid = (compliant > 0) & (compliant > base * RIGID_EXPENSE_RATIO)
    dropped = _flag(h, "income_drop", False) | np.nan_to_num(pc < prev * (1 - INCOME_DROP_SHARE), nan=0).astype(bool)
    severe = rigid | dropped
    risks = _data_risks(h, m, hpos, n) | _recorded_matrix(h)
    gap = (~_flag(h, "food_clothing_secure", True) | _flag(h, "unsafe_housing", False)
           | group_any(hpos, _out_of_school(m, year), n)
           | _flag(h, "water_difficulty", False) | ~_flag(h, "safe_water", True))
    risks[:, RISKS.index("其他")] |= gap  # existing 住房/饮水/义务教育/吃穿 problems count as a risk (其他)
    has_risk = risks.any(axis=1) | severe
    rule = np.select([exited & (((pc < line) & has_risk) | severe), ~exited & (pc < line) & has_risk, ~exited & severe],
                     [1, 2, 3], 0)
    cat_rule = np.asarray(("", *CATEGORIES), dtype=object)[rule]

    recorded = h["monitoring_category"].notna().to_numpy() | htype.str.contains("监测").fillna(False).to_numpy()
    eliminated_before = _flag(h, "risk_eliminated", False) | h["elimination_date"].notna().to_numpy()
    monitored = recorded & ~eliminated_before
    labourer = group_any(hpos, m["labour"].isin(["普通劳动力", "技能劳动力", "弱劳动力或半劳动力"]).to_numpy(), n)
    no_labour = _flag(h, "no_labour_household", False) | ~labourer
    unmet = np.stack([
        ~(pd.to_numeric(h["monitored_months"]).fillna(-1).to_numpy() >= MIN_MONTHS),
        ~(pd.to_numeric(h["measures_count"]).fillna(-1).to_numpy() >= MIN_MEASURES),
        ~(pc > line), severe, _flag(h, "unsafe_housing", False),
        group_any(hpos, _out_of_school(m, year), n),
        group_any(hpos, ~_flag(m, "medical_insurance", True), n),
        _flag(h, "water_difficulty", False) | ~_flag(h, "safe_water", True),
        no_labour,
    ], axis=1)
    elim_ok = ~unmet.any(axis=1)
    status = np.select([monitored & elim_ok, monitored, rule > 0], ["风险消除", "继续监测", "新纳入监测"], "非监测对象")
    risk_text = np.array(["、".join(r for r, on in zip(RISKS, row) if on) for row in risks], dtype=object) if n else np.zeros(0, object)
    risk_text = np.where(status == "非监测对象", "", risk_text)  # as fupin monitor lists them
    unmet &= (status == "继续监测")[:, None]
    recorded_cat = h["monitoring_category"].astype(object).where(h["monitoring_category"].notna(), "").to_numpy()
    return pd.DataFrame({
        "household_id": h["household_id"].astype("str").to_numpy(),
        "township": h["township"].astype("str").to_numpy(), "village": h["village"].astype("str").to_numpy(),
        "household_size": h["household_size"].astype(int).to_numpy(),
        "household_type": htype.to_numpy(),
        "income_per_capita": pc, "poverty_line": float(line), "below_line": pc < line,
        "is_exited": exited, "severe_hardship": severe,
        "already_monitored": monitored, "eliminated_before": eliminated_before & recorded,
        "rule_category": cat_rule,
        "expected_category": np.where(monitored, recorded_cat, cat_rule),
        "expected_risk_types": risk_text,
        "monitoring_status": status,
        "elimination_unmet": np.array([",".join(c for c, bad in zip(ELIMINATION, row) if bad) for row in unmet], dtype=object)
        if n else np.zeros(0, object),
        "elimination_method": np.where(status == "风险消除", np.where(risk_text != "", "帮扶消除", "自然消除"), ""),
        "faults": "",
    })


def _data_risks(h: pd.DataFrame, m: pd.DataFrame, hpos: np.ndarray, n: int) -> np.ndarray:
    """(n, 9) risks the data shows, columns as RISKS (recorded 致贫返贫风险 not included)."""
    health, school = m["health"], m["school_status"]
    full = m["labour"].isin(["普通劳动力", "技能劳动力"]).to_numpy()
    worker = group_any(hpos, pd.to_numeric(m["work_months"]).fillna(0).to_numpy() > 0, n)
    money = {c: (pd.to_numeric(h[c]).fillna(0).to_numpy(dtype=float) if c in h.columns else np.zeros(n))
             for c in ("medical_expense", "education_expense", "disaster_loss", "business_income", "business_expense")}
    drop = _flag(h, "income_drop", False)
    members = np.bincount(hpos[hpos >= 0], minlength=n) > 0
    return np.stack([
        group_any(hpos, health.isin(["患有大病", "长期慢性病"]).to_numpy(), n) | (money["medical_expense"] >= MEDICAL_HIGH),
        group_any(hpos, (health == "残疾").to_numpy(dtype=bool), n),
        group_any(hpos, school.isin(list(NONCOMPULSORY)).to_numpy(), n) | (money["education_expense"] >= EDUCATION_HIGH),
        money["disaster_loss"] >= DISASTER_MIN,
        _flag(h, "no_labour_household", False) | (members & ~group_any(hpos, full, n)),
        np.zeros(n, dtype=bool),
        (money["business_income"] - money["business_expense"]) < 0,
        drop & worker,
        np.zeros(n, dtype=bool),
    ], axis=1)


def _recorded_matrix(h: pd.DataFrame) -> np.ndarray:
    if "risk_types" not in h.columns:
        return np.zeros((len(h), len(RISKS)), dtype=bool)
    rec = h["risk_types"].astype("str")
    return np.stack([rec.str.contains(r, regex=False).fillna(False).to_numpy(dtype=bool) for r in RISKS], axis=1)


def _recorded_risks(h, m, hpos, n, u) -> np.ndarray:
    """致贫返贫风险 as a clerk records them for a 监测户: what the data shows, else 因务工就业不稳 or 其他."""
    data = _data_risks(h, m, hpos, n)
    first = np.where(data.any(axis=1), data.argmax(axis=1), np.where(u[:, 9] < 0.6, 7, 8))
    return np.asarray(RISKS, dtype=object)[first]


def _out_of_school(m: pd.DataFrame, year: int) -> np.ndarray:
    age = year - pd.DatetimeIndex(m["birth_date"]).year.to_numpy()
    return _flag(m, "dropout", False) | ((age >= COMPULSORY_AGES[0]) & (age <= COMPULSORY_AGES[1])
                                         & m["school_status"].eq("非在校生").fillna(False).to_numpy(dtype=bool))


def _guarantees_ok(h, m, hpos, n, year) -> np.ndarray:
    return ~group_any(hpos, _out_of_school(m, year), n)
