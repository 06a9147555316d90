"""monitor core with the shipped monitoring-2021 pack on inline frames."""

from __future__ import annotations

import pandas as pd
import pytest

from fupin_cli.core.monitor import canonical_category, monitor_list, run_monitor
from fupin_cli.engine import load_pack


@pytest.fixture(scope="module")
def pack():
    return load_pack("monitoring-2021")


def frame(rows):
    cols = {k for r in rows for k in r}
    data = {k: [r.get(k) for r in rows] for k in sorted(cols)}
    df = pd.DataFrame(data)
    for k in ("income_per_capita", "compliant_expense", "net_income", "previous_income_per_capita", "medical_expense"):
        if k in df:
            df[k] = pd.array(df[k], dtype="Float64")
    for k in ("household_size", "monitored_months", "measures_count"):
        if k in df:
            df[k] = pd.array(df[k], dtype="Int64")
    for k in ("risk_eliminated", "no_labour_household", "unsafe_housing", "income_drop"):
        if k in df:
            df[k] = pd.array(df[k], dtype="boolean")
    return df


BASE = {"township": "甲镇", "village": "一村", "household_size": 2, "head_name": "张三"}


def row(hid, **kw):
    return {**BASE, "household_id": hid, **kw}


def test_categories_and_risks(pack):
    hh = frame([
        row("U", household_type="脱贫户", income_per_capita=5000, risk_types="因病"),              # 脱贫不稳定户
        row("M", household_type="一般农户", income_per_capita=5000, risk_types="因残、因学"),       # 边缘易致贫户
        row("S", household_type="一般农户", income_per_capita=30000, net_income=60000, compliant_expense=70000),  # 突发严重困难户
        row("D", household_type="一般农户", income_per_capita=30000, previous_income_per_capita=80000),  # income halved
        row("N", household_type="一般农户", income_per_capita=5000),                                 # below the line, no risk
        row("R", household_type="一般农户", income_per_capita=8050, risk_types="因病"),              # exactly at the 云南 2023 line
    ])
    r, _ = run_monitor(hh, None, pack, 2023, "云南")
    got = dict(zip(r.households["household_id"], r.households["monitoring_category"].astype(object).where(
        r.households["monitoring_category"].notna(), None)))
    assert got == {"U": "脱贫不稳定户", "M": "边缘易致贫户", "S": "突发严重困难户", "D": "突发严重困难户", "N": None, "R": None}
    risks = dict(zip(r.households["household_id"], r.households["risk_types"]))
    assert risks["M"] == "因残、因学"
    assert r.summary()["new_by_category"] == {"脱贫不稳定户": 1, "边缘易致贫户": 1, "突发严重困难户": 2}
    assert r.households.set_index("household_id").loc["S", "monitoring_basis"].startswith("刚性支出远超收入或收入大幅缩减")


def test_province_line_from_the_pack(pack):
    hh = frame([row("F", household_type="一般农户", income_per_capita=9000, risk_types="因病")])
    assert run_monitor(hh, None, pack, 2023, "云南")[0].households["monitoring_status"].tolist() == ["非监测对象"]  # 8050
    assert run_monitor(hh, None, pack, 2023, region="福建")[0].households["monitoring_status"].tolist() == ["新纳入监测"]


def test_elimination_for_monitored_households(pack):
    ok = {"household_type": "监测户", "monitoring_category": "边缘易致贫户", "income_per_capita": 12000,
              "monitored_months": 8, "measures_count": 1}
    hh = frame([
        row("E1", risk_types="因病", **ok),                                 # 帮扶消除: risk still recorded
        row("E2", **ok),                                                   # 自然消除: no risk fires any more
        row("T", **{**ok, "monitored_months": 5}),                        # < 6 months
        row("Z", **{**ok, "measures_count": 0}),                          # no measure
        row("I", **{**ok, "income_per_capita": 8050}),                    # income at the line
        row("H", **{**ok, "unsafe_housing": True}),                       # 住房
        row("L", **{**ok, "no_labour_household": True}),                  # 整户无劳动力: never eliminated
        row("X", **{**ok, "risk_eliminated": True}, ),                    # eliminated before: re-judged, not monitored
    ])
    hh["unsafe_housing"] = hh["unsafe_housing"].fillna(False)
    hh["safe_water"] = pd.array([True] * len(hh), dtype="boolean")
    hh["income_drop"] = pd.array([False] * len(hh), dtype="boolean")  # the columns the elimination rules read
    mem = pd.DataFrame({"household_id": hh["household_id"], "birth_date": pd.to_datetime(["1970-01-01"] * len(hh)),
                        "labour": "普通劳动力", "health": "健康", "school_status": "非在校生",
                        "medical_insurance": pd.array([True] * len(hh), dtype="boolean")})
    r, _ = run_monitor(hh, mem, pack, 2023, "云南")
    h = r.households.set_index("household_id")
    assert h["monitoring_status"].to_dict() == {"E1": "风险消除", "E2": "风险消除", "T": "继续监测", "Z": "继续监测",
                                                "I": "继续监测", "H": "继续监测", "L": "继续监测", "X": "非监测对象"}
    assert h.loc["E1", "elimination_method"] == "帮扶消除"
    assert h.loc["E2", "elimination_method"] == "自然消除"
    assert h.loc["T", "elimination_unmet"].startswith("未满足“纳入监测满规定月数”：已监测月数 5 月，低于风险消除：最短监测时间 6 月（2021，国家）")
    assert h.loc["Z", "elimination_unmet"].startswith("未满足“落实帮扶措施达到规定项数”：")
    assert h.loc["I", "elimination_unmet"].startswith("未满足“人均纯收入稳定高于当年监测范围”：")
    assert h.loc["H", "elimination_unmet"].startswith("未满足“住房安全有保障”：")
    assert "非整户无劳动力" in h.loc["L", "elimination_unmet"]
    counts = r.elimination.set_index("rule")["households"]
    assert (counts["elim_months"], counts["elim_measures"], counts["elim_has_labour"]) == (1, 1, 1)
    assert r.notes == ["1 户此前已标注风险消除，按未监测户重新判定"]
    s = r.summary()
    assert s["elimination_methods"] == {"帮扶消除": 1, "自然消除": 1}
    assert s["monitoring_status"]["继续监测"] == {"households": 5, "people": 10}


def test_by_village_and_lists(pack):
    hh = frame([
        row("A", village="一村", household_type="脱贫户", income_per_capita=5000, risk_types="因病",
            head_id_number="110101198001010017"),
        row("B", village="二村", household_type="一般农户", income_per_capita=5000, risk_types="因病"),
    ])
    r, _ = run_monitor(hh, None, pack, 2023, "云南")
    v = r.by_village()
    assert v.columns.tolist() == ["township", "village", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "监测对象合计", "风险消除"]
    assert v.iloc[-1].tolist() == ["合计", "", 1, 1, 0, 2, 0]
    assert r.risk_counts().values.tolist() == [["因病", 2, 4]]
    lst = monitor_list(r.objects(), None)
    assert lst["head_id_masked"].tolist()[0] == "110101********0017"


def test_recorded_category_spellings():
    cats = ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
    assert [canonical_category(v, cats) for v in ("脱贫不稳定", "边缘易致贫户", "突发严重困难", "其他类")] == \
        ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "其他类"]
