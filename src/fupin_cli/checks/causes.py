"""Recorded 致贫原因 against the members (national cause-consistency checks, domain.md §3)."""

from __future__ import annotations

import re

import pandas as pd

from fupin_cli.checks.context import NOT_STUDENT, WORKING_LABOUR, CheckContext
from fupin_cli.checks.members import working_ages
from fupin_cli.schema import canonical_value

SEPARATORS = r"[、,，;；/|\s]+"
SHORTAGE_LABOURERS = 2


def member_causes(ctx: CheckContext) -> list[pd.DataFrame]:
    hh, m = ctx.households, ctx.members
    if "recorded_primary_cause" not in hh.columns or not len(m):
        return []
    cause = hh["recorded_primary_cause"].astype("str")
    has_members = ctx.member_count > 0
    out = []
    field = "recorded_primary_cause"
    if "health" in m.columns:
        health = m["health"].astype("str")
        known = ctx.per_household(health.notna(), "sum")
        healthy = ctx.per_household((health == "健康").fillna(False), "sum")
        all_healthy = has_members & (known == ctx.member_count) & (healthy == ctx.member_count)
        out.append(ctx.emit("cause.ill_all_healthy", hh, (cause == "因病") & all_healthy, field,
                            "主要致贫原因为因病，但成员健康状况均为健康"))
        disabled = ctx.per_household((health == "残疾").fillna(False), "sum")
        no_disabled = has_members & (known == ctx.member_count) & (disabled == 0)
        if "disability_cert" in m.columns:
            no_disabled &= ctx.per_household(m["disability_cert"].notna(), "sum") == 0
        out.append(ctx.emit("cause.disabled_nobody", hh, (cause == "因残") & no_disabled, field,
                            "主要致贫原因为因残，但没有残疾成员"))
    if "school_status" in m.columns:
        school = m["school_status"].astype("str")
        students = ctx.per_household((school.notna() & (school != NOT_STUDENT)).fillna(False), "sum")
        known = ctx.per_household(school.notna(), "sum")
        none = has_members & (known == ctx.member_count) & (students == 0)
        out.append(ctx.emit("cause.study_no_student", hh, (cause == "因学") & none, field,
                            "主要致贫原因为因学，但没有在校生"))
    if "health" in m.columns and "labour" in m.columns:
        ages = ctx.ages
        lo, hi = working_ages(ctx)
        able = (m["health"].astype("str") == "健康").fillna(False) & m["labour"].astype("str").isin(WORKING_LABOUR).fillna(False)
        able &= ages.between(lo, hi) | ages.isna()
        n_able = ctx.per_household(able, "sum").astype("int64")
        bad = (cause == "缺劳力") & (n_able >= SHORTAGE_LABOURERS)
        out.append(ctx.emit("cause.labour_shortage_with_labourers", hh, bad, field, lambda sub: (
            "主要致贫原因为缺劳力，但有 " + n_able[sub.index].astype(str) + f" 名 {lo}–{hi} 岁健康劳动力")))
    return out


def _split_canonical(text: object) -> list[str]:
    if text is None or (isinstance(text, float) and text != text):
        return []
    parts = [p for p in re.split(SEPARATORS, str(text)) if p]
    return [canonical_value("cause", p) or p for p in parts]


def secondary_repeats_primary(ctx: CheckContext) -> list[pd.DataFrame]:
    hh = ctx.households
    if not {"recorded_primary_cause", "recorded_secondary_causes"} <= set(hh.columns):
        return []
    primary = hh["recorded_primary_cause"].astype("str")
    secondary = hh["recorded_secondary_causes"].astype("str")
    candidates = primary.notna() & secondary.notna() & secondary.str.contains(r"\S", regex=True).fillna(False)
    if not candidates.any():
        return []
    sub = pd.DataFrame({"p": primary[candidates], "s": secondary[candidates]})
    # few distinct (primary, secondary) pairs: decide each pair once
    pairs = sub.drop_duplicates()
    pairs = pairs.assign(bad=[p in _split_canonical(s) for p, s in zip(pairs["p"], pairs["s"])])
    bad = sub.merge(pairs, on=["p", "s"], how="left")["bad"].to_numpy()
    mask = pd.Series(False, index=hh.index)
    mask[sub.index] = bad
    return [ctx.emit("cause.secondary_repeats_primary", hh, mask, "recorded_secondary_causes", lambda s: (
        "其他致贫原因 " + secondary[s.index] + " 含主要致贫原因 " + primary[s.index]))]


CHECK_FUNCTIONS = [member_causes, secondary_repeats_primary]
