"""Household structure: 户编号, 家庭人口数 vs members, 户主 and 配偶."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_cli import idnumber
from fupin_cli.checks.context import CheckContext, fmt_num, fmt_text, num
from fupin_cli.schema import SOURCE_FILE, SOURCE_SHEET


def duplicate_household_ids(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    if "household_id" not in hh.columns:
        return []
    hid = hh["household_id"]
    dup = hid.notna() & hid.duplicated(keep=False)
    if dup.any() and SOURCE_FILE in hh.columns:
        # the same 户编号 in two files or sheets: the reader's read.duplicate_household names every place
        place = hh[SOURCE_FILE].astype(str) + "\0" + (hh[SOURCE_SHEET].astype(str) if SOURCE_SHEET in hh.columns else "")
        spread = place[dup].groupby(hid[dup]).nunique()
        dup &= ~hid.isin(spread[spread > 1].index)
    counts = hid[dup].value_counts()
    return [ctx.emit("household.duplicate_id", hh, dup, "household_id", lambda sub: (
        "户编号 " + sub["household_id"].astype("str") + " 出现 " + sub["household_id"].map(counts).astype(str) + " 次"))]


def household_size(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    if "household_size" not in hh.columns:
        return []
    size = num(hh["household_size"])
    out = [ctx.emit("household.size_invalid", hh, size < 1, "household_size",
                    lambda sub: "家庭人口数为 " + fmt_num(sub["household_size"]))]
    if len(ctx.members) and "household_id" in ctx.members.columns:
        count = ctx.member_count
        bad = size.notna() & (size >= 1) & (size != count)
        out.append(ctx.emit("household.size_mismatch", hh, bad, "household_size", lambda sub: (
            "家庭人口数 " + fmt_num(sub["household_size"]) + "，花名册中成员 " + count[sub.index].astype(str) + " 人")))
    return out


def heads_and_spouses(ctx: CheckContext) -> list[pd.DataFrame]:
    m, hh = ctx.members, ctx.households
    if not len(m) or "relation" not in m.columns or "household_id" not in m.columns:
        return []
    rel = m["relation"].astype("str")
    is_head = (rel == "户主").fillna(False)
    is_spouse = (rel == "配偶").fillna(False)
    heads = ctx.per_household(is_head, "sum").astype("int64")
    spouses = ctx.per_household(is_spouse, "sum").astype("int64")
    has_members = ctx.member_count > 0
    out = [
        ctx.emit("household.no_head", hh, has_members & (heads == 0), "relation", "本户没有与户主关系为“户主”的成员"),
        ctx.emit("household.multiple_heads", m, is_head & (ctx.to_members(heads) > 1), "relation",
                 lambda sub: "本户有 " + ctx.to_members(heads)[sub.index].astype("int64").astype(str) + " 名户主"),
        ctx.emit("household.multiple_spouses", m, is_spouse & (ctx.to_members(spouses) > 1), "relation",
                 lambda sub: "本户有 " + ctx.to_members(spouses)[sub.index].astype("int64").astype(str) + " 名配偶"),
    ]
    # sex codes (1 男, 2 女, 0 unknown) of the single head, compared with the single spouse
    sex = ctx.sex
    code = np.select([(sex == "男").to_numpy(bool), (sex == "女").to_numpy(bool)], [1, 2], 0)
    idx = ctx.household_index
    head_code = np.zeros(len(hh) + 1, dtype=np.int64)  # last slot: members without a household
    at_head = is_head.to_numpy(bool) & (idx >= 0)
    head_code[idx[at_head]] = code[at_head]
    single = ((heads == 1) & (spouses == 1)).to_numpy(bool)
    hh_of = np.where(idx >= 0, idx, len(hh))
    single_m = np.append(single, False)[hh_of]
    same = is_spouse.to_numpy(bool) & single_m & (code > 0) & (code == head_code[hh_of])
    out.append(ctx.emit("household.head_spouse_same_sex", m, same, "sex" if "sex" in m.columns else "id_number",
                        lambda sub: "户主与配偶性别均为" + sex[sub.index].astype("str")))
    out += _head_identity(ctx, is_head, heads)
    return out


def _head_identity(ctx: CheckContext, is_head: pd.Series, heads: pd.Series) -> list[pd.DataFrame]:
    """户主姓名 / 户主证件号码 on the household against the member marked 户主."""
    m, hh, out = ctx.members, ctx.households, []
    one = heads == 1
    if "head_name" in hh.columns and "name" in m.columns and ctx.has("head_name", "household"):
        member_name = ctx.per_household(m["name"].astype("str").where(is_head), "first")
        bad = one & hh["head_name"].notna() & member_name.notna() & (hh["head_name"].astype("str") != member_name).fillna(False)
        out.append(ctx.emit("household.head_name_mismatch", hh, bad, "head_name", lambda sub: (
            "户主姓名 " + fmt_text(sub["head_name"]) + "，与户主关系为“户主”的成员为 " + member_name[sub.index].astype("str"))))
    if ctx.head_ids is not None and ctx.ids is not None and ctx.has("head_id_number", "household"):
        member_id = ctx.per_household(ctx.ids["normalised"].where(is_head & ctx.ids["valid"]), "first")
        head_id = ctx.head_ids["normalised"].where(ctx.head_ids["valid"])
        bad = one & head_id.notna() & member_id.notna() & (head_id != member_id).fillna(False)
        out.append(ctx.emit("household.head_id_mismatch", hh, bad, "head_id_number", lambda sub: (
            "户主证件号码 " + idnumber.mask_series(head_id[sub.index]).to_numpy()
            + "，户主成员的证件号码为 " + idnumber.mask_series(member_id[sub.index]).to_numpy())))
    return out


CHECK_FUNCTIONS = [duplicate_household_ids, household_size, heads_and_spouses]
