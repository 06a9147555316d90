"""Exit (脱贫/退出): households, villages (贫困发生率) and the county (摘帽).

* Household: each registered poor household (建档立卡状态 贫困户 or 返贫) is 脱贫 when every
  ``household_exit`` rule of the pack holds for the year; otherwise 未脱贫 with 未达标原因
  listing every unmet condition with its value (``engine.decide.household_exit``).
* Village: population (from the roster, or a registered-population table), remaining poor
  people (registered poor people who did not exit), 贫困发生率 = remaining ÷ population; the
  ``village_exit`` rules decide (national: below 2%, 3% in the west: ``param.village_exit_incidence``).
* County: the same incidence for the whole county, plus 错退率 / 漏评率 / 群众认可度 from a
  sample check (抽查) when one is given; the ``county_exit`` rules decide.

No threshold lives here: every one comes from the pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.core.history import REGISTERED_POOR, registry_status, text
from fupin_cli.core.identify import _records
from fupin_cli.core.summary import UNKNOWN_AREA, household_people
from fupin_cli.engine.decide import COUNTY_DONE, VILLAGE_DONE
from fupin_cli.errors import InputError, UsageError
from fupin_cli.schema import EXIT_DONE, EXIT_NOT_DONE, REGISTRY_EXITED, REGISTRY_GONE

PERCENT_FIELDS = ("incidence", "wrong_exit_rate", "missed_rate", "recognition_rate", "comprehensive_incidence", "exit_incidence")  # the engine frames use %
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
}
COUNTY_LABELS = {
    **VILLAGE_LABELS, "county": "县", "wrong_exit_rate": "错退率", "missed_rate": "漏评率",
    "recognition_rate": "群众认可度", "sampled_exited": "抽查脱贫户数", "wrong_exits": "错退户数",
    "sampled_not_poor": "抽查非贫困户数", "missed": "漏评户数", "sampled_opinions": "认可度调查户数",
    "sampled_exited_people": "抽查脱贫人口", "wrong_exit_people": "错退人口", "sampled_not_poor_people": "抽查非贫困人口",
    "missed_people": "漏评人口", "wrong_exit_rate_ci": "错退率95%置信区间（按户）", "missed_rate_ci": "漏评率95%置信区间（按户）",
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
            "registered_households": int(len(self.registered)),
            "exited_households": int(len(self.exited())),
            "exited_people": int(self.exited()["people"].sum()),
            "remaining_households": int(len(self.remaining())),
            "remaining_people": int(self.remaining()["people"].sum()),
            "not_found": int(len(self.not_found)),
            "villages": _records(self.villages),
            "villages_exiting": int((self.villages["exit_result"] == VILLAGE_DONE).sum()),
            "county": county,
            "unmet_conditions": {r.condition: r.households for r in self.unmet.itertuples()},
            "notes": list(self.notes),
        }


def unmet_table(ev, assessed: pd.DataFrame) -> pd.DataFrame:
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
    out["exit_result"] = np.where(poor, np.where(result.to_numpy(dtype=object) == EXIT_DONE, EXIT_DONE, EXIT_NOT_DONE), None)
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
    pop = population.copy()
    by_town = "township" in pop.columns and pop["township"].notna().any()
    keys = ["township", "village"] if by_town else ["village"]
    pop = pop.assign(**{k: text(pop, k).fillna(UNKNOWN_AREA) for k in keys})
    pop = pop.drop_duplicates(keys, keep="last").set_index(keys)["population"]
    idx = pd.MultiIndex.from_frame(villages[keys]) if by_town else pd.Index(villages["village"])
    given = pd.Series(pop.reindex(idx).to_numpy(), index=villages.index)
    out = villages.copy()
    has = given.notna().to_numpy()
    out.loc[has, "population"] = given[has].astype("int64").to_numpy()
    out.loc[has, "population_source"] = "人口数文件"
    unknown = sorted(set(map(str, pop.index)) - set(map(str, idx)))
    notes = [f"人口数文件中的 {len(unknown)} 个村不在花名册中，未计入: {'、'.join(unknown[:5])}" + (" 等" if len(unknown) > 5 else "")] if unknown else []
    return out, notes


def county_frame(villages: pd.DataFrame, sample: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row: county totals and incidence, plus the sample-check rates (missing without a sample)."""
    cols = ["households", "population", "registered_households", "registered_people", "exited_households",
            "exited_people", "poor_households", "poor_population"]
    row: dict[str, Any] = {c: int(villages[c].sum()) for c in cols}
    row["incidence"] = round(row["poor_population"] / row["population"], 6) if row["population"] else None
    for key in ("wrong_exit_rate", "missed_rate", "recognition_rate", "sampled_exited", "wrong_exits",
                "sampled_not_poor", "missed", "sampled_opinions", "sampled_exited_people", "wrong_exit_people",
                "sampled_not_poor_people", "missed_people", "wrong_exit_rate_ci", "missed_rate_ci", "recognition_rate_ci",
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
    return round((row["poor_population"] + missed + wrong) / row["population"], 6)


def wilson(successes: int, n: int, z: float = CI_Z) -> list[float] | None:
    """Wilson score interval of a binomial proportion (95 % by default); None when n = 0."""
    if not n:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, float(centre - half)), 6), round(min(1.0, float(centre + half)), 6)]


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
    认可度 = share of households answering yes.  ``*_ci``: 95 % Wilson intervals over the
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
    if "recognised" in sample.columns:
        rec = sample["recognised"].astype("boolean").dropna()
        rates["sampled_opinions"] = int(len(rec))
        rates["recognition_rate"] = round(float(rec.mean()), 6) if len(rec) else None
        rates["recognition_rate_ci"] = wilson(int(rec.sum()), int(len(rec)))
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
def _decide_frame(frame: pd.DataFrame, decide, pack, year: int, region: str | None) -> pd.DataFrame:
    """Run the pack's village/county exit rules on a frame (rates given to the engine in %)."""
    engine = frame.assign(**{c: frame[c].astype("float64") * 100 for c in PERCENT_FIELDS if c in frame.columns})
    decided = decide(engine, pack, year, region)
    return frame.assign(exit_result=decided["exit_result"].to_numpy(dtype=object),
                        exit_unmet=decided["exit_unmet"].replace("", None).to_numpy(dtype=object))


def run_exit(households: pd.DataFrame, members: pd.DataFrame | None, pack, year: int, region: str | None = None, *,
             roster=None, population: pd.DataFrame | None = None, sample: pd.DataFrame | None = None,
             source_name: str = "SOURCE", policy: Any = None, unmatched: Any = ()) -> tuple[ExitAssessment, Any]:
    """Household, village and county exit for ``year``; returns the assessment and the Evaluation.

    ``households`` / ``members``: SOURCE (a register, or a roster that records the registry
    status).  With ``roster`` (this year's Roster), the rules run on the roster's data and the
    registry status comes from SOURCE, matched by 户编号, head ID or member ID; registered poor
    households of SOURCE that are not in the roster are listed in ``not_found``.
    """
    from fupin_cli.core.history import match_households
    from fupin_cli.engine import evaluate
    from fupin_cli.engine.decide import county_exit, household_exit, village_exit
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
    villages = _decide_frame(villages, village_exit, pack, year, region)
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
