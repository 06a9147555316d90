"""Exit (脱贫/退出): households, villages (贫困发生率) and the county (摘帽).

* Household: each registered poor household (建档立卡状态 贫困户 or 返贫) is 脱贫 when every
  ``household_exit`` rule of the pack holds for the year; otherwise 未脱贫 with 未达标原因
  listing every unmet condition with its value (``engine.decide.household_exit``).
* Village: population (from the roster, or a registered-population table), remaining poor
  people (registered poor people who did not exit), 贫困发生率 = remaining ÷ population; the
  ``village_exit`` rules decide (national: below 2%, 3% in the west: ``param.village_exit_incidence``).
* 贫困村识别 (``poor_village`` rules, e.g. 一高一低一无) on the same village rows, with the village
  indicators the roster gives (村农民人均纯收入, 住房安全 / 参保 / 安全饮水 rates over the households
  or members that record them) and those only a village table gives (村集体经济收入, the
  province's incidence and per-capita income); a missing input leaves the village 待核实.
* County: the same incidence for the whole county, plus 错退率 / 漏评率 / 群众认可度 from a
  sample check (抽查) when one is given; the ``county_exit`` rules decide.

No threshold lives here: every one comes from the pack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from fupin_cli.core.history import REGISTERED_POOR, registry_status, text
from fupin_cli.core.identify import _records
from fupin_cli.core.summary import UNKNOWN_AREA, household_people
from fupin_cli.engine.decide import VILLAGE_DONE
from fupin_cli.errors import InputError, UsageError
from fupin_cli.schema import EXIT_DONE, EXIT_NOT_DONE, REGISTRY_EXITED, REGISTRY_GONE

if TYPE_CHECKING:
    from fupin_cli.engine.evaluate import Evaluation
    from fupin_cli.engine.loader import Pack
    from fupin_cli.roster import Roster

PERCENT_FIELDS = ("incidence", "wrong_exit_rate", "missed_rate", "recognition_rate", "comprehensive_incidence", "exit_incidence",
                  "registered_incidence", "safe_housing_rate", "medical_insurance_rate", "safe_water_rate",
                  "province_incidence")  # fractions here; the engine frames use %
# village values a village table (--population) may give; the roster cannot
VILLAGE_TABLE_FIELDS = ("collective_income", "income_pc", "province_incidence", "province_income_pc")
CI_Z = 1.959964  # 95 % two-sided normal quantile for the Wilson interval
SAMPLE_OK, SAMPLE_WRONG_EXIT, SAMPLE_MISSED = "正确", "错退", "漏评"
SAMPLE_RESULTS = {  # accepted spellings of a sample-check result → canonical
    SAMPLE_OK: ("正确", "正常", "无问题", "合格", "准确", "ok", "correct"),
    SAMPLE_WRONG_EXIT: ("错退", "错误退出", "wrong_exit"),
    SAMPLE_MISSED: ("漏评", "应纳未纳", "漏识别", "missed"),
}

VILLAGE_LABELS = {
    "township": "乡镇", "village": "行政村", "households": "户数", "population": "人口数",
    "population_source": "人口数来源", "registered_households": "建档立卡贫困户数（年初）",
    "registered_people": "建档立卡贫困人口（年初）", "exited_households": "本年脱贫户数", "exited_people": "本年脱贫人口",
    "poor_households": "剩余贫困户数", "poor_population": "剩余贫困人口", "incidence": "贫困发生率",
    "exit_result": "退出结果", "exit_unmet": "未达标原因",
    "registered_incidence": "建档立卡贫困发生率（年初）", "income_pc": "村农民人均纯收入",
    "safe_housing_rate": "住房安全保障率", "medical_insurance_rate": "基本医疗保险参保率", "safe_water_rate": "安全饮水率",
    "collective_income": "村集体经济收入", "province_incidence": "全省贫困发生率", "province_income_pc": "全省农民人均纯收入",
    "poor_village": "贫困村识别", "poor_village_unmet": "贫困村识别未满足条件",
}
COUNTY_LABELS = {
    **VILLAGE_LABELS, "county": "县", "wrong_exit_rate": "错退率", "missed_rate": "漏评率",
    "recognition_rate": "群众认可度", "sampled_exited": "抽查脱贫户数", "wrong_exits": "错退户数",
    "sampled_not_poor": "抽查非贫困户数", "missed": "漏评户数", "sampled_opinions": "认可度调查户数",
    "sampled_exited_people": "抽查脱贫人口", "wrong_exit_people": "错退人口", "sampled_not_poor_people": "抽查非贫困人口",
    "missed_people": "漏评人口", "wrong_exit_rate_ci": "错退户比例95%置信区间（按户）", "missed_rate_ci": "漏评户比例95%置信区间（按户）",
    "wrong_exit_people_ci": "错退率95%置信区间（按人，以户为抽样单位）", "missed_people_ci": "漏评率95%置信区间（按人，以户为抽样单位）",
    "recognition_rate_ci": "认可度95%置信区间", "estimated_missed_people": "推算漏评人口",
    "estimated_wrong_exit_people": "推算错退人口", "comprehensive_incidence": "综合贫困发生率",
    "exit_incidence": "考核贫困发生率",
}
HOUSEHOLD_COLUMNS = ["township", "village", "household_id", "head_name", "head_id_number", "household_size",
                     "income_per_capita", "registry_status", "exit_result", "exit_unmet"]


@dataclass
class ExitAssessment:
    """Result of :func:`assess_exit`; frames use canonical column names."""

    year: int
    households: pd.DataFrame  # every household evaluated, with registry_status, exit_result, exit_unmet, people
    villages: pd.DataFrame
    county: pd.DataFrame  # one row
    not_found: pd.DataFrame  # registered poor households of the register missing from the roster
    unmet: pd.DataFrame  # per exit condition: remaining households failing it / undecided
    notes: list[str] = field(default_factory=list)

    @property
    def registered(self) -> pd.DataFrame:
        return self.households[self.households["registry_status"].isin(REGISTERED_POOR).to_numpy()]

    def exited(self) -> pd.DataFrame:
        return self.households[(self.households["exit_result"] == EXIT_DONE).to_numpy()]

    def remaining(self) -> pd.DataFrame:
        return self.households[(self.households["exit_result"] == EXIT_NOT_DONE).to_numpy()]

    def summary(self) -> dict[str, Any]:
        county = _records(self.county)[0]
        return {
            "year": self.year,
            "registered_households": len(self.registered),
            "exited_households": len(self.exited()),
            "exited_people": int(self.exited()["people"].sum()),
            "remaining_households": len(self.remaining()),
            "remaining_people": int(self.remaining()["people"].sum()),
            "not_found": len(self.not_found),
            "villages": _records(self.villages),
            "villages_exiting": int((self.villages["exit_result"] == VILLAGE_DONE).sum()),
            "poor_villages": ({k: int(v) for k, v in self.villages["poor_village"].value_counts().items()}
                              if "poor_village" in self.villages.columns else None),
            "county": county,
            "unmet_conditions": {r.condition: r.households for r in self.unmet.itertuples()},
            "notes": list(self.notes),
        }


def unmet_table(ev: Evaluation, assessed: pd.DataFrame) -> pd.DataFrame:
    """Per household exit rule: remaining households failing it, and those it cannot decide (missing data)."""
    remaining = (assessed["exit_result"] == EXIT_NOT_DONE).to_numpy()
    rows = []
    for rule in ev.rules_of("household_exit"):
        res = ev.results[rule.id].reindex(assessed.index)
        false = res.eq(False).fillna(False).to_numpy(dtype=bool)
        rows.append({"condition": rule.label, "rule": rule.id, "households": int((remaining & false).sum()),
                     "unknown": int((remaining & res.isna().to_numpy()).sum())})
    return pd.DataFrame(rows, columns=["condition", "rule", "households", "unknown"])


# ---- households --------------------------------------------------------------------------
def household_exits(households: pd.DataFrame, exit_decisions: pd.DataFrame,
                    registry: pd.Series | None = None) -> pd.DataFrame:
    """Households with ``registry_status``, ``people`` and, for registered poor ones, the exit decision."""
    out = households.copy(deep=False)
    reg = registry if registry is not None else registry_status(households)
    out["registry_status"] = reg.to_numpy(dtype=object)
    poor = out["registry_status"].isin(REGISTERED_POOR).to_numpy()
    result = text(exit_decisions, "exit_result").reindex(out.index)
    # an undecidable household (missing input) is not out of poverty: 未脱贫, the reason says what is missing
    out["exit_result"] = np.where(poor, np.where(result.to_numpy(dtype=object) == EXIT_DONE, EXIT_DONE, EXIT_NOT_DONE), None)  # type: ignore[call-overload]  # numpy stubs refuse a None branch; at run time it gives an object array
    unmet = text(exit_decisions, "exit_unmet").reindex(out.index)
    out["exit_unmet"] = unmet.where(poor & (out["exit_result"] == EXIT_NOT_DONE).to_numpy(), None)
    out["people"] = household_people(out).astype("int64")
    return out


# ---- villages and county -----------------------------------------------------------------
def _area(df: pd.DataFrame, col: str) -> pd.Series:
    return text(df, col).fillna(UNKNOWN_AREA)


def village_frame(assessed: pd.DataFrame, population: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Per (township, village): households, population, registered / exited / remaining poor, 贫困发生率.

    ``population``: optional table of registered rural population (``village``, ``population``,
    optionally ``township``); villages it lists override the roster's count.  Households marked
    自然减少 are not counted.  Returns the frame and notes (villages of the table not in the roster).
    """
    live = assessed[(assessed["registry_status"] != REGISTRY_GONE).to_numpy()]
    registered = live["registry_status"].isin(REGISTERED_POOR).to_numpy()
    exited = (live["exit_result"] == EXIT_DONE).to_numpy()
    people = live["people"].to_numpy()
    base = pd.DataFrame({
        "township": _area(live, "township").to_numpy(), "village": _area(live, "village").to_numpy(),
        "households": 1, "population": people,
        "registered_households": registered.astype("int64"), "registered_people": np.where(registered, people, 0),
        "exited_households": exited.astype("int64"), "exited_people": np.where(exited, people, 0),
        "poor_households": (registered & ~exited).astype("int64"), "poor_population": np.where(registered & ~exited, people, 0),
    })
    sums = [c for c in base.columns if c not in ("township", "village")]
    villages = base.groupby(["township", "village"], sort=True, as_index=False)[sums].sum()
    villages.insert(4, "population_source", "花名册")
    notes: list[str] = []
    if population is not None:
        villages, notes = _apply_population(villages, population)
    pop = villages["population"].astype("float64")
    villages["incidence"] = (villages["poor_population"] / pop.where(pop > 0)).round(6)
    return villages, notes


def _apply_population(villages: pd.DataFrame, population: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    table = population.copy()
    by_town = "township" in table.columns and table["township"].notna().any()
    keys = ["township", "village"] if by_town else ["village"]
    table = table.assign(**{k: text(table, k).fillna(UNKNOWN_AREA) for k in keys})
    table = table.drop_duplicates(keys, keep="last").set_index(keys)
    idx = pd.MultiIndex.from_frame(villages[keys]) if by_town else pd.Index(villages["village"])
    out = villages.copy()
    if "population" in table.columns:
        given = pd.Series(table["population"].reindex(idx).to_numpy(), index=villages.index)
        has = given.notna().to_numpy()
        out.loc[has, "population"] = given[has].astype("int64").to_numpy()
        out.loc[has, "population_source"] = "人口数文件"
    for name in VILLAGE_TABLE_FIELDS:  # the table's value wins over the roster's (村农民人均纯收入)
        if name in table.columns:
            given = pd.Series(pd.to_numeric(table[name], errors="coerce").reindex(idx).to_numpy(dtype="float64"), index=villages.index)
            current = out[name] if name in out.columns else pd.Series(np.nan, index=out.index)
            out[name] = given.where(given.notna(), pd.to_numeric(current, errors="coerce"))
    unknown = sorted(set(map(str, table.index)) - set(map(str, idx)))
    notes = [f"人口数文件中的 {len(unknown)} 个村不在花名册中，未计入: {'、'.join(unknown[:5])}" + (" 等" if len(unknown) > 5 else "")] if unknown else []
    return out, notes


def _share(ok: pd.Series, known: pd.Series, keys: pd.DataFrame) -> pd.Series:
    """Per (township, village): ok ÷ known (a fraction), missing where nothing is known."""
    g = pd.DataFrame({"township": keys["township"].to_numpy(), "village": keys["village"].to_numpy(),
                      "ok": (ok & known).to_numpy(dtype="int64"), "known": known.to_numpy(dtype="int64")})
    s = g.groupby(["township", "village"], sort=False)[["ok", "known"]].sum()
    return (s["ok"] / s["known"].where(s["known"] > 0)).round(6)


def village_indicators(households: pd.DataFrame, members: pd.DataFrame | None) -> pd.DataFrame:
    """Village values a household roster gives, indexed by (township, village):

    * ``income_pc`` 村农民人均纯收入: the households' 人均纯收入 (the pack's ``income_pc``) weighted by
      their people, over the households whose income is known;
    * ``safe_housing_rate``: households not 危房 ÷ households whose 是否危房 is recorded;
    * ``safe_water_rate``: households neither 饮水困难 nor 饮水不安全 ÷ households recording either;
    * ``medical_insurance_rate``: households none of whose members is recorded 未参保 ÷ households
      with at least one member's 基本医疗保险 recorded (广西 counts households, "户均达到98%").

    A value nobody recorded stays missing (a rule on it is 待核实), never 0% or 100%.
    """
    keys = pd.DataFrame({"township": _area(households, "township"), "village": _area(households, "village")},
                        index=households.index)
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(keys.drop_duplicates()))

    def flag(frame: pd.DataFrame, col: str) -> pd.Series:
        return (frame[col].astype("boolean") if col in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="boolean"))

    income = pd.to_numeric(households["income_pc"], errors="coerce") if "income_pc" in households.columns else pd.Series(np.nan, index=households.index)
    people = household_people(households).astype("float64")
    known = income.notna() & (people > 0)
    g = pd.DataFrame({"township": keys["township"], "village": keys["village"],
                      "w": np.where(known, people, 0.0), "wy": np.where(known, income.fillna(0) * people, 0.0)})
    s = g.groupby(["township", "village"], sort=False)[["w", "wy"]].sum()
    out["income_pc"] = (s["wy"] / s["w"].where(s["w"] > 0)).round(2)
    unsafe = flag(households, "unsafe_housing")
    out["safe_housing_rate"] = _share(~unsafe.fillna(True), unsafe.notna(), keys)
    difficulty, safe = flag(households, "water_difficulty"), flag(households, "safe_water")
    water_known = difficulty.notna() | safe.notna()
    out["safe_water_rate"] = _share(~difficulty.fillna(False) & safe.fillna(True), water_known, keys)
    if members is not None and len(members) and "medical_insurance" in members.columns and "household_id" in members.columns:
        hh_keys = keys.assign(household_id=text(households, "household_id")).dropna(subset=["household_id"])
        hh_keys = hh_keys.drop_duplicates("household_id").set_index("household_id")
        insured = pd.DataFrame({"household_id": text(members, "household_id").to_numpy(),
                                "known": flag(members, "medical_insurance").notna().to_numpy(dtype=bool),
                                "no": (flag(members, "medical_insurance") == False).fillna(False).to_numpy(dtype=bool)})  # noqa: E712
        per = insured.dropna(subset=["household_id"]).groupby("household_id")[["known", "no"]].any()
        hid = text(households, "household_id")
        known = hid.map(per["known"]).astype("boolean").fillna(False).astype(bool)
        uninsured = hid.map(per["no"]).astype("boolean").fillna(False).astype(bool)
        out["medical_insurance_rate"] = _share(~uninsured, known, keys)
    else:
        out["medical_insurance_rate"] = np.nan
    return out


def with_village_indicators(villages: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The village frame with the roster's indicators and 建档立卡贫困发生率 (registered people ÷ population)."""
    idx = pd.MultiIndex.from_frame(villages[["township", "village"]])
    out = villages.copy()
    for name in indicators.columns:
        out[name] = indicators[name].reindex(idx).to_numpy(dtype="float64")
    pop = out["population"].astype("float64")
    out["registered_incidence"] = (out["registered_people"] / pop.where(pop > 0)).round(6)
    return out


def county_frame(villages: pd.DataFrame, sample: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row: county totals and incidence, plus the sample-check rates (missing without a sample)."""
    cols = ["households", "population", "registered_households", "registered_people", "exited_households",
            "exited_people", "poor_households", "poor_population"]
    row: dict[str, Any] = {c: int(villages[c].sum()) for c in cols}
    row["incidence"] = round(row["poor_population"] / row["population"], 6) if row["population"] else None
    for key in ("wrong_exit_rate", "missed_rate", "recognition_rate", "sampled_exited", "wrong_exits",
                "sampled_not_poor", "missed", "sampled_opinions", "sampled_exited_people", "wrong_exit_people",
                "sampled_not_poor_people", "missed_people", "wrong_exit_rate_ci", "missed_rate_ci", "recognition_rate_ci",
                "wrong_exit_people_ci", "missed_people_ci",
                "estimated_missed_people", "estimated_wrong_exit_people"):
        row[key] = (sample or {}).get(key)
        if key.endswith("_ci") and row[key] is not None:  # a cell of the report: "0.52%–3.41%"
            row[key] = "–".join(f"{v * 100:.2f}%" for v in row[key])
    row["comprehensive_incidence"] = comprehensive_incidence(row)
    row["exit_incidence"] = row["comprehensive_incidence"] if row["comprehensive_incidence"] is not None else row["incidence"]
    return pd.DataFrame([row])


def comprehensive_incidence(row: dict[str, Any]) -> float | None:
    """综合贫困发生率 = (剩余贫困人口 + 推算漏评人口 + 推算错退人口) ÷ 乡村人口; None without a sample check."""
    missed, wrong = row.get("estimated_missed_people"), row.get("estimated_wrong_exit_people")
    if missed is None or wrong is None or not row.get("population"):
        return None
    return cast(float, round((row["poor_population"] + missed + wrong) / row["population"], 6))


def wilson(successes: float, n: float, z: float = CI_Z) -> list[float] | None:
    """Wilson score interval (no continuity correction) of a binomial proportion, 95 % by default;
    None when n = 0.  ``n`` may be an effective sample size (not a whole number)."""
    if not n:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, float(centre - half)), 6), round(min(1.0, float(centre + half)), 6)]


def ratio_wilson(cases: np.ndarray, sizes: np.ndarray, z: float = CI_Z) -> list[float] | None:
    """95 % interval of a people rate r = Σcases ÷ Σsizes estimated from sampled households (clusters).

    The households, not the people, are the sampling units, so the people are not independent
    draws.  The variance of the ratio is linearised, v = Σ(cases − r·sizes)² ÷ (Σsizes)²; the
    effective sample size n_eff = r(1 − r) ÷ v (the design effect applied, Korn–Graubard style,
    capped at the people sampled) goes into the Wilson interval.  With every household of one
    size this is exactly the Wilson interval over households.  When r is 0 or 1 (no variation to
    estimate) the number of households is used.  None without a sampled person."""
    cases, sizes = np.asarray(cases, dtype=float), np.asarray(sizes, dtype=float)
    total = sizes.sum()
    if not len(sizes) or total <= 0:
        return None
    r = cases.sum() / total
    v = float(((cases - r * sizes) ** 2).sum() / total ** 2)
    n_eff = min(r * (1 - r) / v, total) if 0 < r < 1 and v > 0 else float(len(sizes))
    return wilson(r * n_eff, n_eff, z)


def grossed_up(rates: dict[str, Any], assessed: pd.DataFrame) -> dict[str, Any]:
    """Estimated 漏评 and 错退 people of the county from the sample rates (over people):
    漏评率 × people not in the registry, 错退率 × people out of poverty (exited this year or before)."""
    live = assessed[(assessed["registry_status"] != REGISTRY_GONE).to_numpy()]
    people = live["people"].to_numpy(dtype=float)
    out_of_poverty = ((live["exit_result"] == EXIT_DONE) | (live["registry_status"] == REGISTRY_EXITED)).to_numpy()
    registered = live["registry_status"].isin((*REGISTERED_POOR, REGISTRY_EXITED)).to_numpy()
    out: dict[str, Any] = {}
    if rates.get("missed_rate") is not None:
        out["estimated_missed_people"] = round(float(rates["missed_rate"] * people[~registered].sum()), 2)
    if rates.get("wrong_exit_rate") is not None:
        out["estimated_wrong_exit_people"] = round(float(rates["wrong_exit_rate"] * people[out_of_poverty].sum()), 2)
    return out


def sample_rates(sample: pd.DataFrame, assessed: pd.DataFrame) -> tuple[dict[str, Any], list[str]]:
    """错退率, 漏评率 and 群众认可度 of a sample check (抽查).

    ``sample``: ``household_id``, ``result`` (正确 / 错退 / 漏评), optional ``recognised`` (bool).
    错退率 = 错退人口 ÷ people of the sampled households that are out of poverty (exited this year
    or before); 漏评率 = 漏评人口 ÷ people of the sampled households not in the registry — over
    **people**, as the 2017 实施办法 defines them (household counts are kept beside them);
    认可度 = share of households answering yes.  ``*_people_ci``: 95 % intervals of the people rates
    (:func:`ratio_wilson`, households as clusters); ``*_rate_ci``: 95 % Wilson intervals over the
    sampled households (the sampling unit).
    """
    notes: list[str] = []
    ids = text(sample, "household_id")
    status = assessed.set_index(text(assessed, "household_id").to_numpy())
    exited_ids = set(status.index[((status["exit_result"] == EXIT_DONE) | (status["registry_status"] == REGISTRY_EXITED)).to_numpy()])
    registered_ids = set(status.index[status["registry_status"].isin((*REGISTERED_POOR, REGISTRY_EXITED)).to_numpy()])
    known = ids.isin(set(status.index)).to_numpy()
    if (~known).any():
        notes.append(f"抽查表中 {int((~known).sum())} 户不在花名册/登记册中，未计入错退率、漏评率")
    result = text(sample, "result").to_numpy(dtype=object)
    is_exited = ids.isin(exited_ids).to_numpy() & known
    not_poor = ~ids.isin(registered_ids).to_numpy() & known
    wrong = (result == SAMPLE_WRONG_EXIT)
    missed = (result == SAMPLE_MISSED)
    odd = (wrong & ~is_exited & known) | (missed & ~not_poor & known)
    if odd.any():
        notes.append(f"抽查表中 {int(odd.sum())} 户的核查结论与其建档立卡状态不符（错退须为脱贫户，漏评须为非建档立卡户），未计入")
    rates: dict[str, Any] = {
        "sampled_exited": int(is_exited.sum()), "wrong_exits": int((wrong & is_exited).sum()),
        "sampled_not_poor": int(not_poor.sum()), "missed": int((missed & not_poor).sum()),
    }
    people = ids.map(status["people"].groupby(level=0).first()).fillna(0).to_numpy(dtype=float)
    rates.update({
        "sampled_exited_people": int(people[is_exited].sum()), "wrong_exit_people": int(people[wrong & is_exited].sum()),
        "sampled_not_poor_people": int(people[not_poor].sum()), "missed_people": int(people[missed & not_poor].sum()),
    })
    rates["wrong_exit_rate"] = round(rates["wrong_exit_people"] / rates["sampled_exited_people"], 6) if rates["sampled_exited_people"] else None
    rates["missed_rate"] = round(rates["missed_people"] / rates["sampled_not_poor_people"], 6) if rates["sampled_not_poor_people"] else None
    rates["wrong_exit_rate_ci"] = wilson(rates["wrong_exits"], rates["sampled_exited"])
    rates["missed_rate_ci"] = wilson(rates["missed"], rates["sampled_not_poor"])
    rates["wrong_exit_people_ci"] = ratio_wilson(np.where(wrong & is_exited, people, 0)[is_exited], people[is_exited])
    rates["missed_people_ci"] = ratio_wilson(np.where(missed & not_poor, people, 0)[not_poor], people[not_poor])
    if "recognised" in sample.columns:
        rec = sample["recognised"].astype("boolean").dropna()
        rates["sampled_opinions"] = len(rec)
        rates["recognition_rate"] = round(float(rec.mean()), 6) if len(rec) else None
        rates["recognition_rate_ci"] = wilson(int(rec.sum()), len(rec))
    return rates, notes


def canonical_sample_result(values: pd.Series, source: str = "sample check") -> pd.Series:
    """Sample-check results → 正确 / 错退 / 漏评; an unknown value is an InputError naming it."""
    lookup = {s.lower(): canon for canon, spellings in SAMPLE_RESULTS.items() for s in spellings}
    t = text(pd.DataFrame({"r": values}), "r")
    mapped = t.map(lambda v: lookup.get(str(v).lower()) if v is not None else None)
    bad = t.notna() & mapped.isna()
    if bad.any():
        raise InputError(f"{source}: 核查结论 '{t[bad].iloc[0]}' is not 正确, 错退 or 漏评",
                         "write 正确 (or 正常), 错退 or 漏评 in the 核查结论 column")
    return mapped


# ---- lists (IDs masked: they are printed and posted) -----------------------------------
LIST_LABELS = {
    "seq": "序号", "township": "乡镇", "village": "行政村", "household_id": "户编号", "head_name": "户主姓名",
    "head_id_masked": "证件号码", "people": "家庭人口数", "income_per_capita": "人均纯收入",
    "attribute": "贫困户属性", "exit_year": "脱贫年度", "exit_unmet": "未达标原因", "registry_status": "建档立卡状态",
}


def _listing(frame: pd.DataFrame, members: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    from fupin_cli.core.history import masked_head_ids

    masked = masked_head_ids(frame, members)
    attribute = text(frame, "attribute")
    if "recorded_attribute" in frame.columns:
        attribute = attribute.where(attribute.notna(), text(frame, "recorded_attribute"))
    income = frame["income_per_capita"] if "income_per_capita" in frame.columns else pd.Series(np.nan, index=frame.index)
    data = {
        "township": text(frame, "township"), "village": text(frame, "village"), "household_id": text(frame, "household_id"),
        "head_name": text(frame, "head_name"), "head_id_masked": masked, "people": frame["people"],
        "income_per_capita": pd.to_numeric(income, errors="coerce").astype("Float64"), "attribute": attribute,
        "exit_unmet": text(frame, "exit_unmet"), "registry_status": text(frame, "registry_status"),
    }
    out = pd.DataFrame(data, index=frame.index).sort_values(["township", "village", "household_id"], kind="stable",
                                                              na_position="last")
    out.insert(0, "seq", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)[[c for c in columns]]


def exit_list(assessment: ExitAssessment, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """脱贫名单: households that exit this year, by township and village, head ID masked."""
    out = _listing(assessment.exited(), members, ["seq", "township", "village", "household_id", "head_name",
                                                  "head_id_masked", "people", "income_per_capita", "attribute"])
    out["exit_year"] = pd.array([assessment.year] * len(out), dtype="Int64")
    return out


def remaining_list(assessment: ExitAssessment, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """未脱贫: registered poor households that do not exit, with every unmet condition."""
    return _listing(assessment.remaining(), members, ["seq", "township", "village", "household_id", "head_name",
                                                      "head_id_masked", "people", "income_per_capita", "registry_status",
                                                      "exit_unmet"])


# ---- the pipeline behind `fupin exit` -----------------------------------------------------
def _decide_frame(frame: pd.DataFrame, decide: Callable[..., Any], pack: Pack, year: int, region: str | None,
                  into: tuple[str, str] = ("exit_result", "exit_unmet")) -> pd.DataFrame:
    """Run the pack's village/county rules of one kind on a frame (rates given to the engine in %);
    the decision and its unmet conditions go to the columns ``into``."""
    engine = frame.assign(**{c: frame[c].astype("float64") * 100 for c in PERCENT_FIELDS if c in frame.columns})
    decided = decide(engine, pack, year, region)
    if decided is None:  # an optional kind the pack does not have for the year
        return frame
    return frame.assign(**{into[0]: decided["exit_result"].to_numpy(dtype=object),
                           into[1]: decided["exit_unmet"].replace("", None).to_numpy(dtype=object)})


def run_exit(households: pd.DataFrame, members: pd.DataFrame | None, pack: Pack, year: int, region: str | None = None, *,
             roster: Roster | None = None, population: pd.DataFrame | None = None, sample: pd.DataFrame | None = None,
             source_name: str = "SOURCE", policy: Any = None, unmatched: Any = ()) -> tuple[ExitAssessment, Any]:
    """Household, village and county exit for ``year``; returns the assessment and the Evaluation.

    ``households`` / ``members``: SOURCE (a register, or a roster that records the registry
    status).  With ``roster`` (this year's Roster), the rules run on the roster's data and the
    registry status comes from SOURCE, matched by 户编号, head ID or member ID; registered poor
    households of SOURCE that are not in the roster are listed in ``not_found``.
    """
    from fupin_cli.core.history import match_households
    from fupin_cli.engine import evaluate
    from fupin_cli.engine.decide import county_exit, household_exit, poor_village, village_exit
    from fupin_cli.roster import Roster

    source_registry = registry_status(households)
    if not source_registry.isin(REGISTERED_POOR).any():
        known = source_registry.notna().any()
        raise UsageError(
            f"{source_name} has no registered poor households"
            + ("" if known else " (no 建档立卡状态, 脱贫状态, 户类型 or 识别结果 column)"),
            "pass a register written by `fupin identify` / `fupin reassess` (with --roster for this year's data), "
            "or a roster whose 脱贫状态 column says 未脱贫 / 已脱贫",
        )
    notes: list[str] = []
    if roster is None:
        data = Roster(households, members if members is not None else pd.DataFrame(columns=["household_id"]), unmatched=list(unmatched))
        registry = source_registry
        not_found = pd.DataFrame(columns=["township", "village", "household_id", "head_name", "people", "registry_status"])
    else:
        data = roster
        match = match_households(households, roster.households, members, roster.members)
        registry = pd.Series(None, index=roster.households.index, dtype=object)
        registry.iloc[match.pairs["cur"].to_numpy()] = source_registry.iloc[match.pairs["prev"].to_numpy()].to_numpy()
        own = registry_status(roster.households)
        registry = registry.where(registry.notna(), own)
        lost = match.unmatched_previous[source_registry.iloc[match.unmatched_previous].isin(REGISTERED_POOR).to_numpy()]
        lost_rows = households.iloc[lost]
        not_found = pd.DataFrame({c: text(lost_rows, c).to_numpy(dtype=object) for c in ("township", "village", "household_id", "head_name")})
        not_found["people"] = household_people(lost_rows).to_numpy()
        not_found["registry_status"] = source_registry.iloc[lost].to_numpy()
        if len(not_found):
            notes.append(f"{len(not_found)} 户建档立卡贫困户在本年花名册中未找到（户编号、户主及成员证件号码均未匹配），未作退出评估")
    ev = evaluate(data, pack, year=year, region=region, policy=policy)
    assessed = household_exits(data.households, household_exit(ev), registry)
    villages, pop_notes = village_frame(assessed, population)
    notes += pop_notes
    live = (assessed["registry_status"] != REGISTRY_GONE).to_numpy()
    derived = ev.households.reindex(assessed.index)
    villages = with_village_indicators(villages, village_indicators(
        assessed[live].assign(income_pc=derived.get("income_pc", pd.Series(np.nan, index=assessed.index))[live].to_numpy()),
        data.members))
    if population is not None:  # the village table's own values (村集体经济收入, province figures) win
        villages, _ = _apply_population(villages, population.drop(columns=["population"], errors="ignore"))
    villages = _decide_frame(villages, village_exit, pack, year, region)
    villages = _decide_frame(villages, poor_village, pack, year, region, into=("poor_village", "poor_village_unmet"))
    rates: dict[str, Any] = {}
    if sample is not None:
        rates, sample_notes = sample_rates(sample, assessed)
        rates.update(grossed_up(rates, assessed))
        notes += sample_notes
    county = county_frame(villages, rates if sample is not None else None)
    county = _decide_frame(county.assign(villages=len(villages),
                                         exited_villages=int((villages["exit_result"] == VILLAGE_DONE).sum())),
                           county_exit, pack, year, region)
    if sample is None:
        notes.append("未提供抽查表（--sample-check）：错退率、漏评率、群众认可度未核查（待核实）")
    return ExitAssessment(year=year, households=assessed, villages=villages, county=county, not_found=not_found,
                          unmet=unmet_table(ev, assessed), notes=notes), ev
