"""What the generator planted and what the national rules should conclude.

``Truth.households`` has one row per household of the roster (and, in a chain, one row per
household that vanished this year, with transition 自然减少):

=====================  ==================================================================
household_id           户编号 as written
income_per_capita      the true 人均纯收入 (before any planted fault)
poverty_line           the year's national line (domain.md §1.1)
below_line             income_per_capita < poverty_line
at_line                the planted edge case: income exactly equal to the line (not poor)
excluded               any 一票否决 flag set; ``exclusion_reasons`` names them (中文, 、)
expected_status        贫困户 when below_line and not excluded, else 非贫困户
recorded_poor          the roster records the household as poor (原贫困户属性 filled)
three_guarantees_met   两不愁三保障 + 饮水安全 met (see docs/samples.md)
transition             chains: 新识别/继续帮扶/脱贫/返贫/清退/自然减少/非贫困户
registry_status        chains: 贫困户/已脱贫/返贫/清退/自然减少/非贫困户 after this year
previous_household_id  chains: the 户编号 last year (differs when it was renumbered)
split_from             chains: the 户编号 of the household this one split from
faults                 planted fault ids in this household, joined by ","
=====================  ==================================================================

``Truth.faults`` has one row per planted fault: ``fault`` (id), ``description`` (中文),
``household_id``, ``member_id`` (人编号, "" for household faults), ``field`` (canonical
name), ``value`` (as written; ID numbers masked), and where it lands once written in
``layout``: ``sheet``, ``row`` (Excel row, <NA> for a whole-column fault), ``column``
(Excel letter) and ``header`` (header text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

FAULT_COLUMNS = ["fault", "description", "household_id", "member_id", "field", "value",
                 "sheet", "row", "column", "header"]


def empty_faults() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in FAULT_COLUMNS})
    df["row"] = pd.array([], dtype="Int64")
    return df


@dataclass
class Truth:
    year: int
    seed: int
    county: str
    poverty_line: float
    messy: bool
    households: pd.DataFrame
    faults: pd.DataFrame = field(default_factory=empty_faults)
    layout: str = "member"  # the layout that faults' sheet/row/column refer to

    def counts(self) -> dict[str, int]:
        """Summary numbers tests and reports assert on."""
        h = self.households
        if "monitoring_status" in h.columns:  # 2021+ monitoring sample
            out = {"households": len(h), "below_line": int(h["below_line"].sum()),
                   "faults": len(self.faults)}
            for col, key in (("monitoring_status", "status"), ("expected_category", "category"),
                             ("elimination_method", "method")):
                for name, k in h[col].value_counts().sort_index().items():
                    if name:
                        out[f"{key}:{name}"] = int(k)
            return out
        out = {
            "households": len(h),
            "below_line": int(h["below_line"].sum()),
            "excluded": int(h["excluded"].sum()),
            "expected_poor": int((h["expected_status"] == "贫困户").sum()),
            "recorded_poor": int(h["recorded_poor"].sum()),
            "faults": len(self.faults),
        }
        if "transition" in h.columns:
            for name, n in h["transition"].value_counts().sort_index().items():
                out[f"transition:{name}"] = int(n)
        return out

    def to_dict(self) -> dict:
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records", force_ascii=False))

        return {
            "year": self.year, "seed": self.seed, "county": self.county,
            "poverty_line": self.poverty_line, "messy": self.messy, "layout": self.layout,
            "counts": self.counts(), "faults": records(self.faults), "households": records(self.households),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
