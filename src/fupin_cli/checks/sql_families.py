"""The SQL versions of the built-in check functions (``checks/*.py``), used by :mod:`fupin_cli.checks.sql`.

Each function here takes :class:`~fupin_cli.checks.sql.Relations` and returns the :class:`~fupin_cli.checks.sql.Emit`
rows (or ready frames, for findings not tied to a row) of the pandas function it stands for, in that
function's emission order, with the same conditions and message texts; :data:`SQL_VERSIONS` pairs them.
:func:`prepare` builds the two relations they read: ``__ck_m`` (members + ID verdicts, age, sex, their
household's position) and ``__ck_h`` (households + head ID verdicts + member aggregates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from fupin_cli.checks import assistance, causes, exited, household, ids, income, members, required
from fupin_cli.checks.context import NO_LABOUR, NOT_STUDENT, WORK_PLACES, WORKING_LABOUR
from fupin_cli.checks.sql import (
    CK_H,
    CK_M,
    HH,
    MEM,
    Emit,
    Relations,
    fmt_num,
    fmt_text,
    int_text,
    lit,
    mask,
    num_lit,
    q,
    text,
)
from fupin_cli.checks.sql_ids import id_table
from fupin_cli.schema import (
    FALSE_WORDS,
    FIELDS,
    REQUIRED_HOUSEHOLD_FIELDS,
    REQUIRED_MEMBER_FIELDS,
    SOURCE_FILE,
    SOURCE_SHEET,
    TRUE_WORDS,
    label,
)


def _in(expr: str, values: Any) -> str:
    return f"{expr} IN ({', '.join(lit(v) for v in values)})"


def _eq(expr: str, value: str) -> str:
    """``(s == value).fillna(False)``."""
    return f"coalesce({text(expr)} = {lit(value)}, false)"


def prepare(rel: Relations) -> None:
    con = rel.con
    has_ids = "id_number" in rel.mcols and rel.n_members > 0
    has_hids = "head_id_number" in rel.hcols
    rel.has_ids, rel.has_hids = has_ids, has_hids  # type: ignore[attr-defined]
    if has_ids:
        id_table(con, "__ck_ids", MEM, "__mrow", "id_number", rel.ref_date)
    if has_hids:
        id_table(con, "__ck_hids", HH, "__row", "head_id_number", rel.ref_date)
    idc = ("normalised", "valid", "problem", "birth_date", "sex", "kind", "upgraded", "message")
    if rel.n_members:
        years = "CAST(NULL AS DOUBLE)"
        if "birth_date" in rel.mcols:
            years = "CAST(year(m.birth_date) AS DOUBLE)"
        if has_ids:
            years = f"coalesce({years}, CAST(year(i.birth_date) AS DOUBLE))"
        sex = text("m.sex") if "sex" in rel.mcols else "CAST(NULL AS VARCHAR)"
        if has_ids:
            sex = f"coalesce({sex}, CASE WHEN i.valid THEN i.sex END)"
        hpos = ("f.__hpos" if "household_id" in rel.hcols and "household_id" in rel.mcols else "CAST(NULL AS BIGINT)")
        join_f = ("LEFT JOIN (SELECT CAST(household_id AS VARCHAR) AS __k, min(__row) AS __hpos FROM __hh WHERE household_id IS NOT NULL "
                  "GROUP BY 1) AS f ON f.__k = CAST(m.household_id AS VARCHAR)") if hpos != "CAST(NULL AS BIGINT)" else ""
        id_cols = "".join(f", i.{c} AS id_{c}" for c in idc) if has_ids else ""
        join_i = "LEFT JOIN __ck_ids AS i ON i.pos = m.__mrow" if has_ids else ""
        inner = (f"SELECT m.*{id_cols}, {rel.year} - {years} AS __age, {sex} AS __sex, {hpos} AS __hpos "
                 f"FROM {MEM} AS m {join_f} {join_i}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {CK_M} AS {inner}")
    aggs = ["count(*) AS __n"]
    if rel.n_members:
        rel_ = text("relation") if "relation" in rel.mcols else "NULL"
        aggs += [f"count(*) FILTER (WHERE {rel_} = '户主') AS __heads", f"count(*) FILTER (WHERE {rel_} = '配偶') AS __spouses"]
        if "name" in rel.mcols:
            aggs.append(f"arg_min({text('name')}, __mrow) FILTER (WHERE {rel_} = '户主' AND name IS NOT NULL) AS __head_member_name")
        if has_ids:
            aggs.append(f"arg_min(id_normalised, __mrow) FILTER (WHERE {rel_} = '户主' AND id_valid AND id_normalised IS NOT NULL) AS __head_member_id")
        aggs.append(f"arg_min(__sex, __mrow) FILTER (WHERE {rel_} = '户主') AS __head_sex")
        for name, cond in _member_flags(rel).items():
            aggs.append(f"count(*) FILTER (WHERE {cond}) AS {q(name)}")
        agg_sql = f"(SELECT __hpos, {', '.join(aggs)} FROM {CK_M} WHERE __hpos IS NOT NULL GROUP BY __hpos) AS a"
    else:
        agg_sql = "(SELECT CAST(NULL AS BIGINT) AS __hpos, CAST(0 AS BIGINT) AS __n, 0 AS __heads, 0 AS __spouses) AS a"
    hid_cols = "".join(f", i.{c} AS hid_{c}" for c in idc) if has_hids else ""
    join_hi = "LEFT JOIN __ck_hids AS i ON i.pos = h.__row" if has_hids else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CK_H} AS SELECT h.*{hid_cols}, a.* EXCLUDE (__hpos, __n), coalesce(a.__n, 0) AS __members "
                f"FROM {HH} AS h LEFT JOIN {agg_sql} ON a.__hpos = h.__row {join_hi}")


def _member_flags(rel: Relations) -> dict[str, str]:
    """Per-household counts of members (``ctx.per_household(mask, "sum")``) the checks read."""
    out: dict[str, str] = {}
    if "work_status" in rel.mcols or "work_months" in rel.mcols:
        away, any_work = [], []
        if "work_status" in rel.mcols:
            status = f"trim({text('work_status')})"
            away.append(f"coalesce({_in(status, WORK_PLACES)}, false)")
            any_work.append(f"coalesce({status} IS NOT NULL AND {status} <> '', false)")
        if "work_months" in rel.mcols:
            away.append("coalesce(CAST(work_months AS DOUBLE) > 0, false)")
        a = " OR ".join(away)
        out["__workers"] = a
        out["__any_work"] = " OR ".join([*any_work, f"({a})"])
    for name in ("on_dibao", "on_tekun"):
        if name in rel.mcols:
            out[f"__{name}"] = f"coalesce({_flag(rel, name)}, false)"
    lo, hi = rel.param("working_age_min", members.WORKING_AGES[0]), rel.param("working_age_max", members.WORKING_AGES[1])
    if "health" in rel.mcols:
        out.update({"__known_health": "health IS NOT NULL", "__healthy": _eq("health", "健康"), "__disabled": _eq("health", "残疾")})
        if "labour" in rel.mcols:
            out["__able"] = (f"{_eq('health', '健康')} AND coalesce({_in(text('labour'), WORKING_LABOUR)}, false) "
                             f"AND (__age BETWEEN {num_lit(lo)} AND {num_lit(hi)} OR __age IS NULL)")
    if "disability_cert" in rel.mcols:
        out["__certs"] = "disability_cert IS NOT NULL"
    drop = [f"coalesce({_flag(rel, 'dropout')}, false)"] if "dropout" in rel.mcols else []
    if "school_status" in rel.mcols:
        c_lo, c_hi = rel.param("compulsory_age_min", members.COMPULSORY_AGES[0]), rel.param("compulsory_age_max", members.COMPULSORY_AGES[1])
        finished = f"coalesce({_in(text('education'), members.FINISHED_COMPULSORY)}, false)" if "education" in rel.mcols else "false"
        drop.append(f"(__age BETWEEN {num_lit(c_lo)} AND {num_lit(c_hi)} AND {_eq('school_status', NOT_STUDENT)} AND NOT {finished})")
    if drop:
        out["__dropouts"] = " OR ".join(drop)
    if "health" in rel.mcols and "critical_illness_insurance" in rel.mcols:
        out["__uninsured"] = (f"coalesce({_in(text('health'), exited.SICK)}, false) "
                              f"AND coalesce({_flag(rel, 'critical_illness_insurance')} = false, false)")
    if "school_status" in rel.mcols:
        out.update({"__known_school": "school_status IS NOT NULL",
                    "__students": f"coalesce(school_status IS NOT NULL AND {text('school_status')} <> {lit(NOT_STUDENT)}, false)"})
    return out


def _flag(rel: Relations, name: str) -> str:
    """``checks.context.flag``: BOOLEAN from a typed or text (是/否/√/1/0...) column; unknown → NULL."""
    kind = rel.kind(name)
    if kind == "bool":
        return f"CAST({q(name)} AS BOOLEAN)"
    if kind in ("int", "float", "money"):
        return f"(CAST({q(name)} AS DOUBLE) <> 0)"
    key = f"lower(trim({text(q(name))}))"
    return (f"CASE WHEN {_in(key, sorted(TRUE_WORDS))} THEN true WHEN {_in(key, sorted(FALSE_WORDS))} THEN false END")


# ---------------------------------------------------------------------------------------
# required.py
# ---------------------------------------------------------------------------------------
def _blank(rel: Relations, name: str) -> str:
    if rel.kind(name) in ("str", "code"):
        return f"({q(name)} IS NULL OR regexp_full_match({text(q(name))}, '[\\s\\x{{3000}}\\x{{a0}}]*'))"
    return f"({q(name)} IS NULL)"


def _columnless(rel: Relations, check: str, message: str, column: str) -> pd.DataFrame:
    from fupin_cli.checks.catalog import CHECKS
    from fupin_cli.findings import FINDING_COLUMNS

    info = CHECKS[check]
    return pd.DataFrame([{"severity": info.severity, "check": check, "file": rel.default_file, "sheet": "", "row": pd.NA,
                          "column": column, "household_id": "", "message": message, "hint": info.hint}], columns=FINDING_COLUMNS)


def missing_columns(rel: Relations) -> list[Any]:
    fields = [(f, "household") for f in REQUIRED_HOUSEHOLD_FIELDS]
    if rel.n_members:
        fields += [(f, "member") for f in REQUIRED_MEMBER_FIELDS]
    return [_columnless(rel, "required.column", f"缺少必填列“{label(n)}”（{n}），相关检查已跳过", label(n))
            for n, level in fields if not rel.has(n, level)]


def missing_values(rel: Relations) -> list[Any]:
    out: list[Any] = []
    for name in REQUIRED_HOUSEHOLD_FIELDS:
        if rel.in_frame(name, "household") and rel.has(name, "household"):
            out.append(Emit("required.value", "h", _blank(rel, name), name, lit(f"{FIELDS[name].zh}为空")))
    if not rel.n_members:
        return out
    for name in REQUIRED_MEMBER_FIELDS:
        if not rel.in_frame(name, "member") or not rel.has(name, "member"):
            continue
        where, extra = _blank(rel, name), ""
        if name in required.AGE_LIMITED:
            lo, hi = required.AGE_LIMITED[name]
            where += f" AND (__age BETWEEN {lo} AND {hi} OR __age IS NULL)"
            extra = f"（{lo}–{hi} 岁应填）"
        out.append(Emit("required.value", "m", where, name, lit(f"{FIELDS[name].zh}为空{extra}")))
    if rel.in_frame("school_status", "member") and rel.has("school_status", "member"):
        lo, hi = required.AGE_LIMITED["school_status"]
        out.append(Emit("required.value", "m", f"{_blank(rel, 'school_status')} AND __age BETWEEN {lo} AND {hi}", "school_status",
                        f"'在校生状况为空（' || {int_text('__age')} || ' 岁，{lo}–{hi} 岁应填）'"))
    return out


def recommended_values(rel: Relations) -> list[Any]:
    out: list[Any] = []
    if rel.n_members:
        for name in required.RECOMMENDED_MEMBER:
            if rel.in_frame(name, "member") and rel.has(name, "member"):
                out.append(Emit("recommended.value", "m", _blank(rel, name), name, lit(f"{FIELDS[name].zh}为空")))
        if rel.in_frame("education", "member") and rel.has("education", "member"):
            # as required.recommended_values computes it: on the reader's text dtype a missing value == anything is
            # False (its .fillna(True) never fills), so a member without 在校生状况 is not asked for 文化程度
            not_student = _eq("school_status", NOT_STUDENT) if rel.in_frame("school_status", "member") else "true"
            out.append(Emit("recommended.value", "m", f"{_blank(rel, 'education')} AND {not_student}", "education",
                            lit("文化程度为空（非在校生应填）")))
        if rel.in_frame("health", "member") and rel.in_frame("disability_cert", "member") and rel.has("disability_cert", "member"):
            has_cert = f"NOT {_blank(rel, 'disability_cert')}"
            if getattr(rel, "has_ids", False):
                has_cert = f"({has_cert} OR coalesce(id_kind = 'disability', false))"
            out.append(Emit("required.disability_cert", "m", f"{_eq('health', '残疾')} AND NOT {has_cert}", "disability_cert",
                            lit("健康状况为残疾，但残疾证号为空")))
    if (rel.in_frame("recorded_primary_cause", "household") and rel.in_frame("recorded_attribute", "household")
            and rel.has("recorded_primary_cause", "household")):
        attr = text("recorded_attribute")
        out.append(Emit("recommended.value", "h", f"{_blank(rel, 'recorded_primary_cause')} AND {attr} IS NOT NULL AND {attr} <> '一般农户'",
                        "recorded_primary_cause", f"'主要致贫原因为空（贫困户属性 ' || {attr} || '）'"))
    return out


# ---------------------------------------------------------------------------------------
# ids.py
# ---------------------------------------------------------------------------------------
def id_problems(rel: Relations) -> list[Any]:
    out: list[Any] = []
    for level, prefix, field, present in (("m", "id_", "id_number", getattr(rel, "has_ids", False)),
                                          ("h", "hid_", "head_id_number", getattr(rel, "has_hids", False))):
        if not present:
            continue
        for code in ids.ID_PROBLEMS:
            out.append(Emit(f"id.{code}", level, f"{prefix}problem = {lit(code)}", field, f"{prefix}message"))
    return out


def id_agreement(rel: Relations) -> list[Any]:
    if not getattr(rel, "has_ids", False):
        return []
    out: list[Any] = []
    if rel.in_frame("sex", "member"):
        sex = text("sex")
        out.append(Emit("id.sex_mismatch", "m", f"id_valid AND {sex} IS NOT NULL AND id_sex IS NOT NULL AND {sex} <> id_sex", "sex",
                        f"'性别 ' || {fmt_text('sex')} || '，证件号码 ' || {mask('id_normalised')} || ' 为' || id_sex"))
    if rel.in_frame("birth_date", "member"):
        rec, idb = "CAST(birth_date AS TIMESTAMP)", "id_birth_date"
        same = (f"({rec} = {idb} OR (year({rec}) = year({idb}) AND month({rec}) = month({idb}) AND day({rec}) = 1))")
        out.append(Emit("id.birth_mismatch", "m", f"id_valid AND {rec} IS NOT NULL AND {idb} IS NOT NULL AND NOT coalesce({same}, false)",
                        "birth_date", f"'出生日期 ' || strftime({rec}, '%Y-%m-%d') || '，证件号码 ' || {mask('id_normalised')} || ' 为 ' "
                        f"|| strftime({idb}, '%Y-%m-%d')"))
    return out


def duplicate_persons(rel: Relations) -> list[Any]:
    """The same ID in two households, or twice in one (ids.duplicate_persons): members, else the households' heads."""
    from fupin_cli.schema import SOURCE_ROW

    if getattr(rel, "has_ids", False):
        level, table, prefix, field, pos, cols = "m", CK_M, "id_", "id_number", "__mrow", rel.mcols
    elif getattr(rel, "has_hids", False) and rel.con.sql(f"SELECT count(*) FROM {HH}").fetchall()[0][0]:
        level, table, prefix, field, pos, cols = "h", CK_H, "hid_", "head_id_number", "__row", rel.hcols
    else:
        return []
    if "household_id" not in cols:
        return []
    key, hid = f"{prefix}normalised", text("household_id")
    usable = f"{key} IS NOT NULL AND {prefix}problem NOT IN ('missing', 'excel_number')"
    row = text(q(SOURCE_ROW)) if SOURCE_ROW in cols else f"CAST({pos} + 1 AS VARCHAR)"
    dup = f"(SELECT {key} AS k FROM {table} WHERE {usable} GROUP BY 1 HAVING count(*) > 1)"
    rows = f"(SELECT {key} AS k, {hid} AS h, {pos} AS p, {row} AS r FROM {table} WHERE {usable} AND {key} IN {dup})"
    # per ID: its households in order of first appearance, when more than one
    across = (f"(SELECT k, string_agg(h, '、' ORDER BY p0) AS lst FROM (SELECT k, h, min(p) AS p0 FROM {rows} GROUP BY k, h) "
              f"GROUP BY k HAVING count(h) > 1)")
    # per ID and household: its rows, when more than one
    within = f"(SELECT k, h, string_agg(r, '、' ORDER BY p) AS lst FROM {rows} GROUP BY k, h HAVING count(*) > 1)"
    me = f"{table}.{key}"
    return [
        Emit("id.duplicate_household", level, f"{usable} AND {key} IN (SELECT k FROM {across})", field,
             f"'证件号码 ' || {mask(key)} || ' 登记在多户：' || (SELECT lst FROM {across} AS a WHERE a.k = {me})"),
        Emit("id.duplicate_member", level, f"{usable} AND ({key}, {hid}) IN (SELECT (k, h) FROM {within})", field,
             f"'证件号码 ' || {mask(key)} || ' 在本户重复登记（第 ' || (SELECT lst FROM {within} AS w WHERE w.k = {me} "
             f"AND w.h = {text(table + '.household_id')}) || ' 行）'"),
    ]


# ---------------------------------------------------------------------------------------
# household.py
# ---------------------------------------------------------------------------------------
def household_size(rel: Relations) -> list[Any]:
    if not rel.in_frame("household_size", "household"):
        return []
    k = rel.kind("household_size")
    size = "CAST(household_size AS DOUBLE)"
    out: list[Any] = [Emit("household.size_invalid", "h", f"{size} < 1", "household_size", f"'家庭人口数为 ' || {fmt_num('household_size', k)}")]
    if rel.n_members and rel.in_frame("household_id", "member"):
        out.append(Emit("household.size_mismatch", "h", f"{size} IS NOT NULL AND {size} >= 1 AND {size} <> __members", "household_size",
                        f"'家庭人口数 ' || {fmt_num('household_size', k)} || '，花名册中成员 ' || __members || ' 人'"))
    return out


def heads_and_spouses(rel: Relations) -> list[Any]:
    if not rel.n_members or not rel.in_frame("relation", "member") or not rel.in_frame("household_id", "member"):
        return []
    is_head, is_spouse = _eq("relation", "户主"), _eq("relation", "配偶")

    def of_household(column: str, where: str) -> str:  # ctx.to_members: the member's household's value (few rows ask)
        return f"(SELECT {column} FROM {CK_H} AS hx WHERE hx.__row = {CK_M}.__hpos AND {where})"

    out: list[Any] = [
        Emit("household.no_head", "h", "__members > 0 AND coalesce(__heads, 0) = 0", "relation", lit("本户没有与户主关系为“户主”的成员")),
        Emit("household.multiple_heads", "m", f"{is_head} AND __hpos IN (SELECT __row FROM {CK_H} WHERE __heads > 1)", "relation",
             f"'本户有 ' || {of_household('__heads', 'true')} || ' 名户主'"),
        Emit("household.multiple_spouses", "m", f"{is_spouse} AND __hpos IN (SELECT __row FROM {CK_H} WHERE __spouses > 1)", "relation",
             f"'本户有 ' || {of_household('__spouses', 'true')} || ' 名配偶'"),
    ]
    code = "CASE WHEN {s} = '男' THEN 1 WHEN {s} = '女' THEN 2 ELSE 0 END"
    single = "__heads = 1 AND __spouses = 1"
    out.append(Emit("household.head_spouse_same_sex", "m",
                    f"{is_spouse} AND {code.format(s='__sex')} > 0 AND __hpos IN (SELECT __row FROM {CK_H} WHERE {single}) "
                    f"AND {code.format(s='__sex')} = {of_household(code.format(s='__head_sex'), single)}",
                    "sex" if rel.in_frame("sex", "member") else "id_number", "'户主与配偶性别均为' || __sex"))
    if rel.in_frame("head_name", "household") and rel.in_frame("name", "member") and rel.has("head_name", "household"):
        out.append(Emit("household.head_name_mismatch", "h",
                        f"__heads = 1 AND head_name IS NOT NULL AND __head_member_name IS NOT NULL AND {text('head_name')} <> __head_member_name",
                        "head_name", f"'户主姓名 ' || {fmt_text('head_name')} || '，与户主关系为“户主”的成员为 ' || __head_member_name"))
    if getattr(rel, "has_hids", False) and getattr(rel, "has_ids", False) and rel.has("head_id_number", "household"):
        head_id = "CASE WHEN hid_valid THEN hid_normalised END"
        out.append(Emit("household.head_id_mismatch", "h",
                        f"__heads = 1 AND {head_id} IS NOT NULL AND __head_member_id IS NOT NULL AND {head_id} <> __head_member_id",
                        "head_id_number", f"'户主证件号码 ' || {mask(head_id)} || '，户主成员的证件号码为 ' || {mask('__head_member_id')}"))
    return out


# ---------------------------------------------------------------------------------------
# members.py
# ---------------------------------------------------------------------------------------
def relation_vs_sex(rel: Relations) -> list[Any]:
    if not rel.n_members or not rel.in_frame("relation", "member"):
        return []
    r = text("relation")
    bad = f"(({_in(r, members.MALE_RELATIONS)} AND __sex = '女') OR ({_in(r, members.FEMALE_RELATIONS)} AND __sex = '男'))"
    return [Emit("member.relation_sex", "m", bad, "relation", f"'与户主关系 ' || {r} || '，性别 ' || __sex")]


def _school_limits(which: int) -> str:
    whens = " ".join(f"WHEN {lit(k)} THEN {v[which]}" for k, v in members.SCHOOL_AGES.items() if v[which] is not None)
    return f"CASE {text('school_status')} {whens} END"


def age_checks(rel: Relations) -> list[Any]:
    if not rel.n_members:
        return []
    field = "birth_date" if rel.in_frame("birth_date", "member") else "id_number"
    age = int_text("__age")
    out: list[Any] = [Emit("member.age_invalid", "m", f"(__age < 0 OR __age > {members.MAX_AGE})", field,
                           f"'按出生日期计算，{rel.year} 年底年龄为 ' || {age} || ' 岁'")]
    if not rel.in_frame("school_status", "member"):
        return out
    school = text("school_status")
    out.append(Emit("member.age_school", "m",
                    f"__age IS NOT NULL AND __age >= 0 AND coalesce(__age < {_school_limits(0)} OR __age > {_school_limits(1)}, false)",
                    "school_status", f"{age} || ' 岁，在校生状况为 ' || {school}"))
    c_lo, c_hi = rel.param("compulsory_age_min", members.COMPULSORY_AGES[0]), rel.param("compulsory_age_max", members.COMPULSORY_AGES[1])
    finished = f"coalesce({_in(text('education'), members.FINISHED_COMPULSORY)}, false)" if rel.in_frame("education", "member") else "false"
    out.append(Emit("member.compulsory_not_in_school", "m",
                    f"__age BETWEEN {num_lit(c_lo)} AND {num_lit(c_hi)} AND {_eq('school_status', NOT_STUDENT)} AND NOT {finished}",
                    "school_status", f"{age} || ' 岁，在校生状况为非在校生'"))
    return out


def labour_checks(rel: Relations) -> list[Any]:
    if not rel.n_members or not rel.in_frame("labour", "member") or not rel.in_frame("health", "member"):
        return []
    lo, hi = rel.param("working_age_min", members.WORKING_AGES[0]), rel.param("working_age_max", members.WORKING_AGES[1])
    # as members.labour_checks computes it: on the reader's text dtype a missing value != anything is True (its
    # .fillna(False) never fills), so a member without 在校生状况 counts as a student
    student = f"coalesce({text('school_status')} <> {lit(NOT_STUDENT)}, true)" if rel.in_frame("school_status", "member") else "false"
    lab = text("labour")
    no_labour = f"coalesce({lab} = '丧失劳动力' OR ({lab} = '无劳动力' AND NOT {student}), false)"
    return [Emit("member.healthy_no_labour", "m", f"__age BETWEEN {num_lit(lo)} AND {num_lit(hi)} AND {_eq('health', '健康')} AND {no_labour}",
                 "labour", f"{int_text('__age')} || ' 岁，健康状况 健康，劳动技能 ' || {lab}")]


def work_checks(rel: Relations) -> list[Any]:
    if not rel.n_members:
        return []
    out: list[Any] = []
    has_months, has_place = rel.in_frame("work_months", "member"), rel.in_frame("work_status", "member")
    months = "CAST(work_months AS DOUBLE)"
    place = f"coalesce({_in(text('work_status'), WORK_PLACES)}, false)"
    mk = rel.kind("work_months")
    if has_months:
        out.append(Emit("member.work_months_range", "m", f"({months} < 0 OR {months} > 12)", "work_months",
                        f"'务工时间 ' || {fmt_num('work_months', mk)} || ' 个月'"))
    if has_months and has_place:
        out.append(Emit("member.work_no_months", "m", f"{place} AND {months} = 0", "work_months",
                        f"'务工状况 ' || {fmt_text('work_status')} || '，务工时间 0 个月'"))
    if rel.in_frame("labour", "member") and (has_place or has_months):
        working = " OR ".join([*([place] if has_place else []), *([f"coalesce({months} > 0, false)"] if has_months else [])])
        lab = text("labour")
        what = (f"'务工状况 ' || {fmt_text('work_status')}" if has_place else f"'务工 ' || {fmt_num('work_months', mk)} || ' 个月'")
        out.append(Emit("member.work_no_labour", "m", f"coalesce({_in(lab, NO_LABOUR)}, false) AND ({working})",
                        "work_status" if has_place else "work_months", f"'劳动技能 ' || {lab} || '，但' || {what}"))
    return out


# ---------------------------------------------------------------------------------------
# income.py
# ---------------------------------------------------------------------------------------
def _money(name: str) -> str:
    return f"CAST({q(name)} AS DOUBLE)"


def _fmt(rel: Relations, name: str) -> str:
    return fmt_num(q(name), rel.kind(name))


def negative_values(rel: Relations) -> list[Any]:
    return [Emit("income.negative", "h", f"{_money(n)} < 0", n, f"'{FIELDS[n].zh} ' || {_fmt(rel, n)}")
            for n in (*income.COMPONENTS, income.EXPENSE, *income.TRANSFER_PARTS, "dividend_income") if rel.in_frame(n, "household")]


def net_income(rel: Relations) -> list[Any]:
    if not all(rel.in_frame(c, "household") for c in ("net_income", *income.COMPONENTS, income.EXPENSE)):
        return []
    known = " OR ".join(f"{_money(c)} IS NOT NULL" for c in income.COMPONENTS)
    calc = "(" + " + ".join(f"coalesce({_money(c)}, 0)" for c in income.COMPONENTS) + f") - coalesce({_money(income.EXPENSE)}, 0)"
    net = _money("net_income")
    msg = (f"'纯收入 ' || {_fmt(rel, 'net_income')} || '，按各项计算为 ' || {fmt_num(calc)} || '（工资性 ' || {_fmt(rel, 'wage_income')} "
           f"|| ' + 经营性 ' || {_fmt(rel, 'business_income')} || ' + 财产性 ' || {_fmt(rel, 'property_income')} || ' + 转移性 ' "
           f"|| {_fmt(rel, 'transfer_income')} || ' − 经营支出 ' || {_fmt(rel, income.EXPENSE)} || '）'")
    return [Emit("income.net_mismatch", "h", f"({known}) AND {net} IS NOT NULL AND abs({net} - ({calc})) > {income.NET_TOLERANCE!r}",
                 "net_income", msg)]


def per_capita(rel: Relations) -> list[Any]:
    if not rel.in_frame("income_per_capita", "household"):
        return []
    out: list[Any] = []
    pc = _money("income_per_capita")
    if rel.in_frame("net_income", "household") and rel.in_frame("household_size", "household"):
        size = _money("household_size")
        calc = f"({_money('net_income')} / CASE WHEN {size} > 0 THEN {size} END)"
        tol = f"greatest({income.PC_TOLERANCE!r}, coalesce(abs({calc}) * {income.PC_RELATIVE!r}, 0))"
        out.append(Emit("income.per_capita_mismatch", "h", f"{pc} IS NOT NULL AND {calc} IS NOT NULL AND abs({pc} - {calc}) > {tol}",
                        "income_per_capita",
                        f"'人均纯收入 ' || {_fmt(rel, 'income_per_capita')} || '，纯收入 ' || {_fmt(rel, 'net_income')} || ' ÷ 家庭人口数 ' "
                        f"|| {_fmt(rel, 'household_size')} || ' = ' || {fmt_num(f'(round_even({calc} * 100, 0) / 100)')}"))
    pc_max = rel.param("check_income_pc_max", income.PC_MAX)
    out.append(Emit("income.per_capita_range", "h", f"({pc} <= 0 OR {pc} > {num_lit(pc_max)})", "income_per_capita",
                    f"'人均纯收入 ' || {_fmt(rel, 'income_per_capita')}"))
    return out


def ranges(rel: Relations) -> list[Any]:
    out: list[Any] = []
    has = lambda n: rel.in_frame(n, "household")  # noqa: E731
    if has("business_income") and has(income.EXPENSE):
        out.append(Emit("income.business_no_expense", "h", f"{_money('business_income')} > 0 AND {_money(income.EXPENSE)} = 0", income.EXPENSE,
                        f"'生产经营性收入 ' || {_fmt(rel, 'business_income')} || '，生产经营性支出为 0'"))
    if has("wage_income"):
        small = rel.param("check_wage_income_min", income.WAGE_SMALL)
        w = _money("wage_income")
        out.append(Emit("income.wage_small", "h", f"{w} > 0 AND {w} < {num_lit(small)}", "wage_income",
                        f"'工资性收入 ' || {_fmt(rel, 'wage_income')} || {lit(f' 元（0–{small:g} 元之间）')}"))
    for name, fallback, param in income.SMALL_BENEFITS:
        limit = rel.param(param, fallback)
        if has(name):
            v = _money(name)
            out.append(Emit("income.small_benefit", "h", f"{v} > 0 AND {v} < {num_lit(limit)}", name,
                            f"'{FIELDS[name].zh} ' || {_fmt(rel, name)} || {lit(f' 元（低于 {limit:g} 元）')}"))
    if has("eco_compensation") and has("grain_for_green"):
        out.append(Emit("income.eco_no_land", "h", f"{_money('eco_compensation')} > 0 AND coalesce({_money('grain_for_green')}, 0) <= 0",
                        "eco_compensation", f"'生态补偿金 ' || {_fmt(rel, 'eco_compensation')} || '，退耕还林面积为 0'"))
    if has("transfer_income"):
        present = [c for c in income.TRANSFER_PARTS if has(c)]
        if present:
            parts = "(" + " + ".join(f"coalesce({_money(c)}, 0)" for c in present) + ")"
            t = _money("transfer_income")
            out.append(Emit("income.transfer_parts", "h", f"{t} IS NOT NULL AND {parts} > {t} + {income.NET_TOLERANCE!r}", "transfer_income",
                            f"'转移性收入 ' || {_fmt(rel, 'transfer_income')} || {lit('，其分项（' + '、'.join(FIELDS[c].zh for c in present) + '）合计 ')} "
                            f"|| {fmt_num(parts)}"))
    return out


def wage_vs_workers(rel: Relations) -> list[Any]:
    if not rel.in_frame("wage_income", "household") or not rel.n_members or not _member_flags(rel):
        return []
    w = _money("wage_income")
    return [
        Emit("income.wage_no_worker", "h", f"__members > 0 AND {w} > 0 AND coalesce(__any_work, 0) = 0", "wage_income",
             f"'工资性收入 ' || {_fmt(rel, 'wage_income')} || '，但没有成员务工（务工状况、务工时间均未填）'"),
        Emit("income.worker_no_wage", "h", f"__members > 0 AND {w} = 0 AND coalesce(__workers, 0) > 0", "wage_income",
             "'有 ' || __workers || ' 名务工成员，但工资性收入为 0'"),
    ]


# ---------------------------------------------------------------------------------------
# household.duplicate_household_ids
# ---------------------------------------------------------------------------------------
def duplicate_household_ids(rel: Relations) -> list[Any]:
    if not rel.in_frame("household_id", "household"):
        return []
    place = (f"count(DISTINCT {text(q(SOURCE_FILE))} || chr(0) || {text(q(SOURCE_SHEET)) if SOURCE_SHEET in rel.hcols else chr(39) * 2})"
             if SOURCE_FILE in rel.hcols else "1")  # the same 户编号 in two files or sheets: the reader's note names every place
    dup = (f"(SELECT household_id AS k, count(*) AS n FROM {HH} WHERE household_id IS NOT NULL GROUP BY 1 "
           f"HAVING count(*) > 1 AND {place} <= 1)")
    return [Emit("household.duplicate_id", "h", f"household_id IN (SELECT k FROM {dup})", "household_id",
                 f"'户编号 ' || {text('household_id')} || ' 出现 ' || (SELECT n FROM {dup} AS d WHERE d.k = {CK_H}.household_id) || ' 次'")]


# ---------------------------------------------------------------------------------------
# assistance.py
# ---------------------------------------------------------------------------------------
def _status(rel: Relations, flag: str, word: str) -> tuple[str, str, str] | None:
    """(is, is known not, field used), as assistance._status."""
    if rel.in_frame(flag, "household") and rel.has(flag, "household"):
        v = _flag(rel, flag)
        return f"coalesce({v}, false)", f"coalesce({v} = false, false)", flag
    if rel.in_frame("recorded_attribute", "household") and rel.has("recorded_attribute", "household"):
        attr = text("recorded_attribute")
        has = f"contains({attr}, {lit(word)})"
        return f"coalesce({has}, false)", f"({attr} IS NOT NULL AND NOT coalesce({has}, false))", "recorded_attribute"
    return None


def _members_on(rel: Relations, name: str) -> str | None:
    if not rel.n_members or not rel.in_frame(name, "member") or not rel.has(name, "member"):
        return None
    return f"coalesce(__{name}, 0)"


def _consistency(rel: Relations, flag: str, word: str, member_flag: str, none_check: str, reverse_check: str | None) -> list[Any]:
    st, on = _status(rel, flag, word), _members_on(rel, member_flag)
    if st is None or on is None:
        return []
    is_, is_not, field = st
    label_ = "享受低保" if word == "低保" else "特困供养"
    out: list[Any] = [Emit(none_check, "h", f"{is_} AND __members > 0 AND {on} = 0", field, lit(f"本户为{word}户，但没有成员{label_}"))]
    if reverse_check:
        out.append(Emit(reverse_check, "h", f"{is_not} AND {on} > 0", field, f"'有 ' || {on} || {lit(f' 名成员{label_}，但本户不是{word}户')}"))
    return out


def dibao(rel: Relations) -> list[Any]:
    return _consistency(rel, "dibao_household", "低保", "on_dibao", "assist.dibao_no_member", "assist.member_dibao_not_household")


def tekun(rel: Relations) -> list[Any]:
    out = _consistency(rel, "tekun_household", "特困", "on_tekun", "assist.tekun_no_member", None)
    st = _status(rel, "tekun_household", "特困")
    if st is None or not rel.n_members or not (rel.in_frame("health", "member") and rel.in_frame("labour", "member")):
        return out
    lo, hi = rel.param("working_age_min", members.WORKING_AGES[0]), rel.param("working_age_max", members.WORKING_AGES[1])
    labourer = (f"{_eq('health', '健康')} AND coalesce({_in(text('labour'), WORKING_LABOUR)}, false) "
                f"AND __age BETWEEN {num_lit(lo)} AND {num_lit(hi)}")
    out.append(Emit("assist.tekun_labourer", "m", f"{labourer} AND __hpos IN (SELECT __row FROM {CK_H} WHERE {st[0]})", "labour",
                    f"'特困供养户成员 ' || {int_text('__age')} || ' 岁，健康，' || {text('labour')}"))
    return out


def benefits(rel: Relations) -> list[Any]:
    out: list[Any] = []
    d = _money("dibao_benefit") if rel.in_frame("dibao_benefit", "household") else None
    t_ = _money("tekun_benefit") if rel.in_frame("tekun_benefit", "household") else None
    if d is not None and t_ is not None:
        out.append(Emit("assist.both_benefits", "h", f"{d} > 0 AND {t_} > 0", "tekun_benefit",
                        f"'低保金 ' || {_fmt(rel, 'dibao_benefit')} || '，特困供养金 ' || {_fmt(rel, 'tekun_benefit')}"))
    for amount, flag, word, check in ((d, "dibao_household", "低保", "assist.dibao_no_benefit"),
                                      (t_, "tekun_household", "特困", "assist.tekun_no_benefit")):
        st = _status(rel, flag, word)
        if amount is not None and st is not None:
            name = "dibao_benefit" if word == "低保" else "tekun_benefit"
            label_ = "低保金" if word == "低保" else "特困供养金"
            out.append(Emit(check, "h", f"{st[0]} AND coalesce({amount} = 0, false)", name, lit(f"本户为{word}户，{label_}为 0")))
    return out


# ---------------------------------------------------------------------------------------
# causes.py
# ---------------------------------------------------------------------------------------
def member_causes(rel: Relations) -> list[Any]:
    if not rel.in_frame("recorded_primary_cause", "household") or not rel.n_members:
        return []
    cause = text("recorded_primary_cause")
    field = "recorded_primary_cause"
    out: list[Any] = []
    if rel.in_frame("health", "member"):
        known = "coalesce(__known_health, 0) = __members"
        out.append(Emit("cause.ill_all_healthy", "h", f"{cause} = '因病' AND __members > 0 AND {known} AND coalesce(__healthy, 0) = __members",
                        field, lit("主要致贫原因为因病，但成员健康状况均为健康")))
        nobody = f"__members > 0 AND {known} AND coalesce(__disabled, 0) = 0"
        if rel.in_frame("disability_cert", "member"):
            nobody += " AND coalesce(__certs, 0) = 0"
        out.append(Emit("cause.disabled_nobody", "h", f"{cause} = '因残' AND {nobody}", field, lit("主要致贫原因为因残，但没有残疾成员")))
    if rel.in_frame("school_status", "member"):
        out.append(Emit("cause.study_no_student", "h",
                        f"{cause} = '因学' AND __members > 0 AND coalesce(__known_school, 0) = __members AND coalesce(__students, 0) = 0",
                        field, lit("主要致贫原因为因学，但没有在校生")))
    if rel.in_frame("health", "member") and rel.in_frame("labour", "member"):
        lo, hi = rel.param("working_age_min", members.WORKING_AGES[0]), rel.param("working_age_max", members.WORKING_AGES[1])
        out.append(Emit("cause.labour_shortage_with_labourers", "h", f"{cause} = '缺劳力' AND coalesce(__able, 0) >= {causes.SHORTAGE_LABOURERS}",
                        field, f"'主要致贫原因为缺劳力，但有 ' || coalesce(__able, 0) || {lit(f' 名 {lo}–{hi} 岁健康劳动力')}"))
    return out


def secondary_repeats_primary(rel: Relations) -> list[Any]:
    """Each distinct (primary, secondary) pair decided once by causes._split_canonical (the code table), in SQL by a lookup."""
    if not (rel.in_frame("recorded_primary_cause", "household") and rel.in_frame("recorded_secondary_causes", "household")):
        return []
    p, s = text("recorded_primary_cause"), text("recorded_secondary_causes")
    cand = f"{p} IS NOT NULL AND {s} IS NOT NULL AND regexp_matches({s}, '\\S')"
    pairs = rel.con.sql(f"SELECT DISTINCT {p}, {s} FROM {HH} WHERE {cand}").fetchall()
    bad = [(a, b) for a, b in pairs if a in causes._split_canonical(b)]
    if not bad:
        return []
    values = ", ".join(f"({lit(a)}, {lit(b)})" for a, b in bad)
    return [Emit("cause.secondary_repeats_primary", "h", f"({p}, {s}) IN (SELECT (a, b) FROM (VALUES {values}) AS t(a, b))",
                 "recorded_secondary_causes", f"'其他致贫原因 ' || {s} || ' 含主要致贫原因 ' || {p}")]


# ---------------------------------------------------------------------------------------
# exited.py
# ---------------------------------------------------------------------------------------
def _poor(rel: Relations) -> str | None:
    if not rel.in_frame("recorded_attribute", "household") or not rel.has("recorded_attribute", "household"):
        return None
    attr = f"trim({text('recorded_attribute')})"
    return f"coalesce({attr} IS NOT NULL AND {attr} <> '' AND {attr} <> '一般农户', false)"


def responsible_person(rel: Relations) -> list[Any]:
    poor = _poor(rel)
    if poor is None or not rel.in_frame("responsible_person", "household") or not rel.has("responsible_person", "household"):
        return []
    out: list[Any] = [Emit("assist.no_responsible_person", "h", f"{poor} AND {_blank(rel, 'responsible_person')}", "responsible_person",
                           f"'贫困户（' || {text('recorded_attribute')} || '）未填帮扶责任人'")]
    return out + _responsible_is_poor(rel, poor)


def _responsible_is_poor(rel: Relations, poor: str) -> list[Any]:
    if not rel.n_members or not rel.in_frame("household_id", "household"):
        return []
    in_poor = f"__hpos IN (SELECT __row FROM {CK_H} WHERE {poor})"
    by_id = (rel.in_frame("responsible_id_number", "household") and rel.has("responsible_id_number", "household")
             and getattr(rel, "has_ids", False))
    if by_id:
        id_table(rel.con, "__ck_rids", HH, "__row", "responsible_id_number", rel.ref_date)
        person = (f"CASE WHEN NOT {_blank(rel, 'responsible_id_number')} THEN "
                  f"(SELECT normalised FROM __ck_rids AS r WHERE r.pos = {CK_H}.__row) END")
        key = "CASE WHEN id_valid THEN id_normalised END"
        field, what = "responsible_id_number", "证件号码"
    elif rel.in_frame("name", "member"):
        person, key = f"trim({text('responsible_person')})", f"trim({text('name')})"
        field, what = "responsible_person", "姓名"
    else:
        return []
    first = (f"(SELECT {key} AS k, arg_min({text('household_id')}, __mrow) AS hid FROM {CK_M} "
             f"WHERE {in_poor} AND {key} IS NOT NULL AND {key} <> '' GROUP BY 1)")
    name = f"coalesce({text('responsible_person')}, '')" if rel.in_frame("responsible_person", "household") else "''"
    sure = "（同一人）" if by_id else "（同名，请核实是否同一人）"
    match = f"(SELECT hid FROM {first} AS f WHERE f.k = {person})"
    return [Emit("assist.responsible_is_poor", "h", f"{match} IS NOT NULL", field,
                 f"'帮扶责任人 ' || {name} || {lit(f' 的{what}与贫困户 ')} || {match} || {lit(f' 的成员相同{sure}')}")]


def _exited(rel: Relations) -> tuple[str, str] | None:
    from fupin_cli.schema import canonical_value

    if rel.in_frame("exit_status", "household") and rel.has("exit_status", "household"):
        values = [v for (v,) in rel.con.sql(f"SELECT DISTINCT {text('exit_status')} FROM {HH} WHERE exit_status IS NOT NULL").fetchall()
                  if canonical_value("registry_status", v) == "已脱贫"]
        return (f"coalesce({_in(text('exit_status'), values)}, false)" if values else "false"), "exit_status"
    if rel.in_frame("household_type", "household") and rel.has("household_type", "household"):
        return f"coalesce(trim({text('household_type')}) = '脱贫户', false)", "household_type"
    if rel.in_frame("recorded_attribute", "household") and rel.has("recorded_attribute", "household"):
        return f"coalesce(contains({text('recorded_attribute')}, '脱贫'), false)", "recorded_attribute"
    return None


def unsolved_guarantees(rel: Relations) -> list[Any]:
    found = _exited(rel)
    if found is None:
        return []
    is_exited, field = found
    pieces: list[tuple[str, str]] = []  # (condition, text) in exited.unsolved_guarantees's order
    if rel.in_frame("food_clothing_secure", "household"):
        pieces.append((f"coalesce({_flag(rel, 'food_clothing_secure')} = false, false)", lit("吃穿（是否不愁吃穿 否）")))
    if rel.in_frame("unsafe_housing", "household"):
        pieces.append((f"coalesce({_flag(rel, 'unsafe_housing')}, false)", lit("住房（是否危房 是）")))
    water = []
    if rel.in_frame("safe_water", "household"):
        water.append(f"coalesce({_flag(rel, 'safe_water')} = false, false)")
    if rel.in_frame("water_difficulty", "household"):
        water.append(f"coalesce({_flag(rel, 'water_difficulty')}, false)")
    if water:
        pieces.append((" OR ".join(water), lit("饮水（未解决安全饮水）")))
    if rel.n_members:
        if "__dropouts" in _member_flags(rel):
            pieces.append(("coalesce(__dropouts, 0) > 0", "'义务教育（' || coalesce(__dropouts, 0) || ' 名适龄儿童辍学）'"))
        if "__uninsured" in _member_flags(rel):
            pieces.append(("coalesce(__uninsured, 0) > 0", "'医疗（' || coalesce(__uninsured, 0) || ' 名患病成员未参加大病保险）'"))
    if not pieces:
        return []
    any_piece = " OR ".join(f"({c})" for c, _ in pieces)
    listed = ", ".join(f"CASE WHEN {c} THEN {m} END" for c, m in pieces)
    return [Emit("exit.unsolved_guarantees", "h", f"{is_exited} AND ({any_piece})", field,
                 f"'脱贫户未解决两不愁三保障：' || concat_ws('、', {listed})")]


SQL_VERSIONS: dict[Callable[..., Any], Callable[[Relations], list[Any]]] = {
    required.missing_columns: missing_columns,
    required.missing_values: missing_values,
    required.recommended_values: recommended_values,
    ids.id_problems: id_problems,
    ids.id_agreement: id_agreement,
    ids.duplicate_persons: duplicate_persons,
    household.duplicate_household_ids: duplicate_household_ids,
    household.household_size: household_size,
    household.heads_and_spouses: heads_and_spouses,
    members.relation_vs_sex: relation_vs_sex,
    members.age_checks: age_checks,
    members.labour_checks: labour_checks,
    members.work_checks: work_checks,
    income.negative_values: negative_values,
    income.net_income: net_income,
    income.per_capita: per_capita,
    income.ranges: ranges,
    income.wage_vs_workers: wage_vs_workers,
    assistance.dibao: dibao,
    assistance.tekun: tekun,
    assistance.benefits: benefits,
    causes.member_causes: member_causes,
    causes.secondary_repeats_primary: secondary_repeats_primary,
    exited.responsible_person: responsible_person,
    exited.unsolved_guarantees: unsolved_guarantees,
}
