"""Members: relation vs sex, age vs school stage, labour and work (domain.md §5.4 逻辑/劳动力/务工)."""

from __future__ import annotations

import pandas as pd

from fupin_cli.checks.context import NO_LABOUR, NOT_STUDENT, WORK_PLACES, CheckContext, fmt_num, fmt_text, lookup, num

MALE_RELATIONS = ("之子", "之女婿", "之孙子", "之外孙子", "之父", "之岳父", "之公公", "之祖父", "之外祖父")
FEMALE_RELATIONS = ("之女", "之儿媳", "之孙女", "之外孙女", "之母", "之岳母", "之婆婆", "之祖母", "之外祖母")

# plausible ages (on 31 Dec) per 在校生状况: (youngest, oldest); None = no limit
SCHOOL_AGES: dict[str, tuple[int | None, int | None]] = {
    "学前教育": (2, 7),
    "小学": (5, 19),  # ≥ 20 in primary school or below is a national 疑点
    **{g: (10, 24) for g in ("七年级", "八年级", "九年级")},
    **{f"{s}{n}年级": (15, 29) for s in ("高中", "中职") for n in "一二三"},  # ≤ 14 in senior secondary: 疑点
    **{f"高职{n}年级": (16, None) for n in "一二三"},
    "大专及以上": (16, None),
}
# fallbacks for `validate --no-pack` only: with a pack, the ages are its parameters
# (compulsory_age_min/max, working_age_min/max), so validate and exit read the same values
COMPULSORY_AGES = (7, 14)
FINISHED_COMPULSORY = ("初中", "高中", "大专及以上")
WORKING_AGES = (16, 65)


def compulsory_ages(ctx: CheckContext) -> tuple[int, int]:
    return ctx.param("compulsory_age_min", COMPULSORY_AGES[0]), ctx.param("compulsory_age_max", COMPULSORY_AGES[1])


def working_ages(ctx: CheckContext) -> tuple[int, int]:
    return ctx.param("working_age_min", WORKING_AGES[0]), ctx.param("working_age_max", WORKING_AGES[1])
MAX_AGE = 110


def _str(m: pd.DataFrame, name: str) -> pd.Series:
    return m[name].astype("str")


def relation_vs_sex(ctx: CheckContext) -> list[pd.DataFrame]:
    m = ctx.members
    if not len(m) or "relation" not in m.columns:
        return []
    rel, sex = _str(m, "relation"), ctx.sex
    bad = (rel.isin(MALE_RELATIONS) & (sex == "女")) | (rel.isin(FEMALE_RELATIONS) & (sex == "男"))
    field = "relation"
    return [ctx.emit("member.relation_sex", m, bad.fillna(False), field,
                     lambda sub: "与户主关系 " + rel[sub.index] + "，性别 " + sex[sub.index])]


def age_checks(ctx: CheckContext) -> list[pd.DataFrame]:
    m = ctx.members
    if not len(m):
        return []
    ages = ctx.ages
    field = "birth_date" if "birth_date" in m.columns else "id_number"
    out = [ctx.emit("member.age_invalid", m, (ages < 0) | (ages > MAX_AGE), field,
                    lambda sub: f"按出生日期计算，{ctx.year} 年底年龄为 " + ages[sub.index].astype("int64").astype(str) + " 岁")]
    if "school_status" not in m.columns:
        return out
    school = _str(m, "school_status")
    lo = lookup(school, {k: v[0] for k, v in SCHOOL_AGES.items()})
    hi = lookup(school, {k: v[1] for k, v in SCHOOL_AGES.items()})
    bad = ages.notna() & (ages >= 0) & ((ages < lo) | (ages > hi)).fillna(False)
    out.append(ctx.emit("member.age_school", m, bad, "school_status", lambda sub: (
        ages[sub.index].astype("int64").astype(str) + " 岁，在校生状况为 " + school[sub.index])))
    c_lo, c_hi = compulsory_ages(ctx)
    finished = _str(m, "education").isin(FINISHED_COMPULSORY).fillna(False) if "education" in m.columns else False
    bad = ages.between(c_lo, c_hi) & (school == NOT_STUDENT).fillna(False) & ~finished
    out.append(ctx.emit("member.compulsory_not_in_school", m, bad, "school_status",
                        lambda sub: ages[sub.index].astype("int64").astype(str) + " 岁，在校生状况为非在校生"))
    return out


def labour_checks(ctx: CheckContext) -> list[pd.DataFrame]:
    m = ctx.members
    if not len(m) or "labour" not in m.columns or "health" not in m.columns:
        return []
    ages, labour, health = ctx.ages, _str(m, "labour"), _str(m, "health")
    student = (_str(m, "school_status") != NOT_STUDENT).fillna(False) if "school_status" in m.columns else False
    lo, hi = working_ages(ctx)
    no_labour = (labour == "丧失劳动力") | ((labour == "无劳动力") & ~student)
    bad = ages.between(lo, hi) & (health == "健康").fillna(False) & no_labour.fillna(False)
    return [ctx.emit("member.healthy_no_labour", m, bad, "labour", lambda sub: (
        ages[sub.index].astype("int64").astype(str) + " 岁，健康状况 健康，劳动技能 " + labour[sub.index]))]


def work_checks(ctx: CheckContext) -> list[pd.DataFrame]:
    m = ctx.members
    out: list[pd.DataFrame] = []
    if not len(m):
        return out
    months = num(m["work_months"]) if "work_months" in m.columns else None
    place = _str(m, "work_status").isin(WORK_PLACES).fillna(False) if "work_status" in m.columns else None
    if months is not None:
        out.append(ctx.emit("member.work_months_range", m, (months < 0) | (months > 12), "work_months",
                            lambda sub: "务工时间 " + fmt_num(sub["work_months"]) + " 个月"))
    if months is not None and place is not None:
        out.append(ctx.emit("member.work_no_months", m, place & (months == 0), "work_months",
                            lambda sub: "务工状况 " + fmt_text(sub["work_status"]) + "，务工时间 0 个月"))
    if "labour" in m.columns and (place is not None or months is not None):
        working = (place if place is not None else False) | ((months > 0).fillna(False) if months is not None else False)
        labour = _str(m, "labour")
        bad = labour.isin(NO_LABOUR).fillna(False) & working
        field = "work_status" if place is not None else "work_months"
        out.append(ctx.emit("member.work_no_labour", m, bad, field, lambda sub: (
            "劳动技能 " + labour[sub.index] + "，但"
            + (("务工状况 " + fmt_text(sub["work_status"])) if place is not None else ("务工 " + fmt_num(sub["work_months"]) + " 个月")))))
    return out


CHECK_FUNCTIONS = [relation_vs_sex, age_checks, labour_checks, work_checks]
