"""Household composition and members: relations, sex, ages, birth dates, IDs, names, health.

All vectorised over members.  A household is built as an ordered list of roles:
户主, [配偶], [parents of the head], then either children, or (older heads) one adult child,
that child's spouse (之儿媳 / 之女婿) and grandchildren.  Sex follows the role, ages keep
parents at least 20 years older than their children, and birth dates are drawn inside the
birth year implied by the age on 31 December of the roster year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_cli.samples import ids, names
from fupin_cli.samples.rand import group_positions, labels, pick

HEAD, SPOUSE, FATHER, MOTHER, CHILD, ADULT_CHILD, INLAW, GRAND = range(8)

SIZE_PROBS = [0.12, 0.20, 0.20, 0.22, 0.14, 0.07, 0.03, 0.02]  # sizes 1..8, mean ≈ 3.5
HEALTH = ["健康", "长期慢性病", "患有大病", "残疾"]


def compose(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Household sizes and role boundaries; returns per-household arrays."""
    size = pick(rng.random(n), SIZE_PROBS) + 1
    single = size == 1
    head_age = np.where(
        single, np.clip(rng.normal(66, 12, n), 24, 92), np.clip(rng.normal(51, 13, n), 22, 88)
    ).astype(np.int64)
    has_spouse = (size >= 2) & (rng.random(n) < np.where(size == 2, 0.7, 0.9))
    head_male = rng.random(n) < np.where(has_spouse, 0.9, 0.6)
    spouse_age = np.clip(head_age + np.where(head_male, -2, 2) + rng.normal(0, 3, n), 20, 95).astype(np.int64)
    spouse_age = np.where(has_spouse, spouse_age, head_age)
    k = size - 1 - has_spouse
    n_par = np.where((head_age <= 58) & (k >= 1), pick(rng.random(n), [0.62, 0.23, 0.15]), 0)
    n_par = np.minimum(n_par, k)
    r = k - n_par
    parent_min = np.minimum(head_age, spouse_age)
    has_inlaw = (r >= 2) & (parent_min >= 46) & (rng.random(n) < 0.75)
    return {
        "size": size, "head_age": head_age, "has_spouse": has_spouse, "head_male": head_male,
        "spouse_age": spouse_age, "n_par": n_par, "parent_min": parent_min, "has_inlaw": has_inlaw,
        "single_parent_is_father": rng.random(n) < 0.35,
        "inlaw_is_daughter_in_law": rng.random(n) < 0.8,
    }


def roles(h: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(household index, position, role) per member."""
    hh, pos = group_positions(h["size"])
    spouse = h["has_spouse"][hh].astype(np.int64)
    n_par = h["n_par"][hh]
    b1 = 1 + spouse
    b2 = b1 + n_par
    role = np.full(len(hh), CHILD, dtype=np.int64)
    role[pos == 0] = HEAD
    role[(pos == 1) & (spouse == 1)] = SPOUSE
    in_par = (pos >= b1) & (pos < b2)
    father_first = (n_par == 2) | h["single_parent_is_father"][hh]
    role[in_par & (pos == b1) & father_first] = FATHER
    role[in_par & ~((pos == b1) & father_first)] = MOTHER
    inlaw = h["has_inlaw"][hh]
    role[inlaw & (pos == b2)] = ADULT_CHILD
    role[inlaw & (pos == b2 + 1)] = INLAW
    role[inlaw & (pos > b2 + 1)] = GRAND
    return hh, pos, role


def make_members(rng: np.random.Generator, h: dict[str, np.ndarray], year: int, county: names.County) -> dict[str, np.ndarray]:
    hh, pos, role = roles(h)
    m = len(hh)
    u = rng.random((m, 8))
    head_male = h["head_male"][hh]
    dil = h["inlaw_is_daughter_in_law"][hh]

    # --- sex ----------------------------------------------------------------------------
    male = u[:, 0] < 0.52
    male = np.where(role == HEAD, head_male, male)
    male = np.where(role == SPOUSE, ~head_male, male)
    male = np.where(role == FATHER, True, male)
    male = np.where(role == MOTHER, False, male)
    male = np.where(role == ADULT_CHILD, dil, male)
    male = np.where(role == INLAW, ~dil, male)

    # --- ages ---------------------------------------------------------------------------
    head_age, spouse_age, pmin = h["head_age"][hh], h["spouse_age"][hh], h["parent_min"][hh]
    age = np.zeros(m, dtype=np.int64)
    age[role == HEAD] = head_age[role == HEAD]
    age[role == SPOUSE] = spouse_age[role == SPOUSE]
    father_age = np.minimum(head_age + 22 + (u[:, 1] * 12).astype(np.int64), 99)
    age = np.where(role == FATHER, father_age, age)
    age = np.where(role == MOTHER, np.maximum(father_age - (u[:, 2] * 5).astype(np.int64), head_age + 20), age)
    span = np.minimum(pmin - 19, 19)
    child_age = pmin - 20 - (u[:, 1] * span).astype(np.int64)
    age = np.where(role == CHILD, child_age, age)
    adult_child_age = pmin - 20 - (u[:, 1] * np.clip(pmin - 40, 1, 15)).astype(np.int64)
    # adult child and in-law ages per household (the in-law row needs the adult child's age)
    n_h = len(h["size"])
    ac_age_h = np.zeros(n_h, dtype=np.int64)
    sel = role == ADULT_CHILD
    ac_age_h[hh[sel]] = adult_child_age[sel]
    inlaw_age = np.clip(ac_age_h[hh] + np.where(male, 1, -1) + np.rint(rng.normal(0, 2.5, m)).astype(np.int64), 20, 99)
    age = np.where(role == ADULT_CHILD, ac_age_h[hh], age)
    age = np.where(role == INLAW, inlaw_age, age)
    il_age_h = np.zeros(n_h, dtype=np.int64)
    sel = role == INLAW
    il_age_h[hh[sel]] = inlaw_age[sel]
    gmin = np.minimum(ac_age_h[hh], il_age_h[hh])
    grand_age = gmin - 20 - (u[:, 1] * np.clip(np.minimum(gmin - 19, 19), 1, None)).astype(np.int64)
    age = np.where(role == GRAND, np.maximum(grand_age, 0), age)

    birth_year = year - age
    day = (u[:, 3] * 365).astype(np.int64)
    birth = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day
    # stay inside the birth year (31 Dec of a non-leap year + 1 day would spill over)
    spill = birth.astype("datetime64[Y]").astype(np.int64) + 1970 != birth_year
    birth = np.where(spill, birth - np.timedelta64(1, "D"), birth)

    # --- relations ----------------------------------------------------------------------
    relation = np.full(m, "之子", dtype=object)
    relation[role == HEAD] = "户主"
    relation[role == SPOUSE] = "配偶"
    female_head_married = (~head_male) & h["has_spouse"][hh]
    in_law_parents = female_head_married & (u[:, 4] < 0.5)
    wife_parents = head_male & (u[:, 4] < 0.1)
    relation[role == FATHER] = np.where(in_law_parents, "之公公", np.where(wife_parents, "之岳父", "之父"))[role == FATHER]
    relation[role == MOTHER] = np.where(in_law_parents, "之婆婆", np.where(wife_parents, "之岳母", "之母"))[role == MOTHER]
    kid = (role == CHILD) | (role == ADULT_CHILD)
    relation[kid] = np.where(male, "之子", "之女")[kid]
    relation[role == INLAW] = np.where(dil, "之儿媳", "之女婿")[role == INLAW]
    grand_rel = np.where(dil, np.where(male, "之孙子", "之孙女"), np.where(male, "之外孙子", "之外孙女"))
    relation[role == GRAND] = grand_rel[role == GRAND]

    # --- names --------------------------------------------------------------------------
    sur_p = np.asarray(names.SURNAME_WEIGHTS) / sum(names.SURNAME_WEIGHTS)
    n_sur = len(names.SURNAMES)
    own_sur = rng.choice(n_sur, m, p=sur_p)
    fam_sur_h = rng.choice(n_sur, n_h, p=sur_p)
    inlaw_sur_h = rng.choice(n_sur, n_h, p=sur_p)
    fam = fam_sur_h[hh]
    married_woman_head = ~head_male & h["has_spouse"][hh]
    head_sur = np.zeros(n_h, dtype=np.int64)
    head_rows = role == HEAD
    head_sur[hh[head_rows]] = np.where(married_woman_head, own_sur, fam)[head_rows]
    sur_idx = own_sur.copy()
    sur_idx = np.where(head_rows, head_sur[hh], sur_idx)
    sur_idx = np.where((role == SPOUSE) & ~head_male, fam, sur_idx)
    sur_idx = np.where(np.isin(relation, ("之父",)), head_sur[hh], sur_idx)
    sur_idx = np.where(np.isin(relation, ("之公公",)), fam, sur_idx)
    sur_idx = np.where((role == CHILD) | (role == ADULT_CHILD) | ((role == GRAND) & dil), fam, sur_idx)
    sur_idx = np.where(((role == GRAND) | (role == INLAW)) & ~dil, inlaw_sur_h[hh], sur_idx)
    surname = np.asarray(names.SURNAMES)[sur_idx]
    mc, fc = np.asarray(names.MALE_CHARS), np.asarray(names.FEMALE_CHARS)
    g1 = np.where(male, mc[rng.integers(0, len(mc), m)], fc[rng.integers(0, len(fc), m)])
    g2 = np.where(male, mc[rng.integers(0, len(mc), m)], fc[rng.integers(0, len(fc), m)])
    two = u[:, 5] < 0.65
    given = np.where(two, np.strings.add(g1, g2), g1)
    name = np.strings.add(surname, given)

    # --- ID numbers ---------------------------------------------------------------------
    born_here = u[:, 6] < 0.9
    neigh = np.asarray(county.neighbours or (county.code,))
    address = np.where(born_here, county.code, neigh[rng.integers(0, len(neigh), m)])
    bd = pd.DatetimeIndex(birth)
    ymd = bd.year.to_numpy() * 10000 + bd.month.to_numpy() * 100 + bd.day.to_numpy()
    seq = ids.sequence_for_sex(rng.integers(0, 1000, m), male)
    id_number = ids.build_ids(address, ymd, seq)
    for _ in range(50):  # re-draw the sequence of duplicated numbers until all are unique
        dup = pd.Series(id_number).duplicated().to_numpy()
        if not dup.any():
            break
        seq[dup] = ids.sequence_for_sex(rng.integers(0, 1000, int(dup.sum())), male[dup])
        id_number[dup] = ids.build_ids(address[dup], ymd[dup], seq[dup])

    # --- health (age dependent) ---------------------------------------------------------
    p_dis = np.where(age >= 60, 0.06, 0.03)
    p_ill = np.where(age >= 60, 0.06, np.where(age >= 40, 0.03, 0.008))
    p_chr = np.where(age >= 60, 0.22, np.where(age >= 40, 0.09, 0.015))
    health = pick(u[:, 7], np.stack([1 - p_dis - p_ill - p_chr, p_chr, p_ill, p_dis], axis=1))

    return {
        "hh": hh, "pos": pos, "role": role, "male": male, "age": age, "birth": birth,
        "relation": relation, "name": name.astype(object), "id_number": id_number.astype(object),
        "address": address, "health": labels(HEALTH, health),
        "u_status": rng.random((m, 8)),  # persistent draws for age-dependent statuses (chains)
    }


SCHOOL_HIGH = ["高中一年级", "高中二年级", "高中三年级"]
SCHOOL_VOC = ["中职一年级", "中职二年级", "中职三年级"]
JUNIOR = {12: "七年级", 13: "八年级", 14: "九年级"}
LABOURING = ("普通劳动力", "技能劳动力", "弱劳动力或半劳动力")
WORK_PLACES = ["乡(镇)内务工", "乡(镇)外县内务工", "县外省内务工", "省外务工"]


def statuses(age: np.ndarray, health: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    """Education, school status, labour and work consistent with age and health.

    ``u`` is an (m, 8) array of persistent uniforms, so a chain recomputes a member's
    statuses each year from the new age without re-drawing who they are.
    """
    m = len(age)
    school = np.full(m, "非在校生", dtype=object)
    edu = np.full(m, "初中", dtype=object)
    dropout = np.zeros(m, dtype=bool)
    # adults' education by cohort
    p_adult = np.where(
        (age >= 60)[:, None], [0.45, 0.40, 0.12, 0.03, 0.0],
        np.where((age >= 40)[:, None], [0.12, 0.40, 0.38, 0.08, 0.02], [0.02, 0.15, 0.50, 0.22, 0.11]),
    )
    edu[:] = labels(["文盲或半文盲", "小学", "初中", "高中", "大专及以上"], pick(u[:, 0], p_adult))
    edu[age <= 5] = "学龄前儿童"
    pre = (age >= 3) & (age <= 5) & (u[:, 1] < 0.7)
    school[pre] = "学前教育"
    prim = (age >= 6) & (age <= 11)
    school[prim], edu[prim] = "小学", "小学"
    for a, grade in JUNIOR.items():
        school[age == a], edu[age == a] = grade, "初中"
    senior = (age >= 15) & (age <= 17)
    grade = np.clip(age - 15, 0, 2)
    hi = senior & (u[:, 1] < 0.55)
    voc = senior & (u[:, 1] >= 0.55) & (u[:, 1] < 0.8)
    school[hi] = np.asarray(SCHOOL_HIGH, dtype=object)[grade[hi]]
    school[voc] = np.asarray(SCHOOL_VOC, dtype=object)[grade[voc]]
    edu[hi | voc] = "高中"
    edu[senior & ~(hi | voc)] = "初中"
    college = (age >= 18) & (age <= 22) & (u[:, 1] < 0.25)
    school[college], edu[college] = "大专及以上", "大专及以上"
    # a few compulsory-age children out of school (辍学)
    drop = (age >= 10) & (age <= 15) & (u[:, 2] < 0.004)
    school[drop], dropout[drop] = "非在校生", True
    edu[drop & (age <= 12)] = "小学"
    student = school != "非在校生"

    # labour (劳动技能)
    healthy, chronic = health == "健康", health == "长期慢性病"
    ill, disabled = health == "患有大病", health == "残疾"
    working_age = (age >= 16) & (age <= 64) & ~student
    p_work = _labour_probs(healthy, chronic, ill, disabled)
    lab_labels = ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]
    labour = np.full(m, "无劳动力", dtype=object)
    labour[working_age] = labels(lab_labels, pick(u[working_age, 3], p_work[working_age]))
    old = (age >= 65) & ~student
    p_old = np.where(healthy[:, None], [0.3, 0.0, 0.5, 0.0, 0.2], [0.0, 0.0, 0.1, 0.45, 0.45])
    labour[old] = labels(lab_labels, pick(u[old, 3], p_old[old]))

    # work (务工状况 / 务工时间)
    can_work = np.isin(labour, LABOURING) & (age <= 60)
    migrant = can_work & (u[:, 4] < np.where(healthy, 0.5, 0.2))
    work = np.full(m, None, dtype=object)
    work[can_work] = "其他"
    work[migrant] = labels(WORK_PLACES, pick(u[migrant, 5], [0.15, 0.2, 0.3, 0.35]))
    months = np.where(migrant, 3 + (u[:, 6] * 10).astype(np.int64), 0).astype(float)
    return {"education": edu, "school_status": school, "dropout": dropout, "labour": labour,
            "work_status": work, "work_months": months}


def _labour_probs(healthy, chronic, ill, disabled) -> np.ndarray:
    p = np.zeros((len(healthy), 5))
    p[healthy] = [0.88, 0.12, 0.0, 0.0, 0.0]
    p[chronic] = [0.5, 0.0, 0.5, 0.0, 0.0]
    p[ill] = [0.0, 0.0, 0.4, 0.6, 0.0]
    p[disabled] = [0.3, 0.0, 0.3, 0.4, 0.0]
    return p
