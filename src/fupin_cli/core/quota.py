"""规模控制: cap the number of identified poor people per village and/or for the county.

A quota table (from ``--quota FILE``) gives numbers of poor *people* (贫困人口规模指标):
per village (``village`` and optionally ``township``) and/or one county total (a row whose
village is blank or 全县/合计/县, or a ``county`` row).

When a village's eligible households (status 贫困户) hold more people than its quota, the
households are ranked and those beyond the quota become 待核实 with the reason
``超出规模控制指标``.  Ranking (documented in docs/identify.md), poorest first:

1. per-capita income (人均纯收入), lowest first; missing income last;
2. fewer labourers (劳动力人数) first;
3. larger household (家庭人口数) first;
4. 户编号 ascending (text order).

A household is within quota when the running total of people, up to and including it, is at
most the quota (a household is never split).  The county total is applied after the village
quotas, over all households still eligible, with the same ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.schema import STATUS_PENDING, STATUS_POOR, field_for_header, normalise_header

OVER_QUOTA = "超出规模控制指标"
COUNTY_WORDS = {"全县", "合计", "县", "总计", "全县合计", "county", "total"}
QUOTA_HEADERS = {normalise_header(h) for h in ("指标", "规模", "规模指标", "贫困人口指标", "贫困人口规模", "规模控制指标",
                                               "贫困人口规模指标", "识别规模", "quota", "人数指标", "指标人数")}

LABELS = {
    "township": "乡镇", "village": "行政村", "quota": "规模指标(人)", "eligible_households": "符合条件户数",
    "eligible_people": "符合条件人数", "within_households": "指标内户数", "within_people": "指标内人数",
    "over_households": "超指标户数", "over_people": "超指标人数", "use": "指标使用率",
}
REPORT_COLUMNS = list(LABELS)


@dataclass
class Quota:
    villages: pd.DataFrame  # columns township (may be NA), village, quota (int)
    county: int | None = None
    source: str = ""


def parse_quota(df: pd.DataFrame, source: str = "quota") -> Quota:
    """Quota table (headers 乡镇 / 行政村 / 指标, any alias) → :class:`Quota`."""
    cols = {c: (field_for_header(c) or ("quota" if normalise_header(c) in QUOTA_HEADERS else None)) for c in df.columns}
    by_name = {v: k for k, v in cols.items() if v}
    if "quota" not in by_name:
        raise InputError(f"{source}: no quota column", "name a column 指标 (or 规模指标 / 贫困人口指标 / quota)")
    raw = df[by_name["quota"]]
    quota = pd.to_numeric(raw.astype(object).astype(str).str.replace(",", "").str.strip(), errors="coerce")
    bad = raw.notna() & quota.isna() & (raw.astype(object).astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{source}: row {i + 2}, column {by_name['quota']}: '{raw.iloc[i]}' is not a number",
                         "write the quota as a whole number of people")
    village = df[by_name["village"]].astype(object) if "village" in by_name else pd.Series(None, index=df.index, dtype=object)
    village = village.where(village.notna(), "").astype(str).str.strip()
    town = df[by_name["township"]].astype(object) if "township" in by_name else pd.Series(None, index=df.index, dtype=object)
    town = town.where(town.notna(), "").astype(str).str.strip()
    county_rows = village.str.lower().isin(COUNTY_WORDS) | ((village == "") & town.str.lower().isin(COUNTY_WORDS | {""}))
    county_vals = quota[county_rows & quota.notna()]
    county = int(county_vals.iloc[0]) if len(county_vals) else None
    keep = ~county_rows & quota.notna() & (village != "")
    villages = pd.DataFrame({"township": town[keep].replace("", pd.NA), "village": village[keep],
                             "quota": quota[keep].round().astype("int64")}).reset_index(drop=True)
    if villages.duplicated(["township", "village"]).any():
        dup = villages.loc[villages.duplicated(["township", "village"]), "village"].iloc[0]
        raise InputError(f"{source}: village {dup} appears more than once", "give one quota per village")
    if county is None and villages.empty:
        raise InputError(f"{source}: no quota values found", "fill the 指标 column with numbers of poor people")
    return Quota(villages=villages, county=county, source=source)


def rank_order(frame: pd.DataFrame, by: list[str] | None = None) -> np.ndarray:
    """Positions of ``frame`` rows in ranking order (poorest first), optionally within groups ``by``."""
    key = pd.DataFrame({
        "income": pd.to_numeric(frame["income"], errors="coerce").astype("float64"),
        "labourers": pd.to_numeric(frame["labourers"], errors="coerce").astype("float64"),
        "neg_size": -pd.to_numeric(frame["people"], errors="coerce").astype("float64"),
        "hid": frame["household_id"].astype(object).astype(str),
    })
    for g in by or []:
        key[g] = frame[g].astype(object).astype(str).to_numpy()
    key["pos"] = np.arange(len(frame))
    cols = [*(by or []), "income", "labourers", "neg_size", "hid"]
    return cast(np.ndarray, key.sort_values(cols, kind="stable", na_position="last")["pos"].to_numpy())


def apply_quota(frame: pd.DataFrame, quota: Quota) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Apply ``quota`` to households.

    ``frame`` columns: ``household_id, township, village, status, people, income, labourers``.
    Returns (new status, reason for those moved to 待核实 (NA elsewhere), per-village report).
    """
    status = frame["status"].astype(object).copy()
    reason = pd.Series(pd.NA, index=frame.index, dtype=object)
    eligible = (status == STATUS_POOR).to_numpy()
    town = frame["township"].astype(object).where(frame["township"].notna(), pd.NA) if "township" in frame else pd.Series(pd.NA, index=frame.index)
    work = pd.DataFrame({
        "township": town.astype(object), "village": frame["village"].astype(object).astype(str),
        "people": pd.to_numeric(frame["people"], errors="coerce").fillna(0).astype("int64"),
        "income": frame["income"], "labourers": frame["labourers"], "household_id": frame["household_id"],
    }, index=frame.index)
    qv = quota.villages
    if qv["township"].notna().any():  # keyed by (township, village): village names repeat across townships
        qidx = pd.Series(qv["quota"].astype("float64").to_numpy(),
                         index=pd.MultiIndex.from_arrays([qv["township"].fillna(""), qv["village"]]))
        wq = pd.Series(qidx.reindex(pd.MultiIndex.from_arrays([work["township"].fillna(""), work["village"]])).to_numpy(),
                       index=work.index)
    else:
        wq = work["village"].map(dict(zip(qv["village"], qv["quota"].astype("float64"))))
    work["quota"] = wq.astype("float64")
    over_v = np.zeros(len(work), dtype=bool)
    elig = work[eligible]
    if len(elig):
        ranked = elig.iloc[rank_order(elig, by=["township", "village"])]
        cum = ranked.groupby(["township", "village"], dropna=False, sort=False)["people"].cumsum()
        over_v[work.index.get_indexer(ranked.index[(cum > ranked["quota"]).to_numpy()])] = True
    quota_text = work["quota"].fillna(0).astype("int64").astype(str)
    reason[over_v] = (OVER_QUOTA + "（" + work["village"] + " 指标 " + quota_text + " 人）")[over_v]
    over_c = np.zeros(len(work), dtype=bool)
    still = eligible & ~over_v
    if quota.county is not None and still.any():
        rest = work[still]
        ranked = rest.iloc[rank_order(rest)]
        beyond = ranked.index[(ranked["people"].cumsum() > quota.county).to_numpy()]
        over_c[work.index.get_indexer(beyond)] = True
        reason[over_c] = f"{OVER_QUOTA}（全县指标 {quota.county} 人）"
    status[over_v | over_c] = STATUS_PENDING
    return status, reason, quota_report(work, eligible, over_v, over_c, quota)


def quota_report(work: pd.DataFrame, eligible: np.ndarray, over_v: np.ndarray, over_c: np.ndarray,
                 quota: Quota) -> pd.DataFrame:
    """Quota use per village (village quotas), plus a 全县 row when a county quota is set."""
    key = ["township", "village"]
    e = work[eligible]
    within = ~over_v[eligible]
    e = e.assign(township=e["township"].fillna(""), within=within.astype("int64"),
                 within_people=e["people"].where(within, 0))
    g = e.groupby(key, sort=True, as_index=False).agg(
        eligible_households=("people", "size"), eligible_people=("people", "sum"),
        within_households=("within", "sum"), within_people=("within_people", "sum"))
    qv = quota.villages.assign(township=quota.villages["township"].fillna(""))
    if qv["township"].eq("").all():
        g = g.merge(qv[["village", "quota"]], on="village", how="outer")
        g["township"] = g["township"].fillna("")
    else:
        g = g.merge(qv, on=key, how="outer")
    counts = ["eligible_households", "eligible_people", "within_households", "within_people"]
    for c in counts:
        g[c] = g[c].fillna(0).astype("int64")
    g["quota"] = g["quota"].astype("Int64")
    g = g.sort_values(key, kind="stable").reset_index(drop=True)
    if quota.county is not None:
        people = work["people"].to_numpy()
        kept = eligible & ~over_v
        row = {"township": "全县", "village": "", "quota": quota.county,
               "eligible_households": int(kept.sum()), "eligible_people": int(people[kept].sum()),
               "within_households": int((kept & ~over_c).sum()), "within_people": int(people[kept & ~over_c].sum())}
        g = pd.concat([g, pd.DataFrame([row])], ignore_index=True)
        g["quota"] = g["quota"].astype("Int64")
    for c in counts:
        g[c] = g[c].astype("int64")
    g["over_households"] = g["eligible_households"] - g["within_households"]
    g["over_people"] = g["eligible_people"] - g["within_people"]
    q = g["quota"].astype("float64")
    g["use"] = (g["within_people"] / q.where(q > 0)).round(6)
    g["township"] = g["township"].replace("", pd.NA)
    return g[REPORT_COLUMNS]


def quota_notes(frame: pd.DataFrame, quota: Quota, limit: int = 10) -> list[str]:
    """Warnings about the quota table: villages it names that the roster does not have."""
    if quota.villages.empty:
        return []
    by_town = quota.villages["township"].notna().any()
    keys = ["township", "village"] if by_town else ["village"]
    have = frame[keys].astype(object).fillna("").astype(str).drop_duplicates()
    want = quota.villages[keys].astype(object).fillna("").astype(str)
    missing = want.merge(have, on=keys, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    if missing.empty:
        return []
    names = ("-".join(x for x in row if x) for row in missing[keys].itertuples(index=False))
    shown = "、".join(list(names)[:limit]) + (f" 等 {len(missing)} 个" if len(missing) > limit else "")
    return [f"{quota.source}: {len(missing)} villages are not in the roster ({shown}); their quota is unused"]
