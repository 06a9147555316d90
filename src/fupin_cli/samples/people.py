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
from fupin_cli.samples.rand import as_str, group_positions, join, pick, text

HEAD, SPOUSE, FATHER, MOTHER, CHILD, ADULT_CHILD, INLAW, GRAND = range(8)

SIZE_PROBS = [0.12, 0.20, 0.20, 0.22, 0.14, 0.07, 0.03, 0.02]  # sizes 1..8, mean ≈ 3.5
HEALTH = ["健康", "长期慢性病", "患有大病", "残疾"]
RELATIONS = ["户主", "配偶", "之子", "之女", "之儿媳", "之女婿", "之孙子", "之孙女", "之外孙子", "之外孙女",
             "之父", "之母", "之公公", "之婆婆", "之岳父", "之岳母"]
R = {r: i for i, r in enumerate(RELATIONS)}


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

    # --- relations (codes into RELATIONS) -------------------------------------------------
    rel = np.full(m, R["之子"], dtype=np.int64)
    rel[role == HEAD] = R["户主"]
    rel[role == SPOUSE] = R["配偶"]
    female_head_married = (~head_male) & h["has_spouse"][hh]
    in_law_parents = female_head_married & (u[:, 4] < 0.5)
    wife_parents = head_male & (u[:, 4] < 0.1)
    sel = role == FATHER
    rel[sel] = np.where(in_law_parents, R["之公公"], np.where(wife_parents, R["之岳父"], R["之父"]))[sel]
    sel = role == MOTHER
    rel[sel] = np.where(in_law_parents, R["之婆婆"], np.where(wife_parents, R["之岳母"], R["之母"]))[sel]
    kid = (role == CHILD) | (role == ADULT_CHILD)
    rel[kid] = np.where(male, R["之子"], R["之女"])[kid]
    sel = role == INLAW
    rel[sel] = np.where(dil, R["之儿媳"], R["之女婿"])[sel]
    grand_rel = np.where(dil, np.where(male, R["之孙子"], R["之孙女"]), np.where(male, R["之外孙子"], R["之外孙女"]))
    rel[role == GRAND] = grand_rel[role == GRAND]

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
    sur_idx = np.where(rel == R["之父"], head_sur[hh], sur_idx)
    sur_idx = np.where(rel == R["之公公"], fam, sur_idx)
    sur_idx = np.where((role == CHILD) | (role == ADULT_CHILD) | ((role == GRAND) & dil), fam, sur_idx)
    sur_idx = np.where(((role == GRAND) | (role == INLAW)) & ~dil, inlaw_sur_h[hh], sur_idx)
    n_mc = len(names.MALE_CHARS)
    pool = names.MALE_CHARS + names.FEMALE_CHARS  # female characters after the male ones
    g1 = np.where(male, rng.integers(0, n_mc, m), n_mc + rng.integers(0, len(names.FEMALE_CHARS), m))
    g2 = np.where(male, rng.integers(0, n_mc, m), n_mc + rng.integers(0, len(names.FEMALE_CHARS), m))
    two = u[:, 5] < 0.65
    name = join(text(names.SURNAMES, sur_idx), text(pool, g1), text(pool + [""], np.where(two, g2, len(pool))))

    # --- ID numbers ---------------------------------------------------------------------
    born_here = u[:, 6] < 0.9
    neigh = np.asarray(county.neighbours or (county.code,))
    address = np.where(born_here, county.code, neigh[rng.integers(0, len(neigh), m)])
    bd = pd.DatetimeIndex(birth)
    ymd = bd.year.to_numpy() * 10000 + bd.month.to_numpy() * 100 + bd.day.to_numpy()
    seq = ids.sequence_for_sex(rng.integers(0, 1000, m), male)
    base = (address.astype(np.int64) * 10**8 + ymd) * 1000
    dup = _duplicated(base + seq)  # the first 17 digits: unique ⇔ ID unique
    for _ in range(50):  # re-draw the sequence of duplicated numbers until all are unique
        if not dup.any():
            break
        seq[dup] = ids.sequence_for_sex(rng.integers(0, 1000, int(dup.sum())), male[dup])
        key = base + seq
        # the other keys are distinct already: a repeat involves a re-drawn key
        cand = np.flatnonzero(pd.Series(key, copy=False).isin(pd.unique(key[dup])).to_numpy())
        dup = np.zeros(m, dtype=bool)
        dup[cand[_duplicated(key[cand])]] = True
    id_number = as_str(ids.build_id_array(address, ymd, seq))

    # --- health (age dependent) ---------------------------------------------------------
    p_dis = np.where(age >= 60, 0.06, 0.03)
    p_ill = np.where(age >= 60, 0.06, np.where(age >= 40, 0.03, 0.008))
    p_chr = np.where(age >= 60, 0.22, np.where(age >= 40, 0.09, 0.015))
    health = pick(u[:, 7], np.stack([1 - p_dis - p_ill - p_chr, p_chr, p_ill, p_dis], axis=1))

    return {
        "hh": hh, "pos": pos, "role": role, "male": male, "age": age, "birth": birth,
        "relation": text(RELATIONS, rel), "rel_code": rel, "name": name, "id_number": id_number,
        "address": address, "health": text(HEALTH, health), "_health_code": health,
        "u_status": rng.random((m, 8)),  # persistent draws for age-dependent statuses (chains)
    }


def _duplicated(key: np.ndarray) -> np.ndarray:
    """Later occurrences of a repeated int64 key (the first one stays); hashing, no sort."""
    return pd.Series(key, copy=False).duplicated().to_numpy()


SCHOOL_HIGH = ["高中一年级", "高中二年级", "高中三年级"]
SCHOOL_VOC = ["中职一年级", "中职二年级", "中职三年级"]
JUNIOR = {12: "七年级", 13: "八年级", 14: "九年级"}
LABOURING = ("普通劳动力", "技能劳动力", "弱劳动力或半劳动力")
WORK_PLACES = ["乡(镇)内务工", "乡(镇)外县内务工", "县外省内务工", "省外务工"]


SCHOOL = ["非在校生", "学前教育", "小学", "七年级", "八年级", "九年级", *SCHOOL_HIGH, *SCHOOL_VOC, "大专及以上"]
EDUCATION = ["文盲或半文盲", "小学", "初中", "高中", "大专及以上", "学龄前儿童"]
LABOUR = ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]
WORK = [*WORK_PLACES, "其他"]


def statuses(age: np.ndarray, health, u: np.ndarray) -> dict[str, np.ndarray]:
    """Education, school status, labour and work consistent with age and health (labels or codes into HEALTH).

    ``u`` is an (m, 8) array of persistent uniforms, so a chain recomputes a member's
    statuses each year from the new age without re-drawing who they are.  Labels are
    built from small integer codes (pandas ``str`` arrays); ``_labour_code`` and
    ``_school_code`` index :data:`LABOUR` and :data:`SCHOOL`.
    """
    m = len(age)
    sc = np.zeros(m, dtype=np.int64)  # SCHOOL codes (0 非在校生)
    ed = np.full(m, 2, dtype=np.int64)  # EDUCATION codes (2 初中)
    dropout = np.zeros(m, dtype=bool)
    # adults' education by cohort
    p_adult = np.where(
        (age >= 60)[:, None], [0.45, 0.40, 0.12, 0.03, 0.0],
        np.where((age >= 40)[:, None], [0.12, 0.40, 0.38, 0.08, 0.02], [0.02, 0.15, 0.50, 0.22, 0.11]),
    )
    ed[:] = pick(u[:, 0], p_adult)
    ed[age <= 5] = 5
    pre = (age >= 3) & (age <= 5) & (u[:, 1] < 0.7)
    sc[pre] = 1
    prim = (age >= 6) & (age <= 11)
    sc[prim], ed[prim] = 2, 1
    for a, grade in JUNIOR.items():
        sc[age == a], ed[age == a] = SCHOOL.index(grade), 2
    senior = (age >= 15) & (age <= 17)
    grade = np.clip(age - 15, 0, 2)
    hi = senior & (u[:, 1] < 0.55)
    voc = senior & (u[:, 1] >= 0.55) & (u[:, 1] < 0.8)
    sc[hi] = 6 + grade[hi]
    sc[voc] = 9 + grade[voc]
    ed[hi | voc] = 3
    ed[senior & ~(hi | voc)] = 2
    college = (age >= 18) & (age <= 22) & (u[:, 1] < 0.25)
    sc[college], ed[college] = 12, 4
    # a few compulsory-age children out of school (辍学)
    drop = (age >= 10) & (age <= 15) & (u[:, 2] < 0.004)
    sc[drop], dropout[drop] = 0, True
    ed[drop & (age <= 12)] = 1
    student = sc != 0

    # labour (劳动技能)
    if isinstance(health, np.ndarray) and health.dtype.kind == "i":
        hcode = health  # codes into HEALTH
    else:
        hcode = np.asarray(pd.Categorical(np.asarray(health, dtype=object), categories=HEALTH).codes)
    healthy, chronic, ill, disabled = hcode == 0, hcode == 1, hcode == 2, hcode == 3
    working_age = (age >= 16) & (age <= 64) & ~student
    p_work = _labour_probs(healthy, chronic, ill, disabled)
    lab = np.full(m, 4, dtype=np.int64)  # 无劳动力
    lab[working_age] = pick(u[working_age, 3], p_work[working_age])
    old = (age >= 65) & ~student
    p_old = np.where(healthy[:, None], [0.3, 0.0, 0.5, 0.0, 0.2], [0.0, 0.0, 0.1, 0.45, 0.45])
    lab[old] = pick(u[old, 3], p_old[old])

    # work (务工状况 / 务工时间)
    can_work = (lab <= 2) & (age <= 60)
    migrant = can_work & (u[:, 4] < np.where(healthy, 0.5, 0.2))
    wk = np.full(m, 4, dtype=np.int64)  # 其他
    wk[migrant] = pick(u[migrant, 5], [0.15, 0.2, 0.3, 0.35])
    months = np.where(migrant, 3 + (u[:, 6] * 10).astype(np.int64), 0).astype(float)
    return {"education": text(EDUCATION, ed), "school_status": text(SCHOOL, sc), "dropout": dropout,
            "labour": text(LABOUR, lab), "work_status": text(WORK, wk, missing=~can_work), "work_months": months,
            "_labour_code": lab, "_school_code": sc}


def _labour_probs(healthy, chronic, ill, disabled) -> np.ndarray:
    p = np.zeros((len(healthy), 5))
    p[healthy] = [0.88, 0.12, 0.0, 0.0, 0.0]
    p[chronic] = [0.5, 0.0, 0.5, 0.0, 0.0]
    p[ill] = [0.0, 0.0, 0.4, 0.6, 0.0]
    p[disabled] = [0.3, 0.0, 0.3, 0.4, 0.0]
    return p
