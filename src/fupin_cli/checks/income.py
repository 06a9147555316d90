"""Income (元/年): 纯收入 and 人均纯收入 arithmetic, ranges of the national 疑点 list (domain.md §5.4)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.checks.context import WORK_PLACES, CheckContext, fmt_num, num
from fupin_cli.schema import FIELDS

COMPONENTS = ("wage_income", "business_income", "property_income", "transfer_income")
EXPENSE = "business_expense"
NET_TOLERANCE = 1.0  # yuan
PC_TOLERANCE, PC_RELATIVE = 1.0, 0.005  # 1 yuan or 0.5 %
# fallbacks for `validate --no-pack` only; with a pack, its parameters (named beside them) are used
PC_MAX = 100_000  # check_income_pc_max
WAGE_SMALL = 300  # check_wage_income_min
TRANSFER_PARTS = ("dibao_benefit", "tekun_benefit", "pension_benefit", "family_planning_subsidy", "eco_compensation")
# (field, threshold): 0 < value < threshold is a 疑点
SMALL_BENEFITS = (("dibao_benefit", 200, "check_dibao_benefit_min"), ("pension_benefit", 88, "check_pension_min"),
                  ("family_planning_subsidy", 100, "check_family_planning_min"))


def _money(hh: pd.DataFrame, name: str) -> pd.Series:
    return num(hh[name])


def negative_values(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    out: list[pd.DataFrame] = []
    for name in (*COMPONENTS, EXPENSE, *TRANSFER_PARTS, "dividend_income"):
        if name in hh.columns:
            def negative(sub: pd.DataFrame, n: str = name) -> Any:
                return f"{FIELDS[n].zh} " + fmt_num(sub[n])

            out.append(ctx.emit("income.negative", hh, _money(hh, name) < 0, name, negative))
    return out


def net_income(ctx: CheckContext) -> list[pd.DataFrame]:
    """纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出 (all five columns needed)."""
    hh = ctx.households
    if not all(c in hh.columns for c in ("net_income", *COMPONENTS, EXPENSE)):
        return []
    parts = pd.DataFrame({c: num(hh[c]) for c in COMPONENTS})
    known = parts.notna().any(axis=1)
    calc = parts.fillna(0).sum(axis=1) - _money(hh, EXPENSE).fillna(0)
    net = _money(hh, "net_income")
    bad = known & net.notna() & ((net - calc).abs() > NET_TOLERANCE)
    return [ctx.emit("income.net_mismatch", hh, bad, "net_income", lambda sub: (
        "纯收入 " + fmt_num(net[sub.index]) + "，按各项计算为 " + fmt_num(calc[sub.index])
        + "（工资性 " + fmt_num(sub["wage_income"]) + " + 经营性 " + fmt_num(sub["business_income"])
        + " + 财产性 " + fmt_num(sub["property_income"]) + " + 转移性 " + fmt_num(sub["transfer_income"])
        + " − 经营支出 " + fmt_num(sub[EXPENSE]) + "）"))]


def per_capita(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    out: list[pd.DataFrame] = []
    if "income_per_capita" not in hh.columns:
        return out
    pc = _money(hh, "income_per_capita")
    if "net_income" in hh.columns and "household_size" in hh.columns:
        size = num(hh["household_size"])
        calc = _money(hh, "net_income") / size.where(size > 0)
        tol = np.maximum(PC_TOLERANCE, (calc.abs() * PC_RELATIVE).astype("float64").fillna(0).to_numpy())
        bad = pc.notna() & calc.notna() & ((pc - calc).abs() > tol)
        out.append(ctx.emit("income.per_capita_mismatch", hh, bad, "income_per_capita", lambda sub: (
            "人均纯收入 " + fmt_num(pc[sub.index]) + "，纯收入 " + fmt_num(sub["net_income"]) + " ÷ 家庭人口数 "
            + fmt_num(sub["household_size"]) + " = " + fmt_num(calc[sub.index].round(2)))))
    pc_max = ctx.param("check_income_pc_max", PC_MAX)
    out.append(ctx.emit("income.per_capita_range", hh, (pc <= 0) | (pc > pc_max), "income_per_capita",
                        lambda sub: "人均纯收入 " + fmt_num(pc[sub.index])))
    return out


def ranges(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    out: list[pd.DataFrame] = []
    if "business_income" in hh.columns and EXPENSE in hh.columns:
        bad = (_money(hh, "business_income") > 0) & (_money(hh, EXPENSE) == 0)
        out.append(ctx.emit("income.business_no_expense", hh, bad, EXPENSE,
                            lambda sub: "生产经营性收入 " + fmt_num(sub["business_income"]) + "，生产经营性支出为 0"))
    if "wage_income" in hh.columns:
        w = _money(hh, "wage_income")
        small = ctx.param("check_wage_income_min", WAGE_SMALL)
        out.append(ctx.emit("income.wage_small", hh, (w > 0) & (w < small), "wage_income",
                            lambda sub: "工资性收入 " + fmt_num(sub["wage_income"]) + f" 元（0–{small:g} 元之间）"))
    for name, fallback, param in SMALL_BENEFITS:
        limit = ctx.param(param, fallback)
        if name in hh.columns:
            v = _money(hh, name)

            def small(sub: pd.DataFrame, n: str = name, lim: float = limit) -> Any:
                return f"{FIELDS[n].zh} " + fmt_num(sub[n]) + f" 元（低于 {lim:g} 元）"

            out.append(ctx.emit("income.small_benefit", hh, (v > 0) & (v < limit), name, small))
    if "eco_compensation" in hh.columns and "grain_for_green" in hh.columns:
        land = num(hh["grain_for_green"]).fillna(0)
        bad = (_money(hh, "eco_compensation") > 0) & (land <= 0)
        out.append(ctx.emit("income.eco_no_land", hh, bad, "eco_compensation",
                            lambda sub: "生态补偿金 " + fmt_num(sub["eco_compensation"]) + "，退耕还林面积为 0"))
    if "transfer_income" in hh.columns:
        present = [c for c in TRANSFER_PARTS if c in hh.columns]
        if present:
            parts = pd.DataFrame({c: num(hh[c]) for c in present}).fillna(0).sum(axis=1)
            t = _money(hh, "transfer_income")
            bad = t.notna() & (parts > t + NET_TOLERANCE)
            out.append(ctx.emit("income.transfer_parts", hh, bad, "transfer_income", lambda sub: (
                "转移性收入 " + fmt_num(t[sub.index]) + "，其分项（" + "、".join(FIELDS[c].zh for c in present)
                + "）合计 " + fmt_num(parts[sub.index]))))
    return out


def wage_vs_workers(ctx: CheckContext) -> list[pd.DataFrame]:
    """工资性收入 against the members' work.

    ``income.worker_no_wage``: someone 务工 (a 务工 place, or 务工时间 > 0) yet 工资性收入 = 0.
    ``income.wage_no_worker``: 工资性收入 > 0 yet nobody works *at all*: a 务工状况 of 其他
    (local work, 打零工 at home) is work that can earn wages, so it clears the household.
    """
    hh, m = ctx.households, ctx.members
    if "wage_income" not in hh.columns or not len(m) or not ({"work_status", "work_months"} & set(m.columns)):
        return []
    away = pd.Series(False, index=m.index)
    any_work = pd.Series(False, index=m.index)
    if "work_status" in m.columns:
        status = m["work_status"].astype("str").str.strip()
        away |= status.isin(WORK_PLACES).fillna(False)
        any_work |= (status.notna() & (status != "")).fillna(False)
    if "work_months" in m.columns:
        away |= (num(m["work_months"]) > 0).fillna(False)
    any_work |= away
    workers = ctx.per_household(away, "sum").astype("int64")
    local = ctx.per_household(any_work, "sum").astype("int64")
    has_members = ctx.member_count > 0
    w = _money(hh, "wage_income")
    return [
        ctx.emit("income.wage_no_worker", hh, has_members & (w > 0) & (local == 0), "wage_income",
                 lambda sub: "工资性收入 " + fmt_num(sub["wage_income"]) + "，但没有成员务工（务工状况、务工时间均未填）"),
        ctx.emit("income.worker_no_wage", hh, has_members & (w == 0) & (workers > 0), "wage_income",
                 lambda sub: "有 " + workers[sub.index].astype(str) + " 名务工成员，但工资性收入为 0"),
    ]


CHECK_FUNCTIONS = [negative_values, net_income, per_capita, ranges, wage_vs_workers]
