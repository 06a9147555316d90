"""Household-level generation: geography, living conditions, income, exclusions, causes.

Income model (documented in docs/samples.md): raw components are built from the members
(migrant months × wage by place, land × yield, benefits for 低保/特困/pensions), then the
``poor_share`` households with the lowest raw per-capita income (times noise) get a target
per-capita income of 40–97 % of the poverty line and all others at least 102 % of it.  Wage,
business, property income and business expense are scaled to hit the target; transfers are
kept (scaled down only when they alone would exceed it).  Every component is a whole yuan
and 纯收入 = 工资 + 经营 + 财产 + 转移 − 经营支出, 人均纯收入 = round(纯收入 / 家庭人口数, 2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fupin_cli.samples import names
from fupin_cli.samples.rand import as_str, digits, group_any, group_positions, group_sum, isin, join, pick, text

# national rural poverty line (现价, 元/人·年), domain.md §1.1; 2017 [S], 2018 UNVERIFIED
POVERTY_LINES: dict[int, int] = {
    2010: 2300, 2011: 2536, 2012: 2625, 2013: 2736, 2014: 2800, 2015: 2855,
    2016: 2952, 2017: 2952, 2018: 2995, 2019: 3218, 2020: 4000,
}

# exit standard (脱贫标准, 元/人·年): rules/national-2014 exit_standard (the line before 2014; 6% series from 2800)
EXIT_STANDARDS: dict[int, int] = {
    2010: 2300, 2011: 2536, 2012: 2625, 2013: 2736, 2014: 2800, 2015: 2968,
    2016: 3146, 2017: 3335, 2018: 3535, 2019: 3747, 2020: 4000,
}

CAUSE_ORDER = ["因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力", "缺资金",
               "交通条件落后", "自身发展动力不足", "其他"]
CAUSE_WEIGHTS = np.array([8, 4, 3, 2, 2, 2, 1.5, 4, 1.5, 2, 1, 0.01])
WAGE_BY_PLACE = {"乡(镇)内务工": 1500, "乡(镇)外县内务工": 1800, "县外省内务工": 2300, "省外务工": 2800}
EXCLUSION_FIELDS = ["has_public_employee", "has_village_cadre", "has_vehicle", "has_town_property",
                    "has_company", "large_scale_operator", "split_household", "absentee_registration"]
MONEY_COMPONENTS = ["wage_income", "business_income", "property_income", "transfer_income", "business_expense"]


def geography(rng: np.random.Generator, n: int, county: names.County) -> dict[str, Any]:
    """Townships, villages and a household id for each of ``n`` households."""
    per_village = float(np.clip(15 * (n / 60) ** 0.3, 12, 400))
    n_vil = max(1, round(n / per_village))
    n_town = 1 if n_vil < 2 else int(np.clip(round(n_vil / 8), 2, 999))
    n_town = min(n_town, n_vil)
    vil_town = np.arange(n_vil) * n_town // n_vil
    _, vil_idx_in_town = group_positions(np.bincount(vil_town, minlength=n_town))
    weights = rng.gamma(4.0, size=n_vil)
    counts = rng.multinomial(n, weights / weights.sum())
    village = np.repeat(np.arange(n_vil), counts)
    n_pairs = len(names.PLACE_CHARS) ** 2
    pc = np.asarray(names.PLACE_CHARS)

    def place(idx):
        return np.strings.add(pc[idx // len(pc)], pc[idx % len(pc)])

    town_pair = rng.choice(n_pairs, n_town, replace=n_town > n_pairs)
    town_name = np.strings.add(place(town_pair), np.where(rng.random(n_town) < 0.7, "镇", "乡"))
    if n_vil <= n_pairs:  # village names unique in the county
        vil_pair = rng.choice(n_pairs, n_vil, replace=False)
    else:  # unique within each township
        vil_pair = (town_pair[vil_town] + 7 * vil_idx_in_town + 1) % n_pairs
    vil_name = [p + "村" for p in place(vil_pair).tolist()]
    town = vil_town[village]
    _, seq_in_village = group_positions(counts)
    width = max(4, len(str(int(counts.max()))))
    vil_code = np.full(n_vil, county.code, dtype=np.int64) * 10**6 + (vil_town + 1) * 1000 + vil_idx_in_town + 1
    household_id = digits(vil_code[village] * 10**width + seq_in_village + 1, 12 + width)
    group = 1 + (rng.random(n) * np.clip(counts[village] // 12 + 1, 1, 12)).astype(np.int64)
    return {
        "village_idx": village, "township": text(town_name.tolist(), town), "village": text(vil_name, village),
        "natural_village": text([f"{g}组" for g in range(13)], group),
        "household_id": as_str(household_id), "n_villages": n_vil,
    }


def conditions(rng: np.random.Generator, n: int, size: np.ndarray) -> dict[str, np.ndarray]:
    """生产生活条件: land, housing, water, road, power..."""
    u = rng.random((n, 16))
    arable = np.round(size * rng.gamma(2.0, 0.6, n), 1)
    structure = pick(u[:, 0], [0.5, 0.25, 0.2, 0.05])  # 砖混, 砖木, 土木, 钢混
    p_unsafe = np.select([structure == 2, structure == 1], [0.35, 0.1], 0.02)
    unsafe = u[:, 1] < p_unsafe
    cramped = u[:, 2] < 0.06
    per_person = np.where(cramped, 8 + u[:, 3] * 4.5, 15 + u[:, 3] * 25)
    water_difficulty = u[:, 4] < 0.06
    far = u[:, 5] < 0.04
    road = np.where(far, 3.1 + u[:, 6] * 12, rng.exponential(0.6, n))
    return {
        "arable_land": arable,
        "irrigated_land": np.round(arable * u[:, 7] * 0.6, 1),
        "forest_land": np.round(rng.gamma(1.2, 1.0, n) * size * 0.5, 1),
        "grain_for_green": np.where(u[:, 8] < 0.3, np.round(0.5 + u[:, 9] * 3.5, 1), 0.0),
        "coop_member": u[:, 10] < 0.12,
        "production_power": u[:, 11] < 0.85,
        "domestic_power": u[:, 12] < 0.995,
        "broadcast_tv": u[:, 13] < 0.96,
        "road_distance_km": np.round(road, 1),
        "road_type": text(["泥土路", "砂石路", "水泥路", "沥青路"], pick(u[:, 14], [0.2, 0.25, 0.5, 0.05])),
        "housing_area": np.round(size * per_person, 0),
        "housing_structure": text(["砖混", "砖木", "土木", "钢混"], structure),
        "unsafe_housing": unsafe,
        "unsafe_housing_level": text(["C级", "D级"], (u[:, 15] >= 0.6).astype(np.int64), missing=~unsafe),
        "water_difficulty": water_difficulty,
        "safe_water": ~water_difficulty & (rng.random(n) < 0.96),
        "fuel_type": text(["柴草", "煤", "电", "液化气", "沼气"], pick(rng.random(n), [0.45, 0.2, 0.15, 0.12, 0.08])),
        "sanitary_toilet": rng.random(n) < 0.55,
        "food_clothing_secure": rng.random(n) < 0.99,
        "military_family": rng.random(n) < 0.01,
    }


def raw_income(rng: np.random.Generator, n: int, hh: np.ndarray, m: dict, cond: dict, flags: dict) -> dict[str, np.ndarray]:
    """Income components before calibration (floats, 元/年)."""
    mm = len(hh)
    wage_rate = np.zeros(mm)
    for place, rate in WAGE_BY_PLACE.items():
        wage_rate[m["work_status"] == place] = rate
    wage_rate *= 0.8 + 0.4 * rng.random(mm)
    local = m["work_status"] == "其他"
    wage = group_sum(hh, wage_rate * m["work_months"], n)  # 工资性收入 only from members who work away (务工)
    local_work = group_sum(hh, np.where(local, rng.random(mm) * 3000, 0), n)  # farming, odd jobs at home
    has_lab = group_any(hh, local | (m["work_months"] > 0), n)
    business = (cond["arable_land"] * (600 + 500 * rng.random(n)) + np.where(has_lab, rng.random(n) * 4000, 0)
                + local_work + 300 + rng.random(n) * 500)
    expense = business * (0.25 + 0.2 * rng.random(n))
    dividend = np.zeros(n)
    other_property = np.where(rng.random(n) < 0.1, 100 + rng.random(n) * 1900, 0)
    on_dibao = m["on_dibao"]
    dibao = group_sum(hh, on_dibao, n) ** 0.7 * (600 + 600 * rng.random(n))
    dibao = np.where(flags["dibao_household"], dibao, 0)
    tekun = np.where(flags["tekun_household"], 1500 + 1000 * rng.random(n), 0)
    pension = group_sum(hh, (m["age"] >= 60) & m["pension_insurance"], n) * 840
    fp = np.where(group_any(hh, m["age"] >= 60, n) & (rng.random(n) < 0.05), 960, 0)
    eco = cond["grain_for_green"] * 125
    other_transfer = 100 + rng.random(n) * 300
    return {"wage_income": wage, "business_income": business, "business_expense": expense,
            "dividend_income": dividend, "other_property": other_property, "dibao_benefit": dibao,
            "tekun_benefit": tekun, "pension_benefit": pension.astype(float), "family_planning_subsidy": fp.astype(float),
            "eco_compensation": eco, "other_transfer": other_transfer}


def calibrate(raw: dict[str, np.ndarray], size: np.ndarray, target_pc: np.ndarray) -> dict[str, np.ndarray]:
    """Scale components so that 人均纯收入 ≈ ``target_pc``; whole-yuan components, exact formula."""
    target_net = target_pc * size
    transfer_items = ["dibao_benefit", "tekun_benefit", "pension_benefit", "family_planning_subsidy", "eco_compensation", "other_transfer"]
    transfer = sum(raw[k] for k in transfer_items)
    t_scale = np.minimum(1.0, 0.85 * target_net / np.maximum(transfer, 1.0))
    market_raw = raw["wage_income"] + raw["business_income"] + raw["dividend_income"] + raw["other_property"] - raw["business_expense"]
    market_target = target_net - transfer * t_scale
    f = market_target / np.maximum(market_raw, 1.0)
    out = {k: np.rint(raw[k] * t_scale) for k in transfer_items}
    for k in ("wage_income", "business_income", "business_expense", "dividend_income", "other_property"):
        out[k] = np.rint(raw[k] * f)
    return finish_income(out, size)


def finish_income(c: dict[str, np.ndarray], size: np.ndarray) -> dict[str, np.ndarray]:
    """Totals from components: property, transfer, net, per capita, gross annual income."""
    c = dict(c)
    c["property_income"] = c["dividend_income"] + c["other_property"]
    c["transfer_income"] = (c["dibao_benefit"] + c["tekun_benefit"] + c["pension_benefit"]
                            + c["family_planning_subsidy"] + c["eco_compensation"] + c["other_transfer"])
    c["annual_income"] = c["wage_income"] + c["business_income"] + c["property_income"] + c["transfer_income"]
    c["net_income"] = c["annual_income"] - c["business_expense"]
    c["income_per_capita"] = np.round(c["net_income"] / size, 2)
    return c


def income_targets(rng: np.random.Generator, raw_pc: np.ndarray, line: float, poor_share: float) -> tuple[np.ndarray, np.ndarray]:
    """(target per-capita income, poor mask): the lowest ``poor_share`` by noisy raw income are poor."""
    n = len(raw_pc)
    score = raw_pc * rng.lognormal(0, 0.35, n)
    k = round(poor_share * n)
    poor = np.zeros(n, dtype=bool)
    poor[np.argsort(score, kind="stable")[:k]] = True
    median = float(np.median(raw_pc)) if n else 1.0
    rich = line * 1.02 + raw_pc / max(median, 1.0) * 1.6 * line * rng.lognormal(0, 0.3, n)
    near = rng.random(n) < 0.05
    rich = np.where(near, line * (1.02 + 0.18 * rng.random(n)), rich)
    target = np.where(poor, line * (0.40 + 0.57 * rng.random(n)), rich)
    return target, poor


def exclusions(rng: np.random.Generator, n: int, poor: np.ndarray) -> dict[str, np.ndarray]:
    """一票否决 flags: rarer among poor-looking households, but a few of them get one (识别不准)."""
    u = rng.random((n, 9))
    scale = np.where(poor, 0.4, 1.0)
    out = {
        "has_public_employee": u[:, 0] < 0.01 * scale,
        "has_village_cadre": u[:, 1] < 0.008 * scale,
        "has_vehicle": u[:, 2] < 0.02 * scale,
        "has_town_property": u[:, 3] < 0.01 * scale,
        "has_company": u[:, 4] < 0.003 * scale,
        "large_scale_operator": u[:, 5] < 0.008 * scale,
        "split_household": u[:, 6] < 0.002,
        "absentee_registration": u[:, 7] < 0.002,
    }
    out["vehicle_value"] = np.where(out["has_vehicle"], np.rint(30000 + u[:, 8] * 120000, ), np.nan)
    return out


def causes(rng: np.random.Generator, n: int, hh: np.ndarray, m: dict, cond: dict, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(primary cause, secondary causes joined by 、) consistent with members and conditions."""
    labouring = isin(m["labour"], ("普通劳动力", "技能劳动力"))
    student_hi = isin(m["school_status"], ("高中一年级", "高中二年级", "高中三年级", "中职一年级", "中职二年级",
                                               "中职三年级", "高职一年级", "高职二年级", "高职三年级", "大专及以上"))
    u = rng.random((n, 2))
    ok = np.stack([
        group_any(hh, isin(m["health"], ("患有大病", "长期慢性病")), n),
        group_any(hh, m["health"] == "残疾", n),
        group_any(hh, student_hi, n),
        u[:, 0] < 0.04,
        cond["arable_land"] / size < 0.5,
        cond["water_difficulty"],
        group_any(hh, labouring, n) & ~group_any(hh, m["labour"] == "技能劳动力", n),
        ~group_any(hh, labouring, n),
        np.ones(n, dtype=bool),
        cond["road_distance_km"] > 3,
        u[:, 1] < 0.04,
        np.ones(n, dtype=bool),
    ], axis=1)
    key = np.where(ok, np.log(CAUSE_WEIGHTS) + rng.gumbel(size=(n, len(CAUSE_ORDER))), -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    other = CAUSE_ORDER.index("其他")
    primary = text(CAUSE_ORDER, order[:, 0])
    second_ok = np.take_along_axis(ok, order[:, 1:3], axis=1)
    want = rng.random(n)
    s1 = second_ok[:, 0] & (want < 0.6) & (order[:, 1] != other)
    s2 = second_ok[:, 1] & (want < 0.2) & (order[:, 2] != other) & s1
    c1 = text(CAUSE_ORDER, order[:, 1])
    secondary = join(c1, text(["", "、"], s2.astype(np.int64)), text(CAUSE_ORDER + [""], np.where(s2, order[:, 2], len(CAUSE_ORDER))),
                     missing=~s1)
    return primary, secondary
