"""汇总: counts and people by township and village, and assistance coverage (帮扶覆盖).

Input is a register households frame with canonical names (``township``, ``village``,
``household_size``, ``status``; optionally ``member_count``, ``responsible_person``,
``task_force``).  Output frames use English snake_case columns; :data:`LABELS` gives the
Chinese labels the writers use.

People (人口) of a household = 家庭人口数 (``household_size``); where it is blank, the number
of member rows (``member_count``); where both are blank, 0.  贫困发生率 = poor people / people.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fupin_cli.schema import STATUS_NOT_POOR, STATUS_PENDING, STATUS_POOR

UNKNOWN_AREA = "(未填)"
SUBTOTAL = "小计"
TOTAL = "合计"

LABELS: dict[str, str] = {
    "level": "层级",
    "township": "乡镇",
    "village": "行政村",
    "households": "户数",
    "people": "人口数",
    "poor_households": "贫困户数",
    "poor_people": "贫困人口数",
    "incidence": "贫困发生率",
    "pending_households": "待核实户数",
    "not_poor_households": "非贫困户数",
    "population_source": "人口数来源",
    # coverage
    "without_responsible_person": "无帮扶责任人贫困户数",
    "task_force": "驻村工作队",
    "household_id": "户编号",
    "head_name": "户主姓名",
}

SUMMARY_COLUMNS = ["level", "township", "village", "households", "people", "poor_households", "poor_people",
                   "incidence", "pending_households", "not_poor_households"]


def household_people(households: pd.DataFrame) -> pd.Series:
    """People per household: household_size, else member_count, else 0 (Int64)."""
    size = _int_col(households, "household_size")
    count = _int_col(households, "member_count")
    return size.fillna(count).fillna(0).astype("Int64")


def _int_col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    return pd.to_numeric(df[name], errors="coerce").round().astype("Int64")


def _area(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(UNKNOWN_AREA, index=df.index, dtype=object)
    s = df[name].astype(object)
    return s.where(s.notna() & (s.astype(str).str.strip() != ""), UNKNOWN_AREA).astype(str)


def _counts(households: pd.DataFrame) -> pd.DataFrame:
    """Per-household 0/1 and people counts that the summaries add up (no area columns)."""
    status = households["status"].astype(object) if "status" in households.columns else pd.Series(None, index=households.index)
    people = household_people(households).astype("int64")
    poor = (status == STATUS_POOR).to_numpy()
    return pd.DataFrame(
        {
            "households": 1,
            "people": people,
            "poor_households": poor.astype("int64"),
            "poor_people": people.where(poor, 0),
            "pending_households": (status == STATUS_PENDING).to_numpy().astype("int64"),
            "not_poor_households": (status == STATUS_NOT_POOR).to_numpy().astype("int64"),
        },
        index=households.index,
    )


def _base(households: pd.DataFrame) -> pd.DataFrame:
    """:func:`_counts` with the township and village each household is summed under."""
    counts = _counts(households)
    counts.insert(0, "village", _area(households, "village"))
    counts.insert(0, "township", _area(households, "township"))
    return counts


_SUMS = ["households", "people", "poor_households", "poor_people", "pending_households", "not_poor_households"]


def _with_incidence(df: pd.DataFrame) -> pd.DataFrame:
    people = df["people"].astype("float64")
    df = df.assign(incidence=(df["poor_people"] / people.where(people > 0)).round(6))
    return df


def area_summary(households: pd.DataFrame, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """Village rows, a 小计 row per township and a 合计 row, in roster order of first appearance.

    ``population`` (``--population``: ``village``, ``population``, optional ``township``): a village found
    there counts its registered population as 人口数 instead of the roster's people, so 贫困发生率 is
    poor people ÷ registered population (a roster of applicants alone would give nearly 100%); the
    column 人口数来源 says which villages (花名册 / 人口数文件)."""
    base = _base(households)
    villages = base.groupby(["township", "village"], sort=False, as_index=False)[_SUMS].sum()
    villages.insert(0, "level", "行政村")
    if population is not None:
        villages = apply_population(villages, population)
    towns = villages.groupby("township", sort=False, as_index=False)[_SUMS].sum()
    towns.insert(0, "level", "乡镇")
    towns.insert(2, "village", SUBTOTAL)
    total = pd.DataFrame([{"level": "全县", "township": TOTAL, "village": "", **villages[_SUMS].sum().to_dict()}])
    if population is not None:
        for frame in (towns, total):
            frame["population_source"] = ""
    # order (roster order of first appearance): each township's villages, then its subtotal; the total last
    town_rank = {t: i for i, t in enumerate(towns["township"])}
    villages["_t"], villages["_k"], villages["_v"] = villages["township"].map(town_rank), 0, range(len(villages))
    towns["_t"], towns["_k"], towns["_v"] = towns["township"].map(town_rank), 1, 0
    body = pd.concat([villages, towns], ignore_index=True).sort_values(["_t", "_k", "_v"], kind="stable")
    body = body.drop(columns=["_t", "_v"])
    out = pd.concat([body.drop(columns="_k"), total], ignore_index=True)
    for col in _SUMS:
        out[col] = out[col].astype("int64")
    cols = SUMMARY_COLUMNS + (["population_source"] if population is not None else [])
    return _with_incidence(out)[cols]


def apply_population(villages: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Village rows' ``people`` ← the population table where it names the village (by township and village
    when the table has 乡镇); ``population_source`` says which (花名册 / 人口数文件)."""
    pop = population.copy()
    if "population" not in pop.columns:  # a village table without 人口数 (only 村集体经济收入 …)
        return villages.assign(population_source="花名册")
    by_town = "township" in pop.columns and pop["township"].notna().any()
    keys = ["township", "village"] if by_town else ["village"]
    for k in keys:
        pop[k] = _area(pop, k)
    pop = pop.drop_duplicates(keys, keep="last").set_index(keys)["population"]
    idx = pd.MultiIndex.from_frame(villages[keys]) if by_town else pd.Index(villages["village"])
    given = pd.Series(pop.reindex(idx).to_numpy(), index=villages.index)
    out = villages.copy()
    has = given.notna().to_numpy()
    out.loc[has, "people"] = given[has].astype("int64").to_numpy()
    out["population_source"] = pd.Series("花名册", index=out.index).where(~has, "人口数文件")
    return out


def population_notes(summary: pd.DataFrame, population: pd.DataFrame) -> list[str]:
    """What the population table did not cover, for the user (stderr, 说明)."""
    villages = summary[summary["level"] == "行政村"]
    missing = villages[villages["population_source"] == "花名册"]
    notes = []
    if len(missing):
        names = "、".join(missing["village"].astype(str).head(5)) + (" 等" if len(missing) > 5 else "")
        notes.append(f"人口数文件中没有 {len(missing)} 个村（{names}）：其人口数按花名册计，贫困发生率可能偏高")
    known = set(villages["village"].astype(str))
    unknown = sorted(set(_area(population, "village")) - known)
    if unknown:
        notes.append(f"人口数文件中的 {len(unknown)} 个村不在花名册中，未计入: {'、'.join(unknown[:5])}" + (" 等" if len(unknown) > 5 else ""))
    return notes


def totals(households: pd.DataFrame) -> dict[str, int | float | None]:
    """County totals as plain numbers (for the JSON summary and the terminal)."""
    base = _counts(households)
    counts = {str(k): int(v) for k, v in base[_SUMS].sum().items()}
    sums: dict[str, int | float | None] = dict(counts)
    sums["incidence"] = round(counts["poor_people"] / counts["people"], 6) if counts["people"] else None
    return sums


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A report frame as JSON-ready records: missing → None, numpy scalars → Python numbers."""
    return [{k: (None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else (v.item() if hasattr(v, "item") else v))
             for k, v in row.items()} for row in df.to_dict("records")]


# ---- assistance coverage ---------------------------------------------------------------
def blank(s: pd.Series) -> pd.Series:
    """Missing or only spaces."""
    return s.isna() | (s.astype(object).astype(str).str.strip() == "")


def coverage(households: pd.DataFrame) -> dict[str, pd.DataFrame | bool]:
    """Poor households without a 帮扶责任人; villages with poor households but no 驻村工作队.

    A village counts as having a task force when any of its households records one
    (the column is village-level data repeated on household rows).  When the register has no
    ``responsible_person`` (or ``task_force``) column at all, that check is reported as not
    available (``has_responsible_person`` / ``has_task_force`` False) rather than as all missing.
    """
    status = households["status"].astype(object) if "status" in households.columns else pd.Series(None, index=households.index)
    poor = households[(status == STATUS_POOR).to_numpy()]
    cols = [c for c in ("township", "village", "household_id", "head_name") if c in households.columns]
    has_rp = "responsible_person" in households.columns
    has_tf = "task_force" in households.columns
    if has_rp:
        missing_rp = poor.loc[blank(poor["responsible_person"]).to_numpy(), cols].copy()
    else:
        missing_rp = poor.iloc[0:0][cols].copy()
    if has_tf and len(households):
        area = pd.DataFrame({"township": _area(households, "township"), "village": _area(households, "village"),
                             "poor": (status == STATUS_POOR).to_numpy(), "tf": ~blank(households["task_force"]).to_numpy()})
        g = area.groupby(["township", "village"], sort=False, as_index=False).agg(
            poor_households=("poor", "sum"), has_task_force=("tf", "any"))
        villages = g[(g["poor_households"] > 0) & ~g["has_task_force"]][["township", "village", "poor_households"]]
        villages = villages.assign(poor_households=villages["poor_households"].astype("int64")).reset_index(drop=True)
    else:
        villages = pd.DataFrame({"township": pd.Series(dtype=object), "village": pd.Series(dtype=object),
                                 "poor_households": pd.Series(dtype="int64")})
    return {
        "has_responsible_person": has_rp,
        "has_task_force": has_tf,
        "households_without_responsible_person": missing_rp.reset_index(drop=True),
        "villages_without_task_force": villages,
    }


# ---- the printed statistics table (汇总) ----------------------------------------------------
ATTRIBUTE_ORDER = ("一般贫困户", "低保贫困户", "特困供养贫困户", "低保特困供养贫困户")
POOR_VILLAGE_COLUMNS = ("是否贫困村", "贫困村", "贫困村标识", "是否建档立卡贫困村")


def _poor_village_flags(households: pd.DataFrame) -> pd.Series | None:
    """(township, village) → 是/否 from a 贫困村 column of the roster, when it has one (else None)."""
    col = next((c for c in households.columns if str(c).strip() in POOR_VILLAGE_COLUMNS), None)
    if col is None:
        return None
    flag = households[col].astype(object).where(households[col].notna(), None)
    text = flag.map(lambda v: None if v is None else ("是" if str(v).strip() in ("是", "1", "Y", "y", "√", "True", "true", "贫困村") else
                                                        "否" if str(v).strip() in ("否", "0", "N", "n", "False", "false", "非贫困村") else str(v)))
    keys = pd.DataFrame({"township": _area(households, "township"), "village": _area(households, "village"), "flag": text})
    return keys.dropna(subset=["flag"]).drop_duplicates(["township", "village"]).set_index(["township", "village"])["flag"]


def statistics_table(summary: pd.DataFrame, households: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """汇总 as a county office files it: village rows, 小计 per township, 合计; households and people, poor
    households and people by 贫困户属性, 贫困发生率, and 贫困村 where the roster records it.

    Returns the table (plain columns) and its Chinese labels."""
    status = households["status"].astype(object) if "status" in households.columns else pd.Series(None, index=households.index)
    poor = households[(status == STATUS_POOR).to_numpy()]
    attr = (poor["attribute"].astype(object).where(poor["attribute"].notna(), "(未填)") if "attribute" in poor.columns
            else pd.Series("(未填)", index=poor.index))
    seen = list(dict.fromkeys(attr.tolist()))
    attrs = [a for a in ATTRIBUTE_ORDER if a in seen] + [a for a in seen if a not in ATTRIBUTE_ORDER]
    base = pd.DataFrame({"township": _area(poor, "township"), "village": _area(poor, "village"), "attribute": attr.to_numpy(),
                         "people": household_people(poor).astype("int64").to_numpy()})
    table = summary[[c for c in summary.columns if c != "level"]].copy()
    labels = {k: LABELS.get(k, k) for k in table.columns}
    labels.update({"households": "总户数", "people": "总人口", "poor_people": "贫困人口数"})
    flags = _poor_village_flags(households)
    is_village = (summary["level"] == "行政村").to_numpy()
    is_town = (summary["level"] == "乡镇").to_numpy()
    if flags is not None:
        key = pd.MultiIndex.from_frame(table[["township", "village"]])
        table.insert(2, "poor_village", pd.Series(flags.reindex(key).to_numpy(), index=table.index).where(is_village, None))
        labels["poor_village"] = "贫困村"
    at = table.columns.get_loc("poor_people") + 1
    for i, a in enumerate(attrs):
        part = base[base["attribute"] == a]
        v = part.groupby(["township", "village"], sort=False).agg(h=("people", "size"), p=("people", "sum"))
        t = part.groupby("township", sort=False).agg(h=("people", "size"), p=("people", "sum"))
        hh = pd.Series(0, index=table.index, dtype="int64")
        pp = pd.Series(0, index=table.index, dtype="int64")
        vk = pd.MultiIndex.from_frame(table[["township", "village"]])
        hh[is_village] = v["h"].reindex(vk).fillna(0).astype("int64").to_numpy()[is_village]
        pp[is_village] = v["p"].reindex(vk).fillna(0).astype("int64").to_numpy()[is_village]
        hh[is_town] = t["h"].reindex(table["township"]).fillna(0).astype("int64").to_numpy()[is_town]
        pp[is_town] = t["p"].reindex(table["township"]).fillna(0).astype("int64").to_numpy()[is_town]
        total = ~(is_village | is_town)
        hh[total], pp[total] = len(part), int(part["people"].sum())
        table.insert(at + 2 * i, f"attr_households_{i}", hh)
        table.insert(at + 2 * i + 1, f"attr_people_{i}", pp)
        labels[f"attr_households_{i}"] = f"{a}（户）"
        labels[f"attr_people_{i}"] = f"{a}（人）"
    return table, labels
