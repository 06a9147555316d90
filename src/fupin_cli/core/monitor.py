"""防止返贫监测 (2021+): monitoring objects, risk types, and 风险消除 for those already monitored.

The pack decides everything (``engine.decide.monitoring``): the 监测对象 category of each
household (``monitoring`` rules by priority: 脱贫不稳定户 / 边缘易致贫户 / 突发严重困难户 in
monitoring-2021), its risk types (``risk`` rules: 因病, 因残 …) and whether every ``elimination``
rule holds (monitored ≥ 6 months, ≥ 1 measure, income above the line, rigid spending solved,
三保障 and safe water, not 整户无劳动力).  This module sorts households into:

==============  ==========================================================================
新纳入监测      not monitored yet (no 监测对象类别 recorded, or its risk was eliminated before),
                a monitoring rule fires this year
继续监测        already monitored, not every elimination condition holds (未消除原因 lists them)
风险消除        already monitored, every elimination condition holds: 帮扶消除 when a risk rule
                still fires (the risk is covered by assistance), 自然消除 when none does
待核实          a monitoring rule cannot be decided (missing inputs)
非监测对象      the rest
==============  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_cli.core.history import text
from fupin_cli.core.summary import UNKNOWN_AREA, household_people
from fupin_cli.engine.decide import ELIMINATED, PENDING

if TYPE_CHECKING:
    from fupin_cli.engine.evaluate import Evaluation
    from fupin_cli.engine.loader import Pack

NEW, CONTINUING, ELIMINATED_NOW, UNDECIDED, NOT_MONITORED = "新纳入监测", "继续监测", "风险消除", "待核实", "非监测对象"
MONITORING_STATUSES = (NEW, CONTINUING, ELIMINATED_NOW, UNDECIDED, NOT_MONITORED)
BY_ASSISTANCE, NATURALLY = "帮扶消除", "自然消除"

LABELS = {
    "monitoring_status": "监测情况", "monitoring_result": "本年监测判定", "monitoring_category": "监测对象类别",
    "monitoring_basis": "纳入监测依据", "risk_types": "致贫返贫风险", "elimination_result": "风险消除结果",
    "elimination_method": "风险消除方式", "elimination_unmet": "未消除原因", "head_id_masked": "户主证件号码",
    "people": "人口数", "households": "户数", "category": "监测对象类别", "risk_type": "风险类型",
    "condition": "风险消除条件", "rule": "规则", "unknown": "无法判断户数（数据缺失）",
}


@dataclass
class MonitorResult:
    year: int
    households: pd.DataFrame  # SOURCE households + the monitoring columns and ``people``
    categories: list[str]  # the pack's categories, in priority order
    elimination: pd.DataFrame  # per elimination condition: continuing households failing it / undecided
    notes: list[str] = field(default_factory=list)
    line: dict[str, Any] | None = None  # the monitoring line used: value, year, region, source, citation, verified

    def status_counts(self) -> pd.DataFrame:
        g = self.households.groupby("monitoring_status", observed=True)["people"].agg(["size", "sum"])
        g = g.reindex(list(MONITORING_STATUSES), fill_value=0).reset_index()
        g.columns = ["monitoring_status", "households", "people"]
        return g.astype({"households": "int64", "people": "int64"})

    def objects(self) -> pd.DataFrame:
        """监测对象 of the year: newly identified and still monitored households."""
        return self.households[self.households["monitoring_status"].isin((NEW, CONTINUING)).to_numpy()]

    def listing(self, status: str) -> pd.DataFrame:
        return self.households[(self.households["monitoring_status"] == status).to_numpy()]

    def by_village(self) -> pd.DataFrame:
        """监测对象 households by township, village and category, with 风险消除 and a total row."""
        hh = self.households
        frame = pd.DataFrame({"township": text(hh, "township").fillna(UNKNOWN_AREA).to_numpy(),
                              "village": text(hh, "village").fillna(UNKNOWN_AREA).to_numpy(),
                              "category": hh["monitoring_category"].astype(object).to_numpy(),
                              "status": hh["monitoring_status"].to_numpy()})
        objects = frame[np.isin(frame["status"], (NEW, CONTINUING))]
        table = pd.crosstab([objects["township"], objects["village"]], objects["category"])
        table = table.reindex(columns=self.categories, fill_value=0)
        table["监测对象合计"] = table.sum(axis=1)
        elim = frame[frame["status"] == ELIMINATED_NOW].groupby(["township", "village"]).size()
        areas = frame[["township", "village"]].drop_duplicates().sort_values(["township", "village"])
        out = areas.set_index(["township", "village"]).join(table).join(elim.rename("风险消除")).fillna(0).reset_index()
        counts = [*self.categories, "监测对象合计", "风险消除"]
        total = pd.DataFrame([{"township": "合计", "village": "", **out[counts].sum().to_dict()}])
        out = pd.concat([out, total], ignore_index=True)
        return out.astype({c: "int64" for c in counts})

    def risk_counts(self) -> pd.DataFrame:
        """监测对象 by risk type (a household with two risks counts under both)."""
        objects = self.objects()
        risks = objects["risk_types"].astype(object).where(objects["risk_types"].notna(), "")
        long = pd.DataFrame({"risk_type": risks.str.split("、"), "people": objects["people"]}).explode("risk_type")
        long = long[long["risk_type"].astype(str) != ""]
        g = long.groupby("risk_type").agg(households=("people", "size"), people=("people", "sum")).reset_index()
        return g.sort_values(["households", "risk_type"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        counts = self.status_counts()
        objects = self.objects()
        eliminated = self.listing(ELIMINATED_NOW)
        return {
            "year": self.year,
            "households": len(self.households),
            "monitoring_status": {r.monitoring_status: {"households": int(r.households), "people": int(r.people)}
                                  for r in counts.itertuples()},
            "categories": {c: int((objects["monitoring_category"] == c).sum()) for c in self.categories},
            "new_by_category": {c: int(((objects["monitoring_status"] == NEW) & (objects["monitoring_category"] == c)).sum())
                                for c in self.categories},
            "risk_types": {r.risk_type: int(r.households) for r in self.risk_counts().itertuples()},
            "elimination_methods": {m: int((eliminated["elimination_method"] == m).sum()) for m in (BY_ASSISTANCE, NATURALLY)},
            "not_eliminated_conditions": {r.condition: int(r.households) for r in self.elimination.itertuples()},
            "monitoring_line": self.line,
            "notes": list(self.notes),
        }


def already_monitored(households: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(monitored and not yet eliminated, eliminated before) from the recorded columns.

    Monitored: a 监测对象类别 is recorded, or 户类型 says 监测户 / 监测对象.  Eliminated before:
    风险是否消除 is yes, or a 风险消除时间 is recorded.
    """
    category = text(households, "monitoring_category").notna().to_numpy()
    htype = text(households, "household_type").fillna("").astype(str).str.contains("监测").to_numpy()
    eliminated = (households["risk_eliminated"].astype("boolean").fillna(False).to_numpy(dtype=bool)
                  if "risk_eliminated" in households.columns else np.zeros(len(households), bool))
    if "elimination_date" in households.columns:
        eliminated |= households["elimination_date"].notna().to_numpy()
    monitored = (category | htype) & ~eliminated
    return monitored, eliminated & (category | htype)


def elimination_table(ev: Evaluation, households: pd.DataFrame) -> pd.DataFrame:
    continuing = (households["monitoring_status"] == CONTINUING).to_numpy()
    rows = []
    for rule in ev.rules_of("elimination"):
        res = ev.results[rule.id].reindex(households.index)
        rows.append({"condition": rule.label, "rule": rule.id,
                     "households": int((continuing & res.eq(False).fillna(False).to_numpy(dtype=bool)).sum()),
                     "unknown": int((continuing & res.isna().to_numpy()).sum())})
    return pd.DataFrame(rows, columns=["condition", "rule", "households", "unknown"])


def run_monitor(households: pd.DataFrame, members: pd.DataFrame | None, pack: Pack, year: int,
                region: str | None = None, *, policy: Any = None, unmatched: Any = ()) -> tuple[MonitorResult, Any]:
    """Evaluate the monitoring pack on SOURCE and sort households (see the module doc).

    ``policy`` / ``unmatched``: absent rule inputs (engine/inputs.py; the reader's unmatched columns)."""
    from fupin_cli.engine import evaluate
    from fupin_cli.engine.decide import monitoring
    from fupin_cli.roster import Roster

    notes = []
    households, filled = with_monitored_months(households, year)
    if filled:
        notes.append(f"{filled} 户的已监测月数按风险识别时间计算至 {year}-12-31")
    data = Roster(households, members if members is not None else pd.DataFrame(columns=["household_id"]), unmatched=list(unmatched))
    ev = evaluate(data, pack, year=year, region=region, policy=policy)
    decided = monitoring(ev).reindex(households.index)
    monitored, eliminated_before = already_monitored(households)
    category = decided["monitoring_result"].astype(object).fillna("").to_numpy()
    elim_ok = (decided["elimination_result"].astype(object) == ELIMINATED).to_numpy()
    flagged = (category != "") & (category != PENDING)
    status = np.select([monitored & elim_ok, monitored, flagged, category == PENDING],
                       [ELIMINATED_NOW, CONTINUING, NEW, UNDECIDED], default=NOT_MONITORED).astype(object)
    recorded = text(households, "monitoring_category").to_numpy(dtype=object)
    categories = list(dict.fromkeys(r.category for r in sorted(ev.rules_of("monitoring"), key=lambda r: r.priority)))
    recorded = np.array([canonical_category(v, categories) for v in recorded], dtype=object) if len(recorded) else recorded
    out = households.copy(deep=False)
    out["monitoring_status"] = status
    out["monitoring_result"] = np.where(flagged, category, None)
    chosen = np.where(monitored, recorded, None)  # type: ignore[arg-type]  # numpy stubs refuse a None branch; at run time it gives an object array
    out["monitoring_category"] = np.where(pd.isna(chosen) & flagged, category, chosen)
    out["monitoring_basis"] = text(decided, "monitoring_basis").where(flagged, None)
    risks = text(decided, "risk_types")
    out["risk_types"] = risks.where(np.isin(status, (NEW, CONTINUING, ELIMINATED_NOW)), None)
    out["elimination_result"] = np.where(monitored, decided["elimination_result"].astype(object), None)
    out["elimination_method"] = np.where(status == ELIMINATED_NOW, np.where(risks.notna().to_numpy(), BY_ASSISTANCE, NATURALLY), None)  # type: ignore[call-overload]  # numpy stubs refuse a None branch; at run time it gives an object array
    out["elimination_unmet"] = text(decided, "elimination_unmet").where(status == CONTINUING, None)
    out["people"] = household_people(out).astype("int64")
    if eliminated_before.any():
        notes.append(f"{int(eliminated_before.sum())} 户此前已标注风险消除，按未监测户重新判定")
    unknown = [v for v in set(text(households, "monitoring_category").dropna()) if canonical_category(v, categories) is None]
    if unknown:
        notes.append(f"监测对象类别 '{min(unknown)}' 不是规则包中的类别（{'、'.join(categories)}），按原文保留")
    result = MonitorResult(year=year, households=out, categories=categories, elimination=pd.DataFrame(), notes=notes,
                           line=line_used(ev))
    result.elimination = elimination_table(ev, out)
    return result, ev


def line_used(ev: Any, name: str = "monitoring_line") -> dict[str, Any] | None:
    """The monitoring line of the run, with the region whose value was used and its source."""
    p = ev.params.get(name)
    if p is None:
        return None
    return {"parameter": name, "label": p.label, "value": p.value, "year": p.year, "region": p.region,
            "requested_region": ev.region, "source": p.source, "citation": p.citation, "verified": p.verified}


def with_monitored_months(households: pd.DataFrame, year: int) -> tuple[pd.DataFrame, int]:
    """已监测月数 where it is blank: whole months from 风险识别时间 to 31 Dec of ``year``."""
    if "monitoring_start" not in households.columns:
        return households, 0
    start = pd.to_datetime(households["monitoring_start"], errors="coerce")
    given = (pd.to_numeric(households["monitored_months"], errors="coerce")
             if "monitored_months" in households.columns else pd.Series(np.nan, index=households.index))
    fill = given.isna().to_numpy() & start.notna().to_numpy()
    if not fill.any():
        return households, 0
    months = (year - start.dt.year) * 12 + (12 - start.dt.month) + (start.dt.day == 1).astype(int)
    out = households.copy(deep=False)
    out["monitored_months"] = pd.array(np.where(fill, months.clip(lower=0), given), dtype="Int64")
    return out, int(fill.sum())


def canonical_category(value: Any, categories: list[str]) -> str | None:
    """A recorded 监测对象类别 → the pack's category it names (脱贫不稳定 → 脱贫不稳定户), else as written."""
    if value is None:
        return None
    v = str(value).strip()
    for c in categories:
        if v == c or v.rstrip("户") == c.rstrip("户") or (len(v) >= 2 and c.startswith(v)):
            return c
    return v


def monitor_list(frame: pd.DataFrame, members: pd.DataFrame | None) -> pd.DataFrame:
    """Key columns of monitored households, the head's ID masked."""
    from fupin_cli.core.history import masked_head_ids

    out = frame.assign(head_id_masked=masked_head_ids(frame, members))
    cols = [c for c in ("township", "village", "household_id", "head_name", "head_id_masked", "people", "income_per_capita",
                        "household_type", "monitoring_status", "monitoring_category", "risk_types", "monitoring_basis",
                        "elimination_result", "elimination_method", "elimination_unmet") if c in out.columns]
    order = [c for c in ("township", "village", "household_id") if c in out.columns]
    return out[cols].sort_values(order, kind="stable", na_position="last").reset_index(drop=True)

