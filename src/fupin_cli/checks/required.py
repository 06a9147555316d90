"""Required columns and values (schema.REQUIRED_*, domain.md §5.4 "必填项为空")."""

from __future__ import annotations

import pandas as pd

from fupin_cli.checks.context import NOT_STUDENT, CheckContext
from fupin_cli.schema import FIELDS, REQUIRED_HOUSEHOLD_FIELDS, REQUIRED_MEMBER_FIELDS, label

# required only for some ages (§5.4): field → (min age, max age); unknown age counts as required
# for fields in REQUIRED_MEMBER_FIELDS, and as not required otherwise
AGE_LIMITED = {"labour": (16, 65), "school_status": (6, 23)}
RECOMMENDED_MEMBER = ("ethnicity",)


def blank(s: pd.Series) -> pd.Series:
    """Missing or only spaces."""
    if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        return s.isna() | (s.astype("str").str.strip() == "").fillna(True)
    return s.isna()


def _is_member_roster(ctx: CheckContext) -> bool:
    return len(ctx.members) > 0


def missing_columns(ctx: CheckContext) -> list[pd.DataFrame]:
    """One finding per required column the source does not have."""
    fields = [(f, "household") for f in REQUIRED_HOUSEHOLD_FIELDS]
    if _is_member_roster(ctx):
        fields += [(f, "member") for f in REQUIRED_MEMBER_FIELDS]
    out = []
    for name, level in fields:
        if not ctx.has(name, level):
            out.append(ctx.emit_columnless(
                "required.column", f"缺少必填列“{label(name)}”（{name}），相关检查已跳过", column=label(name)))
    return out


def _value_message(name: str, extra: str = ""):
    return f"{FIELDS[name].zh}为空{extra}"


def missing_values(ctx: CheckContext) -> list[pd.DataFrame]:
    out = []
    hh, m = ctx.households, ctx.members
    for name in REQUIRED_HOUSEHOLD_FIELDS:
        if name in hh.columns and ctx.has(name, "household"):
            out.append(ctx.emit("required.value", hh, blank(hh[name]), name, _value_message(name)))
    if not _is_member_roster(ctx):
        return out
    ages = ctx.ages
    for name in REQUIRED_MEMBER_FIELDS:
        if name not in m.columns or not ctx.has(name, "member"):
            continue
        mask = blank(m[name])
        extra = ""
        if name in AGE_LIMITED:
            lo, hi = AGE_LIMITED[name]
            mask &= ages.between(lo, hi) | ages.isna()
            extra = f"（{lo}–{hi} 岁应填）"
        out.append(ctx.emit("required.value", m, mask, name, _value_message(name, extra)))
    if "school_status" in m.columns and ctx.has("school_status", "member"):
        lo, hi = AGE_LIMITED["school_status"]
        mask = blank(m["school_status"]) & ages.between(lo, hi)
        out.append(ctx.emit("required.value", m, mask, "school_status", lambda sub: (
            "在校生状况为空（" + ages[sub.index].astype("int64").astype(str) + f" 岁，{lo}–{hi} 岁应填）")))
    return out


def recommended_values(ctx: CheckContext) -> list[pd.DataFrame]:
    """Values the national system requires but fupin does not need (warnings)."""
    out = []
    m, hh = ctx.members, ctx.households
    if _is_member_roster(ctx):
        for name in RECOMMENDED_MEMBER:
            if name in m.columns and ctx.has(name, "member"):
                out.append(ctx.emit("recommended.value", m, blank(m[name]), name, _value_message(name)))
        if "education" in m.columns and ctx.has("education", "member"):
            not_student = (m["school_status"].astype("str") == NOT_STUDENT).fillna(True) if "school_status" in m.columns else True
            mask = blank(m["education"]) & not_student
            out.append(ctx.emit("recommended.value", m, mask, "education", "文化程度为空（非在校生应填）"))
        if "health" in m.columns and "disability_cert" in m.columns and ctx.has("disability_cert", "member"):
            has_cert = ~blank(m["disability_cert"])
            if ctx.ids is not None:
                has_cert |= ctx.ids["kind"] == "disability"
            mask = (m["health"].astype("str") == "残疾").fillna(False) & ~has_cert
            out.append(ctx.emit("required.disability_cert", m, mask, "disability_cert", "健康状况为残疾，但残疾证号为空"))
    if "recorded_primary_cause" in hh.columns and "recorded_attribute" in hh.columns and ctx.has("recorded_primary_cause", "household"):
        attr = hh["recorded_attribute"].astype("str")
        poor = attr.notna() & (attr != "一般农户")
        mask = blank(hh["recorded_primary_cause"]) & poor
        out.append(ctx.emit("recommended.value", hh, mask, "recorded_primary_cause", lambda sub: (
            "主要致贫原因为空（贫困户属性 " + attr[sub.index].astype("str") + "）")))
    return out


CHECK_FUNCTIONS = [missing_columns, missing_values, recommended_values]
