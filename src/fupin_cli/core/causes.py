"""致贫原因 report frames from a register (canonical column names).

The report covers households whose 识别结果 is 贫困户 (all households when the register has
no status column).  People = 家庭人口数, else the member count (see :mod:`.summary`).

Frames (English column names; :data:`LABELS` has the Chinese ones):

* ``by_cause``: cause, households, people, household_share, people_share — the 12 national
  causes in their standard order (zeros kept, so charts compare across villages), then any
  local cause found in the register, then 未填 for blank primary causes.
* ``cooccurrence``: primary cause × secondary cause (次要致贫原因), households.
* ``by_area``: township (and village with ``by="village"``) × primary cause, households,
  with a total column.
* ``by_attribute``: 贫困户属性 × primary cause, households.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from fupin_cli.core.summary import UNKNOWN_AREA, household_people, records
from fupin_cli.schema import CAUSES, STATUS_POOR, canonical_value

BLANK_CAUSE = "未填"
SECONDARY_SEPARATORS = r"[、,，;；/\s]+"
AREAS = {"township": "乡镇", "village": "行政村"}
AREA_ALIASES = {"township": "township", "乡镇": "township", "乡(镇)": "township", "town": "township",
                "village": "village", "行政村": "village", "村": "village"}

LABELS = {
    "cause": "致贫原因", "households": "户数", "people": "人数", "household_share": "户数占比", "people_share": "人数占比",
    "primary_cause": "主要致贫原因", "attribute": "贫困户属性", "township": "乡镇", "village": "行政村", "total": "合计",
}


@dataclass
class CausesReport:
    by_cause: pd.DataFrame
    cooccurrence: pd.DataFrame
    by_area: pd.DataFrame
    by_attribute: pd.DataFrame
    area: str  # "township" | "village"
    households: int
    people: int

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "households": self.households,
            "people": self.people,
            "by_cause": records(self.by_cause),
            "cooccurrence": records(self.cooccurrence),
            "by_area": records(self.by_area),
            "by_attribute": records(self.by_attribute),
        }


def area_name(by: str) -> str:
    """Canonical area name for ``--by`` (乡镇 / 行政村 / township / village)."""
    from fupin_cli.errors import UsageError

    key = AREA_ALIASES.get(by.strip().lower()) or AREA_ALIASES.get(by.strip())
    if key is None:
        raise UsageError(f"--by {by}: unknown area", "use --by 乡镇 (township) or --by 行政村 (village)")
    return key


def _canon_unique(s: pd.Series) -> pd.Series:
    """Vectorised canonicalisation: map the unique values once."""
    raw = s.astype(object)
    uniq = pd.unique(raw.dropna())
    mapping = {}
    for v in uniq:
        text = str(v).strip()
        mapping[v] = canonical_value("cause", text) or text or BLANK_CAUSE
    out = raw.map(mapping)
    return out.where(out.notna(), BLANK_CAUSE).astype(object)


def cause_order(found: pd.Series) -> list[str]:
    """National order, then local causes in text order, then 未填 (only if present)."""
    present = set(found.dropna().unique())
    extra = sorted(c for c in present if c not in CAUSES and c != BLANK_CAUSE)
    return [*CAUSES, *extra, *([BLANK_CAUSE] if BLANK_CAUSE in present else [])]


def poor_households(households: pd.DataFrame) -> pd.DataFrame:
    if "status" not in households.columns:
        return households
    return households[(households["status"].astype(object) == STATUS_POOR).to_numpy()]


def causes_report(households: pd.DataFrame, by: str = "township") -> CausesReport:
    """Build every cause frame from register households (canonical names)."""
    area = area_name(by)
    poor = poor_households(households)
    primary = _canon_unique(poor["primary_cause"]) if "primary_cause" in poor.columns else pd.Series(BLANK_CAUSE, index=poor.index, dtype=object)
    people = household_people(poor).astype("int64")
    order = cause_order(primary)
    base = pd.DataFrame({"cause": primary, "people": people})
    agg = base.groupby("cause").agg(households=("people", "size"), people=("people", "sum"))
    by_cause = agg.reindex(order, fill_value=0).rename_axis("cause").reset_index()
    n_h, n_p = len(poor), int(people.sum())
    by_cause["household_share"] = (by_cause["households"] / n_h).round(6) if n_h else 0.0
    by_cause["people_share"] = (by_cause["people"] / n_p).round(6) if n_p else 0.0
    by_cause = by_cause.astype({"households": "int64", "people": "int64", "household_share": "float64", "people_share": "float64"})

    co = _cooccurrence(poor, primary, order)
    by_area = _crosstab(_areas(poor, area), primary, order, area)
    attr = poor["attribute"].astype(object) if "attribute" in poor.columns else pd.Series(None, index=poor.index, dtype=object)
    attr = attr.where(attr.notna() & (attr.astype(str).str.strip() != ""), BLANK_CAUSE)
    by_attr = _crosstab(pd.DataFrame({"attribute": attr}), primary, order, None)
    return CausesReport(by_cause, co, by_area, by_attr, area, n_h, n_p)


def _areas(df: pd.DataFrame, area: str) -> pd.DataFrame:
    cols = ["township"] if area == "township" else ["township", "village"]
    out = {}
    for c in cols:
        s = df[c].astype(object) if c in df.columns else pd.Series(None, index=df.index, dtype=object)
        out[c] = s.where(s.notna() & (s.astype(str).str.strip() != ""), UNKNOWN_AREA).astype(str)
    return pd.DataFrame(out, index=df.index)


def _crosstab(keys: pd.DataFrame, primary: pd.Series, order: list[str], area: str | None) -> pd.DataFrame:
    """Rows = key columns, columns = causes (households) in ``order``, plus 合计 ``total``."""
    key_cols = list(keys.columns)
    frame = keys.assign(cause=primary.to_numpy())
    counts = frame.groupby([*key_cols, "cause"]).size()
    table = counts.unstack("cause", fill_value=0) if len(counts) else pd.DataFrame(columns=order)
    present = [c for c in order if c in table.columns or c in CAUSES]
    table = table.reindex(columns=present, fill_value=0).fillna(0).astype("int64")
    table["total"] = table.sum(axis=1).astype("int64")
    if len(table):  # rows in order of first appearance in the register (roster order)
        seen = keys.drop_duplicates()
        seen_index = pd.MultiIndex.from_frame(seen) if len(key_cols) > 1 else pd.Index(seen[key_cols[0]], name=key_cols[0])
        table = table.reindex(seen_index.intersection(table.index, sort=False)).reset_index()
    else:
        table = pd.DataFrame(columns=[*key_cols, *present, "total"])
    table.columns.name = None
    return table


def _cooccurrence(poor: pd.DataFrame, primary: pd.Series, order: list[str]) -> pd.DataFrame:
    """primary × secondary cause (households with that secondary cause), rows in ``order``."""
    if "secondary_causes" in poor.columns:
        sec = poor["secondary_causes"].astype(object)
        split = sec.where(sec.notna(), "").astype(str).str.split(SECONDARY_SEPARATORS, regex=True)
        long = pd.DataFrame({"hh": range(len(poor)), "primary_cause": primary.to_numpy(), "secondary": split.to_numpy()})
        long = long.explode("secondary")
        long = long[long["secondary"].notna() & (long["secondary"].astype(str) != "")]
        long = long.assign(secondary=_canon_unique(long["secondary"]))
        # a household counts once per secondary cause; a secondary equal to the primary is not co-occurrence
        long = long[long["secondary"] != long["primary_cause"]].drop_duplicates(["hh", "secondary"])
    else:
        long = pd.DataFrame({"hh": pd.Series(dtype="int64"), "primary_cause": pd.Series(dtype=object),
                             "secondary": pd.Series(dtype=object)})
    sec_order = [*order, *sorted(set(long["secondary"]) - set(order))]
    counts = long.groupby(["primary_cause", "secondary"]).size() if len(long) else pd.Series(dtype="int64")
    table = counts.unstack("secondary", fill_value=0) if len(counts) else pd.DataFrame()
    table = table.reindex(index=order, columns=[c for c in sec_order if c != BLANK_CAUSE], fill_value=0).fillna(0).astype("int64")
    table = table.rename_axis("primary_cause").reset_index()
    table.columns.name = None
    return table
