"""帮扶责任人 and exited households (domain.md §5.4 "帮扶责任人", "脱贫户未解决两不愁三保障").

* ``assist.no_responsible_person``: a poor household (贫困户属性 other than 一般农户) with no
  帮扶责任人 — only when the roster has a 帮扶责任人 column.
* ``assist.responsible_is_poor``: the 帮扶责任人 is a member of a poor household — by
  帮扶责任人证件号码 when that column exists (same person), else by name (同名, to verify).
* ``exit.unsolved_guarantees``: an exited household (脱贫状态 已脱贫, else 户类型 脱贫户, else a
  贫困户属性 containing 脱贫) that is still 危房, has unsafe water / 饮水困难, a dropout
  (是否辍学, or aged 7–15 非在校生 without 初中 or above), a 患有大病/长期慢性病 member
  without 大病保险, or 不愁吃穿 = 否.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_cli import idnumber
from fupin_cli.checks.context import NOT_STUDENT, CheckContext, as_bool, flag
from fupin_cli.checks.members import FINISHED_COMPULSORY, compulsory_ages
from fupin_cli.checks.required import blank
from fupin_cli.schema import canonical_value

SICK = ("患有大病", "长期慢性病")


def _poor(ctx: CheckContext) -> pd.Series | None:
    """Households recorded as poor (any 贫困户属性 but 一般农户); None without the column."""
    hh = ctx.households
    if "recorded_attribute" not in hh.columns or not ctx.has("recorded_attribute", "household"):
        return None
    attr = hh["recorded_attribute"].astype("str").str.strip()
    return (attr.notna() & (attr != "") & (attr != "一般农户")).fillna(False).astype(bool)


def responsible_person(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    out: list[pd.DataFrame] = []
    poor = _poor(ctx)
    if poor is None or "responsible_person" not in hh.columns or not ctx.has("responsible_person", "household"):
        return out
    attr = hh["recorded_attribute"].astype("str")
    out.append(ctx.emit("assist.no_responsible_person", hh, poor & blank(hh["responsible_person"]), "responsible_person",
                        lambda sub: "贫困户（" + attr[sub.index] + "）未填帮扶责任人"))
    out += _responsible_is_poor(ctx, poor)
    return out


def _responsible_is_poor(ctx: CheckContext, poor: pd.Series) -> list[pd.DataFrame]:
    hh, m = ctx.households, ctx.members
    if not len(m) or "household_id" not in hh.columns:
        return []
    in_poor = ctx.to_members(poor).fillna(False).astype(bool)
    by_id = "responsible_id_number" in hh.columns and ctx.has("responsible_id_number", "household") and ctx.ids is not None
    if by_id and ctx.ids is not None:  # (by_id checked it; said again for the type checker)
        person = idnumber.check_series(hh["responsible_id_number"], ctx.ref_date)["normalised"].where(~blank(hh["responsible_id_number"]))
        keys = ctx.ids["normalised"].where(in_poor & ctx.ids["valid"])
        field, what = "responsible_id_number", "证件号码"
    elif "name" in m.columns:
        person = hh["responsible_person"].astype("str").str.strip()
        keys = m["name"].astype("str").str.strip().where(in_poor)
        field, what = "responsible_person", "姓名"
    else:
        return []
    keys = keys.dropna()
    keys = keys[keys != ""]
    if not len(keys):
        return []
    first = pd.Series(m.loc[keys.index, "household_id"].astype("str").to_numpy(), index=keys.to_numpy())
    first = first[~first.index.duplicated()]
    match = person.map(first)
    bad = match.notna().to_numpy()
    name = hh["responsible_person"].astype("str").fillna("") if "responsible_person" in hh.columns else pd.Series("", index=hh.index)
    sure = "（同一人）" if by_id else "（同名，请核实是否同一人）"
    return [ctx.emit("assist.responsible_is_poor", hh, bad, field, lambda sub: (
        "帮扶责任人 " + name[sub.index] + f" 的{what}与贫困户 " + match[sub.index].astype(str) + f" 的成员相同{sure}"))]


def _exited(ctx: CheckContext) -> tuple[pd.Series, str] | None:
    hh = ctx.households
    if "exit_status" in hh.columns and ctx.has("exit_status", "household"):
        status = hh["exit_status"].astype("str")
        codes, uniques = pd.factorize(status)
        done = np.array([canonical_value("registry_status", u) == "已脱贫" for u in uniques] + [False])
        return pd.Series(done[codes], index=hh.index), "exit_status"
    if "household_type" in hh.columns and ctx.has("household_type", "household"):
        return (hh["household_type"].astype("str").str.strip() == "脱贫户").fillna(False).astype(bool), "household_type"
    if "recorded_attribute" in hh.columns and ctx.has("recorded_attribute", "household"):
        return hh["recorded_attribute"].astype("str").str.contains("脱贫", regex=False).fillna(False).astype(bool), "recorded_attribute"
    return None


def _piece(mask: pd.Series | np.ndarray, text: str | pd.Series, index: pd.Index) -> pd.Series:
    m = pd.Series(np.asarray(mask, dtype=bool), index=index)
    t = text if isinstance(text, pd.Series) else pd.Series(text, index=index)
    return t.where(m, "")


def unsolved_guarantees(ctx: CheckContext) -> list[pd.DataFrame]:
    found = _exited(ctx)
    if found is None:
        return []
    exited, field = found
    if not exited.any():
        return []
    hh, m, idx = ctx.households, ctx.members, ctx.households.index
    pieces: list[pd.Series] = []
    if "food_clothing_secure" in hh.columns:
        pieces.append(_piece((flag(hh["food_clothing_secure"]) == False).fillna(False), "吃穿（是否不愁吃穿 否）", idx))  # noqa: E712
    if "unsafe_housing" in hh.columns:
        pieces.append(_piece(as_bool(hh["unsafe_housing"]), "住房（是否危房 是）", idx))
    water = pd.Series(False, index=idx)
    if "safe_water" in hh.columns:
        water |= (flag(hh["safe_water"]) == False).fillna(False)  # noqa: E712
    if "water_difficulty" in hh.columns:
        water |= as_bool(hh["water_difficulty"])
    pieces.append(_piece(water, "饮水（未解决安全饮水）", idx))
    if len(m):
        out_of_school = pd.Series(False, index=m.index)
        if "dropout" in m.columns:
            out_of_school |= as_bool(m["dropout"])
        if "school_status" in m.columns:
            lo, hi = compulsory_ages(ctx)
            finished = m["education"].astype("str").isin(FINISHED_COMPULSORY).fillna(False) if "education" in m.columns else False
            out_of_school |= ctx.ages.between(lo, hi) & (m["school_status"].astype("str") == NOT_STUDENT).fillna(False) & ~finished
        n_drop = ctx.per_household(out_of_school, "sum").astype("int64")
        pieces.append(_piece(n_drop > 0, "义务教育（" + n_drop.astype(str) + " 名适龄儿童辍学）", idx))
        if "health" in m.columns and "critical_illness_insurance" in m.columns:
            uninsured = m["health"].astype("str").isin(SICK).fillna(False) & (flag(m["critical_illness_insurance"]) == False).fillna(False)  # noqa: E712
            n_sick = ctx.per_household(uninsured, "sum").astype("int64")
            pieces.append(_piece(n_sick > 0, "医疗（" + n_sick.astype(str) + " 名患病成员未参加大病保险）", idx))
    if not pieces:
        return []
    frame = pd.concat(pieces, axis=1)
    bad = exited & (frame != "").any(axis=1)
    return [ctx.emit("exit.unsolved_guarantees", hh, bad, field, lambda sub: (
        "脱贫户未解决两不愁三保障：" + frame.loc[sub.index].apply(lambda r: "、".join(t for t in r if t), axis=1)))]


unsolved_guarantees.pack_replaces = True  # type: ignore[attr-defined]  # a pack's household_exit rules decide it instead


def exited_mask(ctx: CheckContext) -> tuple[pd.Series, str] | None:
    """Households recorded as exited and the field that says so (None without such a column)."""
    return _exited(ctx)


CHECK_FUNCTIONS = [responsible_person, unsolved_guarantees]
