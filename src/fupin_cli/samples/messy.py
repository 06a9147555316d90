"""Messy mode: plant a documented set of faults into a generated county.

Each fault goes into its own household (chosen at random among those that qualify) and is
recorded in ``Truth.faults`` with the household, member, field and the Excel sheet, row and
column where it lands in the ``template`` layout.  Values that a clerk would type
differently (an ID as a number, money as ``"12,345.5"`` or ``"2300元"``, booleans as √/× or
有/无) are kept in the Roster *as written* (object columns), so the writer writes them as
they are; read the file back with ``fupin_cli.io.read`` to get typed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.roster import Roster
from fupin_cli.samples import ids
from fupin_cli.samples.generate import State, to_roster
from fupin_cli.samples.rand import stream
from fupin_cli.samples.truth import FAULT_COLUMNS, Truth

MIN_HOUSEHOLDS = 40
LAYOUT = "template"

FAULTS: dict[str, str] = {
    "id.checksum": "身份证号校验位错误",
    "id.lowercase_x": "身份证号末位写成小写x",
    "id.15_digit": "15位旧身份证号（未升位）",
    "id.numeric": "身份证号存为数值单元格（Excel只保留15位有效数字）",
    "id.fullwidth": "身份证号为全角数字",
    "person.duplicate": "同一人（同一身份证号）出现在两户",
    "household.size_mismatch": "家庭人口数与成员人数不符（多1人）",
    "member.missing_required": "必填项为空：健康状况",
    "income.net_mismatch": "纯收入≠工资性+生产经营性+财产性+转移性收入−生产经营性支出（多1000元）",
    "income.per_capita_mismatch": "人均纯收入≠纯收入/家庭人口数（按人口数+1计算）",
    "relation.spouse_same_sex": "户主与配偶性别相同",
    "relation.son_female": "与户主关系为之子但性别为女",
    "school.adult_in_primary": "约25岁的成员在校生状况为小学",
    "school.child_in_senior": "约12岁的成员在校生状况为高中一年级",
    "labour.healthy_no_labour": "约35岁健康成员劳动技能为无劳动力",
    "household.no_head": "户内没有户主（户主一行写成其他）",
    "household.two_heads": "户内有两个户主（配偶写成户主）",
    "dibao.no_member": "低保户但没有成员享受低保",
    "cause.illness_all_healthy": "主要致贫原因为因病但成员均健康",
    "cause.school_no_student": "主要致贫原因为因学但没有在校生",
    "cause.disability_none_disabled": "主要致贫原因为因残但没有残疾成员",
    "money.text_thousands": "金额写成带千分位的文本（如\"12,345.5\"）",
    "money.text_unit": "金额写成带“元”的文本（如\"2300元\"）",
    "bool.check_marks": "是否危房整列写成√/×",
    "bool.you_wu": "有无卫生厕所整列写成有/无",
}
RAW_COLUMNS = frozenset({"id_number", "wage_income", "business_income", "unsafe_housing", "sanitary_toilet"})
FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


class _Planter:
    def __init__(self, state: State, truth: Truth):
        self.s = state
        self.h = state.households.copy()
        self.m = state.members.copy()
        self.truth = truth
        self.rng = stream(state.seed, "messy")
        self.used: set[str] = set()
        self.records: list[dict] = []
        self.age = state.year - pd.DatetimeIndex(self.m["birth_date"]).year.to_numpy()
        self.m["id_number"] = self.m["id_number"].astype(object)

    # -- choosing -----------------------------------------------------------------------
    def _free(self, hid: pd.Series) -> np.ndarray:
        return ~hid.isin(self.used).to_numpy()

    def member(self, mask: np.ndarray, near_age: int | None = None) -> int | None:
        """Row label of a qualifying member in an unused household (closest to ``near_age``)."""
        ok = np.flatnonzero(np.asarray(mask, dtype=bool) & self._free(self.m["household_id"]))
        if not len(ok):
            return None
        if near_age is not None:
            d = np.abs(self.age[ok] - near_age)
            ok = ok[d == d.min()]
        i = int(ok[self.rng.integers(0, len(ok))])
        self.used.add(str(self.m["household_id"].iloc[i]))
        return self.m.index[i]

    def household(self, mask: np.ndarray) -> int | None:
        ok = np.flatnonzero(np.asarray(mask, dtype=bool) & self._free(self.h["household_id"]))
        if not len(ok):
            return None
        i = int(ok[self.rng.integers(0, len(ok))])
        self.used.add(str(self.h["household_id"].iloc[i]))
        return self.h.index[i]

    def record(self, fault: str, field: str, *, member: int | None = None, household: int | None = None, value=None):
        if member is not None:
            hid, mid = str(self.m.at[member, "household_id"]), str(self.m.at[member, "member_id"])
            value = self.m.at[member, field] if value is None else value
        else:
            hid, mid = str(self.h.at[household, "household_id"]), ""
            value = self.h.at[household, field] if value is None else value
        shown = ids.mask(str(value)) if "id_number" in field else _shown(value)
        self.records.append({"fault": fault, "description": FAULTS[fault], "household_id": hid, "member_id": mid,
                             "field": field, "value": shown})

    def hh_of(self, member: int) -> int:
        hid = self.m.at[member, "household_id"]
        return self.h.index[self.h["household_id"] == hid][0]

    def members_of(self, hidx: int) -> np.ndarray:
        return (self.m["household_id"] == self.h.at[hidx, "household_id"]).to_numpy()

    def agg(self, mask: np.ndarray, how: str = "any") -> np.ndarray:
        """Per household (aligned with self.h): any/all of a member mask."""
        s = pd.Series(np.asarray(mask, dtype=bool), index=self.m["household_id"].to_numpy())
        g = s.groupby(level=0).agg(how)
        return self.h["household_id"].map(g).fillna(how == "all").to_numpy(dtype=bool)


def _found(row: int | None, what: str) -> int:
    """A row the planter found (MIN_HOUSEHOLDS leaves room for every fault: None is a bug)."""
    if row is None:
        raise RuntimeError(f"messy sample: no {what} left to plant a fault on")
    return row


def plant_faults(state: State, truth: Truth) -> tuple[Roster, Truth]:
    n = len(state.households)
    if n < MIN_HOUSEHOLDS:
        raise UsageError(f"messy samples need at least {MIN_HOUSEHOLDS} households (got {n})",
                         f"use --households {MIN_HOUSEHOLDS} or more")
    p = _Planter(state, truth)
    m, h = p.m, p.h
    rel = m["relation"].to_numpy(dtype=object)
    head = rel == "户主"
    plain = ~head & m["disability_cert"].isna().to_numpy()
    idn = m["id_number"].astype(str)

    # --- ID numbers -------------------------------------------------------------------
    i = p.member(plain)
    v = m.at[i, "id_number"]
    good = ids.check_char(v[:17])
    m.at[i, "id_number"] = v[:17] + "0123456789X"[("0123456789X".index(good) + 3) % 11]
    p.record("id.checksum", "id_number", member=i)

    i = p.member(plain & idn.str.endswith("X").to_numpy())
    if i is None:
        i = p.member(plain)
        m.at[i, "id_number"] = _force_x(m.at[i, "id_number"], m.at[i, "sex"] == "男")
    m.at[i, "id_number"] = m.at[i, "id_number"][:17] + "x"
    p.record("id.lowercase_x", "id_number", member=i)

    born_19xx = (idn.str[6:8] == "19").to_numpy()
    i = p.member(plain & born_19xx & (p.age >= 30))
    m.at[i, "id_number"] = ids.to_15(m.at[i, "id_number"])
    p.record("id.15_digit", "id_number", member=i)

    i = p.member(plain & ~idn.str.endswith("X").to_numpy())
    m.at[i, "id_number"] = float(f"{int(m.at[i, 'id_number']):.15g}")  # Excel keeps 15 significant digits
    p.record("id.numeric", "id_number", member=i)

    i = p.member(plain)
    m.at[i, "id_number"] = m.at[i, "id_number"].translate(FULLWIDTH)
    p.record("id.fullwidth", "id_number", member=i)

    # --- a person in two households ---------------------------------------------------
    a = p.member(plain & (p.age >= 18))
    b = p.household(np.ones(len(h), dtype=bool))
    copy = m.loc[[a]].copy()
    bid = h.at[b, "household_id"]
    seq = int(m.loc[m["household_id"] == bid, "seq"].max()) + 1
    copy["household_id"], copy["relation"], copy["seq"] = bid, "其他", seq
    copy["member_id"] = f"{bid}{seq:03d}"
    copy.index = [m.index.max() + 1]
    p.m = m = pd.concat([m, copy])
    p.age = np.append(p.age, p.age[m.index.get_loc(a)])
    h.at[b, "household_size"] += 1
    h.at[b, "income_per_capita"] = round(h.at[b, "net_income"] / h.at[b, "household_size"], 2)
    p.record("person.duplicate", "id_number", member=copy.index[0])
    p.records[-1]["description"] += f"（另见户 {m.at[a, 'household_id']} 成员 {m.at[a, 'member_id']}）"
    rel = m["relation"].to_numpy(dtype=object)
    head = rel == "户主"

    # --- household and member fields --------------------------------------------------
    k = p.household(np.ones(len(h), dtype=bool))
    h.at[k, "household_size"] += 1
    p.record("household.size_mismatch", "household_size", household=k)

    i = p.member(~head)
    m.at[i, "health"] = None
    p.record("member.missing_required", "health", member=i, value="")

    k = p.household(np.ones(len(h), dtype=bool))
    h.at[k, "net_income"] += 1000
    h.at[k, "income_per_capita"] = round(h.at[k, "net_income"] / h.at[k, "household_size"], 2)
    p.record("income.net_mismatch", "net_income", household=k)

    k = p.household(h["household_size"].to_numpy() >= 2)
    h.at[k, "income_per_capita"] = round(h.at[k, "net_income"] / (h.at[k, "household_size"] + 1), 2)
    p.record("income.per_capita_mismatch", "income_per_capita", household=k)

    i = p.member(rel == "配偶")
    hmask = p.members_of(p.hh_of(_found(i, "spouse"))) & head
    head_sex = m.loc[hmask, "sex"].iloc[0]
    _set_sex(m, i, head_sex)
    p.record("relation.spouse_same_sex", "sex", member=i)

    i = p.member(rel == "之子")
    _set_sex(m, i, "女")
    p.record("relation.son_female", "sex", member=i)

    i = p.member(~head & (p.age >= 20) & (p.age <= 35), near_age=25)
    m.at[i, "school_status"], m.at[i, "education"] = "小学", "小学"
    p.record("school.adult_in_primary", "school_status", member=i)

    i = p.member((p.age >= 10) & (p.age <= 14), near_age=12)
    m.at[i, "school_status"] = "高中一年级"
    p.record("school.child_in_senior", "school_status", member=i)

    ok = (m["health"] == "健康").to_numpy() & (m["school_status"] == "非在校生").to_numpy() \
        & m["labour"].isin(["普通劳动力", "技能劳动力"]).to_numpy() & (p.age >= 25) & (p.age <= 50) \
        & (m["work_months"].to_numpy(dtype=float) == 0)  # not a migrant: the household's wage stays consistent
    i = p.member(ok, near_age=35)
    m.at[i, "labour"], m.at[i, "work_status"], m.at[i, "work_months"] = "无劳动力", None, 0.0
    p.record("labour.healthy_no_labour", "labour", member=i)

    i = p.member(head & (h.set_index("household_id")["household_size"].reindex(m["household_id"]).to_numpy() >= 2))
    m.at[i, "relation"] = "其他"
    p.record("household.no_head", "relation", member=i)

    i = p.member(rel == "配偶")
    m.at[i, "relation"] = "户主"
    p.record("household.two_heads", "relation", member=i)

    k = p.household(h["dibao_household"].to_numpy(dtype=bool))
    if k is None:
        k = p.household(np.ones(len(h), dtype=bool))
        h.at[k, "dibao_household"] = True
    m.loc[p.members_of(_found(k, "household")), "on_dibao"] = False
    p.record("dibao.no_member", "dibao_household", household=k)

    # --- recorded causes contradicting the members ------------------------------------
    recorded = h["recorded_attribute"].notna().to_numpy()
    all_healthy = p.agg((m["health"] == "健康").to_numpy(), "all")
    no_student = p.agg((m["school_status"] == "非在校生").to_numpy(), "all")
    nobody_disabled = ~p.agg((m["health"] == "残疾").to_numpy(), "any")
    for fault, cause, ok in (("cause.illness_all_healthy", "因病", all_healthy),
                             ("cause.school_no_student", "因学", no_student),
                             ("cause.disability_none_disabled", "因残", nobody_disabled)):
        k = p.household(ok & recorded)
        if k is None:
            k = p.household(ok)
            h.at[k, "recorded_attribute"], h.at[k, "exit_status"] = "一般贫困户", "未脱贫"
        h.at[k, "recorded_primary_cause"] = cause
        sec = h.at[k, "recorded_secondary_causes"]
        if isinstance(sec, str):
            rest = "、".join(c for c in sec.split("、") if c != cause)
            h.at[k, "recorded_secondary_causes"] = rest or None
        p.record(fault, "recorded_primary_cause", household=k)

    # --- money and booleans as text ---------------------------------------------------
    k = p.household(h["wage_income"].to_numpy(dtype=float) >= 1000)
    for col in ("wage_income", "annual_income", "net_income"):
        h.at[k, col] += 0.5
    h.at[k, "income_per_capita"] = round(h.at[k, "net_income"] / h.at[k, "household_size"], 2)
    _refresh_truth(truth, h.loc[[k, b]])
    h["wage_income"] = h["wage_income"].astype(object)
    h.at[k, "wage_income"] = f"{h.at[k, 'wage_income']:,.1f}"
    p.record("money.text_thousands", "wage_income", household=k)

    k = p.household(h["business_income"].to_numpy(dtype=float) >= 100)
    h["business_income"] = h["business_income"].astype(object)
    h.at[k, "business_income"] = f"{int(h.at[k, 'business_income'])}元"
    p.record("money.text_unit", "business_income", household=k)

    for fault, col, yes, no in (("bool.check_marks", "unsafe_housing", "√", "×"), ("bool.you_wu", "sanitary_toilet", "有", "无")):
        vals = h[col].astype("boolean")
        h[col] = pd.Series(np.where(vals.fillna(False), yes, no), index=h.index, dtype=object).where(vals.notna(), None)
        first = h.index[vals.fillna(False).to_numpy()]
        p.record(fault, col, household=first[0] if len(first) else h.index[0])

    state.households, state.members = h, m
    roster = to_roster(state, LAYOUT, RAW_COLUMNS)
    located = relocate(roster, Truth(truth.year, truth.seed, truth.county, truth.poverty_line, True, truth.households,
                                     pd.DataFrame(p.records).reindex(columns=FAULT_COLUMNS)), LAYOUT)
    faults = located.faults
    th = truth.households
    per_hh = faults.groupby("household_id")["fault"].agg(",".join)
    th["faults"] = th["household_id"].map(per_hh).fillna("")
    th["recorded_poor"] = th["household_id"].map(h.set_index("household_id")["recorded_attribute"].notna()).astype(bool)
    return roster, Truth(truth.year, truth.seed, truth.county, truth.poverty_line, True, th, faults, LAYOUT)


def _shown(value) -> str:
    """A value as it appears in the written cell (是/否 for booleans, whole numbers without .0)."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _set_sex(m: pd.DataFrame, i, sex: str) -> None:
    m.at[i, "sex"] = sex
    m.at[i, "id_number"] = ids.with_sex(m.at[i, "id_number"], sex == "男")


def _force_x(id18: str, male: bool) -> str:
    """The same person's ID with a sequence number whose check character is X."""
    for seq in range(1 if male else 0, 1000, 2):
        first17 = f"{id18[:14]}{seq:03d}"
        if ids.check_char(first17) == "X":
            return first17 + "X"
    return id18


def _refresh_truth(truth: Truth, rows: pd.DataFrame) -> None:
    th = truth.households
    for _, r in rows.iterrows():
        sel = th["household_id"] == r["household_id"]
        th.loc[sel, "household_size"] = int(r["household_size"])
        th.loc[sel, "income_per_capita"] = float(r["income_per_capita"])
        below = float(r["income_per_capita"]) < truth.poverty_line
        th.loc[sel, "below_line"] = below
        th.loc[sel, "expected_status"] = "贫困户" if below and not bool(th.loc[sel, "excluded"].iloc[0]) else "非贫困户"


def relocate(roster: Roster, truth: Truth, layout: str) -> Truth:
    """The same Truth with fault positions for another written ``layout``.

    In the ``household`` layout member faults are not written: their row is <NA>.
    """
    from fupin_cli.io.write_roster import SHEETS, column_letter, columns, row_numbers
    from fupin_cli.schema import MEMBER_FIELD_NAMES

    hsheet, msheet = SHEETS[layout]
    hrows, mrows = row_numbers(roster, layout)
    hrow = dict(zip(roster.households["household_id"].astype(str), hrows.tolist()))
    mrow = dict(zip(roster.members["member_id"].astype(str), mrows.tolist()))
    plans: dict[str, dict] = {}
    faults = truth.faults.copy()
    sheets, rows, letters, headers = [], [], [], []
    for hid, mid, f in zip(faults["household_id"], faults["member_id"], faults["field"]):
        member = f in MEMBER_FIELD_NAMES
        sheet = msheet if member and layout == "two-sheet" else hsheet
        if sheet not in plans:
            cols = columns(roster, layout, sheet if layout == "two-sheet" else None)
            plans[sheet] = {c.field: (column_letter(i), c.header) for i, c in enumerate(cols)}
        letter, header = plans[sheet].get(f, ("", ""))
        row = mrow.get(mid) if member and mid else hrow.get(hid)
        sheets.append(sheet)
        rows.append(None if (row is None or row < 0 or not letter) else row)
        letters.append(letter)
        headers.append(header)
    faults["sheet"], faults["column"], faults["header"] = sheets, letters, headers
    faults["row"] = pd.array(rows, dtype="Int64")
    return Truth(truth.year, truth.seed, truth.county, truth.poverty_line, truth.messy, truth.households, faults, layout)
