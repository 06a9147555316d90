"""ID numbers: GB 11643 problems, sex and birth date against the ID, duplicate persons."""

from __future__ import annotations

from typing import Any

import pandas as pd

from fupin_cli import idnumber
from fupin_cli.checks.context import CheckContext, dates, fmt_text

ID_PROBLEMS = ("excel_number", "characters", "length", "birth_date", "checksum", "upgraded_15", "disability")


def _problem_findings(ctx: CheckContext, frame: pd.DataFrame, checked: pd.DataFrame, field: str) -> list[pd.DataFrame]:
    out = []
    for code in ID_PROBLEMS:
        mask = (checked["problem"] == code).to_numpy()
        if not mask.any():
            continue
        if code == "upgraded_15":
            def message(sub: Any, _c: Any = checked[mask]) -> Any:
                return ("15 位旧证件号码 " + idnumber.mask_series(sub[field].astype("str")).to_numpy()
                        + "，已升级为 18 位 " + idnumber.mask_series(_c["normalised"]).to_numpy())
        else:
            def message(sub: Any, _c: Any = None) -> Any:  # few flagged values: the scalar check gives the exact message
                return [idnumber.check_id(v, ctx.ref_date).problems[0][1] for v in sub[field].tolist()]
        out.append(ctx.emit(f"id.{code}", frame, mask, field, message))
    return out


def id_problems(ctx: CheckContext) -> list[pd.DataFrame]:
    out = []
    if ctx.ids is not None:
        out += _problem_findings(ctx, ctx.members, ctx.ids, "id_number")
    hh = ctx.households
    if "head_id_number" in hh.columns and len(hh):
        out += _problem_findings(ctx, hh, ctx.head_ids, "head_id_number")
    return out


def id_agreement(ctx: CheckContext) -> list[pd.DataFrame]:
    """性别 and 出生日期 as recorded against the values encoded in a valid ID."""
    ids, m = ctx.ids, ctx.members
    out: list[pd.DataFrame] = []
    if ids is None:
        return out
    valid = ids["valid"]
    if "sex" in m.columns:
        bad = valid & m["sex"].notna() & ids["sex"].notna() & (m["sex"].astype("str") != ids["sex"])
        out.append(ctx.emit("id.sex_mismatch", m, bad, "sex", lambda sub: (
            "性别 " + fmt_text(sub["sex"]) + "，证件号码 " + idnumber.mask_series(ids.loc[sub.index, "normalised"])
            + " 为" + ids.loc[sub.index, "sex"].astype("str"))))
    if "birth_date" in m.columns:
        rec = dates(m["birth_date"])
        # a 出生年月 column may hold only year and month: compare to the month when the day is 1
        same_month = (rec.dt.year == ids["birth_date"].dt.year) & (rec.dt.month == ids["birth_date"].dt.month)
        same = (rec == ids["birth_date"]) | (same_month & (rec.dt.day == 1))
        bad = valid & rec.notna() & ids["birth_date"].notna() & ~same.fillna(False)
        out.append(ctx.emit("id.birth_mismatch", m, bad, "birth_date", lambda sub: (
            "出生日期 " + rec[sub.index].dt.strftime("%Y-%m-%d") + "，证件号码 "
            + idnumber.mask_series(ids.loc[sub.index, "normalised"]) + " 为 "
            + ids.loc[sub.index, "birth_date"].dt.strftime("%Y-%m-%d"))))
    return out


def _duplicates(ctx: CheckContext, frame: pd.DataFrame, checked: pd.DataFrame, field: str) -> list[pd.DataFrame]:
    usable = checked["normalised"].notna() & ~checked["problem"].isin(["missing", "excel_number"])
    if not usable.any() or "household_id" not in frame.columns:
        return []
    key = checked["normalised"].where(usable)
    hid = frame["household_id"].astype("str")
    dup = key.duplicated(keep=False) & usable
    if not dup.any():
        return []
    d = pd.DataFrame({"key": key[dup], "hid": hid[dup]})
    n_households = d.groupby("key")["hid"].transform("nunique")
    across = pd.Series(False, index=frame.index)
    across[d.index] = (n_households > 1).to_numpy()
    within = pd.Series(False, index=frame.index)
    within[d.index] = d.duplicated(["key", "hid"], keep=False).to_numpy()
    out = []
    if across.any():
        lists = d[across[d.index].to_numpy()].groupby("key")["hid"].agg(lambda s: "、".join(dict.fromkeys(s)))

        def msg_across(sub):
            k = key[sub.index]
            return ("证件号码 " + idnumber.mask_series(k).to_numpy() + " 登记在多户：" + k.map(lists).to_numpy())
        out.append(ctx.emit("id.duplicate_household", frame, across, field, msg_across))
    if within.any():
        rows = frame["_row"] if "_row" in frame.columns else pd.Series(frame.index + 1, index=frame.index)
        w = d[within[d.index].to_numpy()].assign(row=rows[d.index[within[d.index].to_numpy()]].astype("str").to_numpy())
        row_lists = w.groupby(["key", "hid"])["row"].agg("、".join)

        def msg_within(sub):
            k = key[sub.index]
            pairs = list(zip(k, sub["household_id"].astype("str")))
            return ("证件号码 " + idnumber.mask_series(k).to_numpy() + " 在本户重复登记（第 "
                    + pd.Series([row_lists.get(p, "") for p in pairs], dtype=object).to_numpy() + " 行）")
        out.append(ctx.emit("id.duplicate_member", frame, within, field, msg_within))
    return out


def duplicate_persons(ctx: CheckContext) -> list[pd.DataFrame]:
    """The same ID in two households (error) or twice in one household (error)."""
    if ctx.ids is not None:
        return _duplicates(ctx, ctx.members, ctx.ids, "id_number")
    hh = ctx.households
    if "head_id_number" in hh.columns and len(hh):  # household layout: heads only
        return _duplicates(ctx, hh, ctx.head_ids, "head_id_number")
    return []


CHECK_FUNCTIONS = [id_problems, id_agreement, duplicate_persons]
