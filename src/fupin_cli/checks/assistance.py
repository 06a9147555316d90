"""低保 / 特困供养 (五保) consistency between the household, its members and the benefits."""

from __future__ import annotations

import pandas as pd

from fupin_cli.checks.context import WORKING_LABOUR, CheckContext, as_bool, fmt_num, num
from fupin_cli.checks.context import flag as to_flag
from fupin_cli.checks.members import working_ages


def _status(ctx: CheckContext, flag: str, word: str) -> tuple[pd.Series, pd.Series, str] | None:
    """(is, is known not, field used): from the 是否低保户/特困户 flag, else from 贫困户属性."""
    hh = ctx.households
    if flag in hh.columns and ctx.has(flag, "household"):
        v = to_flag(hh[flag])
        return v.fillna(False).astype(bool), (v == False).fillna(False).astype(bool), flag  # noqa: E712
    if "recorded_attribute" in hh.columns and ctx.has("recorded_attribute", "household"):
        attr = hh["recorded_attribute"].astype("str")
        has = attr.str.contains(word, regex=False)
        return has.fillna(False).astype(bool), (attr.notna() & ~has.fillna(False)).astype(bool), "recorded_attribute"
    return None


def _members_on(ctx: CheckContext, name: str) -> pd.Series | None:
    m = ctx.members
    if not len(m) or name not in m.columns or not ctx.has(name, "member"):
        return None
    return ctx.per_household(as_bool(m[name]), "sum").astype("int64")


def _consistency(ctx: CheckContext, flag: str, word: str, member_flag: str, none_check: str, reverse_check: str | None):
    st = _status(ctx, flag, word)
    on = _members_on(ctx, member_flag)
    if st is None or on is None:
        return []
    is_, is_not, field = st
    hh, has_members = ctx.households, ctx.member_count > 0
    member_label = "享受低保" if word == "低保" else "特困供养"
    out = [ctx.emit(none_check, hh, is_ & has_members & (on == 0), field, f"本户为{word}户，但没有成员{member_label}")]
    if reverse_check:
        out.append(ctx.emit(reverse_check, hh, is_not & (on > 0), field,
                            lambda sub: "有 " + on[sub.index].astype(str) + f" 名成员{member_label}，但本户不是{word}户"))
    return out


def dibao(ctx: CheckContext) -> list[pd.DataFrame]:
    return _consistency(ctx, "dibao_household", "低保", "on_dibao", "assist.dibao_no_member", "assist.member_dibao_not_household")


def tekun(ctx: CheckContext) -> list[pd.DataFrame]:
    out = _consistency(ctx, "tekun_household", "特困", "on_tekun", "assist.tekun_no_member", None)
    st, m = _status(ctx, "tekun_household", "特困"), ctx.members
    if st is None or not len(m) or not {"health", "labour"} <= set(m.columns):
        return out
    lo, hi = working_ages(ctx)
    ages = ctx.ages
    labourer = (m["health"].astype("str") == "健康").fillna(False) & m["labour"].astype("str").isin(WORKING_LABOUR).fillna(False)
    labourer &= ages.between(lo, hi)
    in_tekun = ctx.to_members(st[0]).fillna(False).astype(bool)
    out.append(ctx.emit("assist.tekun_labourer", m, labourer & in_tekun, "labour", lambda sub: (
        "特困供养户成员 " + ages[sub.index].astype("int64").astype(str) + " 岁，健康，" + m.loc[sub.index, "labour"].astype("str"))))
    return out


def benefits(ctx: CheckContext) -> list[pd.DataFrame]:
    hh, out = ctx.households, []
    d = num(hh["dibao_benefit"]) if "dibao_benefit" in hh.columns else None
    t = num(hh["tekun_benefit"]) if "tekun_benefit" in hh.columns else None
    if d is not None and t is not None:
        out.append(ctx.emit("assist.both_benefits", hh, (d > 0) & (t > 0), "tekun_benefit",
                            lambda sub: "低保金 " + fmt_num(d[sub.index]) + "，特困供养金 " + fmt_num(t[sub.index])))
    for amount, flag, word, check in ((d, "dibao_household", "低保", "assist.dibao_no_benefit"),
                                      (t, "tekun_household", "特困", "assist.tekun_no_benefit")):
        st = _status(ctx, flag, word)
        if amount is not None and st is not None:
            name = "dibao_benefit" if word == "低保" else "tekun_benefit"
            label = "低保金" if word == "低保" else "特困供养金"
            out.append(ctx.emit(check, hh, st[0] & (amount == 0).fillna(False), name, f"本户为{word}户，{label}为 0"))
    return out


CHECK_FUNCTIONS = [dibao, tekun, benefits]
