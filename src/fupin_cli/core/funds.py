"""资金监管: payment lists checked against the register and the pack's fund items (docs/funds.md).

:func:`check_funds` takes canonical frames (payments as read by ``io.read_payments``: one row per
payment with ``_source``/``_sheet``/``_row``; register households and members as read by
``io.register.read_register``) and returns findings (each with the payment's file, sheet and Excel
row), totals by village and item, the budget comparison and the 公告公示 frames.  ID and account
numbers appear only masked in messages and in the 公告.

Checks (``check`` ids):

* ``funds.not_in_register``: the payee matches no household (by 户编号, else by the payee's ID
  number among heads and members);
* ``funds.status``: the household's registry status is not one the item may go to (e.g. 非贫困户,
  待核实);
* ``funds.after_exit``: the household left the register (清退, 自然减少): error when the payment
  is dated after the year it left, warning when in that year (the register does not date the
  动态调整) or undated;
* ``funds.duplicate``: the same household paid for the same item in the same period again;
* ``funds.shared_account``: one bank account receives payments for several households;
* ``funds.payee_not_head`` (warning: a member of the household) / ``funds.payee_not_member``
  (error: not a member);
* ``funds.above_standard``: the amount exceeds the item's standard (× people for a per-person
  standard), or the household's total for the item in the period exceeds the cap;
* ``funds.bad_amount``: missing, zero or negative amount;
* ``funds.unknown_item`` / ``funds.item_not_in_force`` (warnings): the item is not in the pack, or
  not in force in the payment's year: its rules could not run on that payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_cli.core.summary import UNKNOWN_AREA, household_people, records
from fupin_cli.errors import InputError, RuleError
from fupin_cli.findings import concat_findings, count_by_severity, empty_findings, make_findings
from fupin_cli.idnumber import mask, mask_account
from fupin_cli.schema import REGISTRY_GONE, REGISTRY_REMOVED, SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET, normalise_header

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack
    from fupin_cli.engine.model import FundsSpec

LEFT = (REGISTRY_REMOVED, REGISTRY_GONE)
ONCE = "一次性"
BUDGET_ALIASES = {
    "township": ("乡镇", "乡(镇)", "township"),
    "village": ("行政村", "村", "village"),
    "item": ("资金项目", "项目", "项目名称", "补助项目", "item"),
    "budget": ("预算", "预算金额", "计划金额", "下达金额", "资金规模", "安排资金", "budget"),
}
COUNTY_WORDS = ("全县", "合计", "县", "")


@dataclass
class FundsResult:
    payments: pd.DataFrame  # one row per payment: canonical + matched household, item, status, allowed amount
    findings: pd.DataFrame  # Findings frame
    totals: pd.DataFrame  # township, village, item, households, payments, amount
    budget: pd.DataFrame | None  # level, township, village, item, budget, paid, remaining, result
    notes: list[str] = field(default_factory=list)
    assistance: pd.DataFrame | None = None  # 驻村帮扶 per village (with --assist): see assistance_ledger

    def add_assistance(self, villages: pd.DataFrame, findings: pd.DataFrame, notes: list[str]) -> None:
        self.assistance = villages
        self.findings = concat_findings([self.findings, findings])
        self.notes = [*self.notes, *notes]

    def counts(self) -> dict[str, Any]:
        by_check = self.findings["check"].value_counts().sort_index()
        return {
            "payments": len(self.payments),
            "amount": round(float(self.payments["amount_value"].fillna(0).sum()), 2),
            "matched": int(self.payments["matched_household"].notna().sum()),
            "households": int(self.payments["matched_household"].nunique()),
            "findings": count_by_severity(self.findings),
            "by_check": {k: int(v) for k, v in by_check.items()},
        }

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "findings": records(self.findings), "totals": records(self.totals),
                "budget": None if self.budget is None else records(self.budget),
                "assistance": None if self.assistance is None else records(self.assistance)}


# ---- helpers --------------------------------------------------------------------------------
def _text(df: pd.DataFrame, *names: str) -> pd.Series:
    """First present column of ``names`` as stripped text (blank → NA)."""
    out = pd.Series(pd.NA, index=df.index, dtype="object")
    for n in names:
        if n in df.columns:
            s = df[n].astype("str").str.strip()
            s = s.where(s.notna() & (s != ""))
            out = out.where(out.notna(), s.astype(object))
    return out


def _clean_id(s: pd.Series) -> pd.Series:
    t = s.astype("str").str.replace(r"\s+", "", regex=True).str.lstrip("'").str.upper()
    return t.where(t.notna() & (t != "")).astype(object)


def _clean_account(s: pd.Series) -> pd.Series:
    t = s.astype("str").str.replace(r"[\s\-]+", "", regex=True).str.lstrip("'")
    return t.where(t.notna() & (t != "")).astype(object)


def registry_status(households: pd.DataFrame) -> pd.Series:
    """建档立卡状态 where the register records it (reassess), else 识别结果 (identify)."""
    status = _text(households, "registry_status")
    return status.where(status.notna(), _text(households, "status"))


def _leave_year(households: pd.DataFrame, year: int) -> pd.Series:
    """Year a household left the register: the first 历年状态 entry with 清退/自然减少, else ``year``."""
    hist = _text(households, "status_history").fillna("")
    pattern = r"(\d{4})\s*[:：]\s*(?:" + "|".join(LEFT) + ")"
    found = hist.str.extract(pattern, expand=False)
    return pd.to_numeric(found, errors="coerce").fillna(year).astype(int)


def _item_index(funds: FundsSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in funds.items:
        for name in (item.label, item.id, *item.aliases):
            out[normalise_header(name)] = item
    return out


def _finding(p: pd.DataFrame, mask_rows: np.ndarray, check: str, severity: str, messages: pd.Series | str, hint: str,
             column: str = "") -> pd.DataFrame:
    sel = p[mask_rows]
    if sel.empty:
        return empty_findings()
    msg = messages[mask_rows] if isinstance(messages, pd.Series) else messages
    return make_findings(pd.DataFrame({
        "severity": severity, "check": check, "file": sel[SOURCE_FILE].astype(str) if SOURCE_FILE in sel else "",
        "sheet": sel[SOURCE_SHEET].astype(object).fillna("").astype(str) if SOURCE_SHEET in sel else "",
        "row": sel.get(SOURCE_ROW, pd.NA), "column": column,
        "household_id": sel["matched_household"].fillna(sel["given_household"]).fillna("").astype(str),
        "message": msg, "hint": hint}, index=sel.index))


def _who(p: pd.DataFrame) -> pd.Series:
    """收款人 name and masked ID for messages."""
    name = p["payee"].fillna("(无姓名)").astype(str)
    ident = p["payee_id"].map(lambda v: mask(v) if isinstance(v, str) else "无证件号")
    return name + "（" + ident + "）"


# ---- the checks -----------------------------------------------------------------------------
def check_funds(payments: pd.DataFrame, households: pd.DataFrame, members: pd.DataFrame, pack: Any, year: int,
                region: str | None = None, budget: pd.DataFrame | None = None) -> FundsResult:
    if pack.funds is None:
        raise RuleError(f"rule pack {pack.name} has no funds: section (fund items)", hint="add funds.yaml to the pack; see docs/funds.md")
    if "status" not in households.columns and "registry_status" not in households.columns:
        raise InputError("REGISTER has no 识别结果 or 建档立卡状态 column",
                         "give a register written by `fupin identify` or `fupin reassess`")
    from fupin_cli.engine.params import resolve

    notes: list[str] = []
    p = payments.copy()
    p["given_household"] = _text(p, "household_id")
    p["payee"] = _text(p, "payee_name", "name", "head_name")
    p["payee_id"] = _clean_id(_text(p, "payee_id_number", "id_number", "head_id_number"))
    p["account"] = _clean_account(_text(p, "payee_account", "bank_account"))
    p["item_text"] = _text(p, "fund_item")
    p["amount_value"] = pd.to_numeric(p["amount"], errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan) \
        if "amount" in p.columns else np.nan
    dates = pd.to_datetime(p["payment_date"], errors="coerce") if "payment_date" in p.columns else pd.Series(pd.NaT, index=p.index)
    p["pay_year"] = dates.dt.year.astype("Float64").fillna(year).astype(int)
    p["has_date"] = dates.notna()

    # register: households, heads and members by ID
    hh = households.reset_index(drop=True)
    hid = _text(hh, "household_id")
    status = registry_status(hh)
    info = pd.DataFrame({"status": status.to_numpy(), "people": household_people(hh).to_numpy(),
                         "township": _text(hh, "township").to_numpy(), "village": _text(hh, "village").to_numpy(),
                         "head": _text(hh, "head_name").to_numpy(), "leave_year": _leave_year(hh, year).to_numpy(),
                         "head_id": _clean_id(_text(hh, "head_id_number")).to_numpy()},
                        index=pd.Index(hid.to_numpy(), name="household_id"))
    info = info[~info.index.duplicated()]
    mem = members if members is not None and len(members) and "household_id" in members.columns else pd.DataFrame(
        {"household_id": pd.Series(dtype=object)})
    mid = pd.DataFrame({"household_id": _text(mem, "household_id"), "id": _clean_id(_text(mem, "id_number")),
                        "relation": _text(mem, "relation")})
    heads = mid[(mid["relation"] == "户主") & mid["id"].notna()].drop_duplicates("household_id").set_index("household_id")["id"]
    info["head_id"] = info["head_id"].where(info["head_id"].notna(), info.index.to_series().map(heads))
    id_to_hh = pd.concat([mid.dropna(subset=["id"]).set_index("id")["household_id"],
                          info["head_id"].dropna().reset_index().set_index("head_id")["household_id"]])
    id_to_hh = id_to_hh[~id_to_hh.index.duplicated()]
    member_keys = pd.MultiIndex.from_arrays([pd.concat([mid["household_id"], info.index.to_series()]).astype(object).to_numpy(),
                                             pd.concat([mid["id"], info["head_id"]]).astype(object).to_numpy()])

    known = p["given_household"].where(p["given_household"].isin(info.index))
    by_id = p["payee_id"].map(id_to_hh)
    p["matched_household"] = known.where(known.notna(), by_id)
    m = p["matched_household"]
    p["status"] = m.map(info["status"])
    p["people"] = m.map(info["people"])
    p["township"] = m.map(info["township"]).where(m.notna(), _text(p, "township")).fillna(UNKNOWN_AREA)
    p["village"] = m.map(info["village"]).where(m.notna(), _text(p, "village")).fillna(UNKNOWN_AREA)
    p["head_name"] = m.map(info["head"])

    index = _item_index(pack.funds)
    norm = p["item_text"].map(lambda t: normalise_header(t) if isinstance(t, str) else None)
    p["item_id"] = norm.map(lambda k: index[k].id if k in index else None).astype(object)
    items = {i.id: i for i in pack.funds.items}
    p["item"] = p["item_id"].map(lambda k: items[k].label if isinstance(k, str) else None).where(p["item_id"].notna(), p["item_text"]).fillna("(未填项目)")
    active = _per_pair(p, "item_id", "pay_year", lambda k, y: items[k].active(int(y)), False)

    found: list[pd.DataFrame] = []
    who = _who(p)
    matched = m.notna().to_numpy()

    # not in register
    found.append(_finding(p, ~matched, "funds.not_in_register", "error",
                          "收款人 " + who + " 不在登记册中" + p["given_household"].map(lambda v: f"（户编号 {v}）" if isinstance(v, str) else ""),
                          "核对户编号和身份证号；不在登记册的户不应领取到户扶贫资金", "户编号"))
    # items
    no_item = p["item_id"].isna().to_numpy()
    found.append(_finding(p, no_item, "funds.unknown_item", "warning",
                          "资金项目“" + p["item_text"].fillna("").astype(str) + "”不在规则包的资金项目中：未核对对象和标准",
                          "使用规则包中的项目名称（fupin rules show），或在规则包 funds.yaml 中增加该项目", "资金项目"))
    inactive = ~no_item & ~active.to_numpy()
    found.append(_finding(p, inactive, "funds.item_not_in_force", "warning",
                          "资金项目“" + p["item"].astype(str) + "”在 " + p["pay_year"].astype(str) + " 年不在规则包的有效期内：未核对对象和标准",
                          "核对发放日期，或在规则包中为该年度设定该项目", "资金项目"))
    checkable = matched & active.to_numpy()

    # status and leaving the register
    allowed = _per_pair(p, "item_id", "status", lambda k, st: st in items[k].statuses, True)
    left = p["status"].isin(LEFT).to_numpy()
    bad_status = checkable & ~allowed.to_numpy() & ~left
    found.append(_finding(p, bad_status, "funds.status", "error",
                          "户 " + m.fillna("").astype(str) + " 建档立卡状态为“" + p["status"].fillna("未填").astype(str) + "”，资金项目“"
                          + p["item"].astype(str) + "”只能发放给 " + p["item_id"].map(lambda k: "、".join(items[k].statuses) if isinstance(k, str) else ""),
                          "核对该户是否为建档立卡贫困户；非贫困户、待核实户不应领取该项资金", "资金项目"))
    leave_year = m.map(info["leave_year"])
    after = matched & left & p["has_date"].to_numpy() & (p["pay_year"].to_numpy() > leave_year.fillna(9999).to_numpy())
    same = matched & left & ~after
    left_msg = ("户 " + m.fillna("").astype(str) + " 已于 " + leave_year.astype("Int64").astype(str) + " 年" + p["status"].fillna("").astype(str)
                + "，")
    found.append(_finding(p, after, "funds.after_exit", "error",
                          left_msg + "其后 " + p["pay_year"].astype(str) + " 年仍发放“" + p["item"].astype(str) + "”",
                          "户已退出登记册（清退、自然减少）后不应再发放到户资金；核实并追回", "发放日期"))
    found.append(_finding(p, same, "funds.after_exit", "warning",
                          left_msg + "同年发放“" + p["item"].astype(str) + "”" + p["has_date"].map({True: "", False: "（无发放日期）"}).astype(str)
                          + "：登记册不记载动态调整日期，需核实发放是否在退出之前",
                          "核对发放日期与清退/自然减少的日期", "发放日期"))

    # duplicates: same household, item, period
    period = _text(p, "payment_period").where(lambda s: s.notna(), p["pay_year"].astype(str))
    once = p["item_id"].map(lambda k: isinstance(k, str) and items[k].period == "once").astype(bool)
    p["period_key"] = period.where(~once, ONCE)
    keyed = pd.DataFrame({"h": m, "i": p["item_id"], "k": p["period_key"]})
    can_dup = matched & ~no_item
    dup = can_dup & keyed.duplicated(keep="first").to_numpy()
    first_row = p.assign(_k=list(zip(keyed["h"], keyed["i"], keyed["k"])))
    firsts = first_row[can_dup].drop_duplicates("_k")
    where_text = {k: f"{sh or fi} 第 {r} 行" for k, sh, fi, r in zip(
        firsts["_k"], firsts[SOURCE_SHEET].astype(object).fillna("") if SOURCE_SHEET in firsts else [""] * len(firsts),
        firsts[SOURCE_FILE] if SOURCE_FILE in firsts else [""] * len(firsts), firsts[SOURCE_ROW] if SOURCE_ROW in firsts else [""] * len(firsts))}
    first_where = first_row["_k"].map(lambda k: where_text.get(k, ""))
    found.append(_finding(p, dup, "funds.duplicate", "error",
                          "户 " + m.fillna("").astype(str) + " 的“" + p["item"].astype(str) + "”（"
                          + p["period_key"].astype(str) + "）重复发放，首次见 " + first_where.astype(str),
                          "同一户同一项目同一期只应发放一次；核实并追回重复部分", "资金项目"))

    # one account, several households
    owner = m.where(m.notna(), "ID:" + p["payee_id"].fillna("").astype(str) + p["payee"].fillna("").astype(str))
    acct = pd.DataFrame({"a": p["account"], "o": owner})
    n_owners = acct.dropna(subset=["a"]).groupby("a")["o"].nunique()
    shared = p["account"].map(n_owners).fillna(0).to_numpy() > 1
    found.append(_finding(p, shared, "funds.shared_account", "error",
                          "收款账号 " + p["account"].map(lambda v: mask_account(v)).astype(str) + " 被 "
                          + p["account"].map(n_owners).astype("Int64").astype(str) + " 户共用（本行：户 " + owner.astype(str).map(
                              lambda v: v if not v.startswith("ID:") else "登记册外收款人") + "）",
                          "一个账号只应对应一户；核实是否冒领、代领", "收款账号"))

    # payee vs head / members
    pid = p["payee_id"]
    register_ids = bool(mid["id"].notna().any() or info["head_id"].notna().any())
    if not register_ids:
        notes.append("the register has no ID numbers (no 成员 sheet, no 户主证件号码): payees matched by 户编号 only; "
                     "payee-is-head and payee-is-member checks not evaluated")
    has_pid = matched & pid.notna().to_numpy() & register_ids
    head_id = m.map(info["head_id"])
    is_head = (pid == head_id).fillna(False).to_numpy()
    is_member = pd.MultiIndex.from_arrays([m.astype(object), pid.astype(object)]).isin(member_keys) if len(p) else np.zeros(0, bool)
    found.append(_finding(p, has_pid & ~is_head & is_member, "funds.payee_not_head", "warning",
                          "收款人 " + who + " 是户 " + m.fillna("").astype(str) + " 的成员，但不是户主（户主：" + p["head_name"].fillna("未填").astype(str) + "）",
                          "到户资金一般发放给户主；核实代领手续", "收款人证件号码"))
    found.append(_finding(p, has_pid & ~is_member, "funds.payee_not_member", "error",
                          "收款人 " + who + " 不是户 " + m.fillna("").astype(str) + " 的成员",
                          "收款人应为本户户主或成员；核实是否冒领", "收款人证件号码"))
    if matched.any() and not pid[matched].notna().any():
        notes.append("payment lists have no payee ID column: payee-is-head and payee-is-member checks not evaluated")

    # amounts
    amount = p["amount_value"].to_numpy(dtype=float)
    bad_amount = ~(amount > 0)
    found.append(_finding(p, bad_amount, "funds.bad_amount", "error",
                          "金额“" + pd.Series(amount, index=p.index).map(lambda v: "空" if v != v else f"{v:,.2f}") + "”缺失、为零或为负数",
                          "填写实际发放金额（元）", "金额"))
    limit, cap = _limits(p, items, pack, year, region, resolve)
    p["standard"] = limit
    over = checkable & ~bad_amount & (amount > np.nan_to_num(limit, nan=np.inf) + 0.005)
    std_text = pd.Series(limit, index=p.index).map(lambda v: f"{v:,.2f}")
    found.append(_finding(p, over, "funds.above_standard", "error",
                          "“" + p["item"].astype(str) + "”金额 " + pd.Series(amount, index=p.index).map(lambda v: f"{v:,.2f}")
                          + " 元，超过标准 " + std_text + " 元" + p["std_basis"].astype(str),
                          "按规则包的补助标准发放；核实并追回超标部分", "金额"))
    totals_hh = pd.Series(np.where(checkable & ~bad_amount, amount, 0.0), index=p.index).groupby(
        [m.fillna(""), p["item_id"].fillna(""), p["period_key"].fillna("")]).cumsum()
    over_cap = checkable & ~bad_amount & ~over & (totals_hh.to_numpy() > np.nan_to_num(cap, nan=np.inf) + 0.005)
    found.append(_finding(p, over_cap, "funds.above_standard", "error",
                          "户 " + m.fillna("").astype(str) + " 的“" + p["item"].astype(str) + "”（" + p["period_key"].astype(str) + "）累计 "
                          + totals_hh.map(lambda v: f"{v:,.2f}") + " 元，超过上限 " + pd.Series(cap, index=p.index).map(lambda v: f"{v:,.2f}") + " 元",
                          "同一户同一期的累计金额不应超过规则包的上限", "金额"))
    unchecked = p.loc[checkable & np.isnan(limit) & np.isnan(cap), "item"].value_counts()
    for item, n in unchecked.items():
        notes.append(f"资金项目“{item}”: {n:,} payments, amount not checked (the pack gives no standard or cap for it in "
                     "force, or its standard is per person and the household size is unknown)")

    findings = concat_findings(found)
    totals = _totals(p)
    budget_frame = compare_budget(totals, budget) if budget is not None else None
    return FundsResult(payments=p, findings=findings, totals=totals, budget=budget_frame, notes=notes)


def _per_pair(p: pd.DataFrame, key: str, other: str, decide: Callable[[str, Any], Any], default: bool) -> pd.Series:
    """``decide(item id, value)`` once per distinct (item, value) pair, spread to the payments; ``default``
    where the payment has no known item."""
    pairs = p[[key, other]].astype(object)
    known = pairs[key].map(lambda k: isinstance(k, str))
    out = pd.Series(default, index=p.index, dtype=bool)
    if known.any():
        sub = pairs[known].fillna("\0")  # a missing value is one more distinct value
        uniq = sub.drop_duplicates()
        values = np.array([bool(decide(k, None if v == "\0" else v)) for k, v in zip(uniq[key], uniq[other])], dtype=bool)
        pos = pd.MultiIndex.from_frame(uniq).get_indexer(pd.MultiIndex.from_frame(sub))
        out[known.to_numpy()] = values[pos]
    return out


def _limits(p: pd.DataFrame, items: dict[str, Any], pack: Pack, year: int, region: str | None, resolve: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per payment: the standard (× people when per person) and the per-period cap, NaN where none."""
    limit = np.full(len(p), np.nan)
    cap = np.full(len(p), np.nan)
    basis = np.full(len(p), "", dtype=object)
    cache: dict[tuple[str, int], float] = {}

    def value(name: str, y: int) -> float:
        if (name, y) not in cache:
            try:
                cache[(name, y)] = float(resolve(pack, name, y, region).value)
            except RuleError:
                cache[(name, y)] = np.nan  # no value for that year: the amount is not checked (reported in notes)
        return cache[(name, y)]

    keys = p[["item_id", "status", "pay_year", "people"]].astype(object)
    keys["status"] = keys["status"].fillna("")
    keys["people"] = pd.to_numeric(keys["people"], errors="coerce").fillna(-1)  # -1: size unknown
    keys = keys[keys["item_id"].map(lambda k: isinstance(k, str))]
    for (item_id, status, y, people), idx in keys.groupby(["item_id", "status", "pay_year", "people"]).groups.items():
        item = items[item_id]
        rows = p.index.get_indexer(idx)
        for s in item.standards:
            if not s.statuses or status in s.statuses:
                v = value(s.param, int(y))
                if s.per == "person" and people < 0:
                    break  # per-person standard, household size unknown: not checked (see the notes)
                n = float(people) if s.per == "person" else 1.0
                limit[rows] = v * n
                basis[rows] = f"（{v:,.0f} 元/人 × {int(n)} 人）" if s.per == "person" else f"（{v:,.0f} 元/户）"
                break
        if item.cap:
            cap[rows] = value(item.cap, int(y))
    p["std_basis"] = basis
    return limit, cap


def _totals(p: pd.DataFrame) -> pd.DataFrame:
    ok = p["amount_value"] > 0
    q = p[ok].assign(owner=p["matched_household"].where(p["matched_household"].notna(), "ID:" + p["payee_id"].fillna("").astype(str)))
    if q.empty:
        return pd.DataFrame(columns=["township", "village", "item", "households", "payments", "amount"])
    g = q.groupby(["township", "village", "item"], sort=False).agg(households=("owner", "nunique"), payments=("owner", "size"),
                                                                   amount=("amount_value", "sum")).reset_index()
    g["amount"] = g["amount"].round(2)
    return g


def parse_budget(table: pd.DataFrame, source: str = "budget") -> pd.DataFrame:
    """``--budget``: 项目 + 预算金额, per 行政村 (and 乡镇) or for the county (行政村 blank / 全县)."""
    index = {normalise_header(a): k for k, names in BUDGET_ALIASES.items() for a in names}
    cols: dict[str, Any] = {}
    for c in table.columns:
        k = index.get(normalise_header(c))
        if k and k not in cols.values():
            cols[c] = k
    t = table.rename(columns=cols)[list(cols.values())]
    missing = [zh for k, zh in (("item", "资金项目"), ("budget", "预算金额")) if k not in t.columns]
    if missing:
        raise InputError(f"{source}: no {' or '.join(missing)} column", "the budget table needs 资金项目 and 预算金额 (and 行政村, 乡镇 for village budgets)")
    t = t.copy()
    for k in ("township", "village"):
        t[k] = t[k].astype("str").str.strip().fillna("") if k in t.columns else ""
    t["item"] = t["item"].astype("str").str.strip()
    values = pd.to_numeric(t["budget"].astype("str").str.replace(",", "", regex=False).str.strip(), errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise InputError(f"{source}: row {row}, column 预算金额: '{t['budget'].iloc[row - 2]}' is not an amount", "write the budget in yuan")
    t["budget"] = values.astype(float)
    return t[["township", "village", "item", "budget"]]


def compare_budget(totals: pd.DataFrame, budget: pd.DataFrame) -> pd.DataFrame:
    """Budget vs paid, per (village, item) budget row and per county-level item row; paid items with no budget."""
    rows = []
    county = budget["village"].isin(COUNTY_WORDS)
    for _, b in budget[~county].iterrows():
        sel = (totals["village"] == b["village"]) & (totals["item"] == b["item"])
        if b["township"]:
            sel &= totals["township"] == b["township"]
        rows.append({"level": "行政村", "township": b["township"], "village": b["village"], "item": b["item"],
                     "budget": b["budget"], "paid": float(totals.loc[sel, "amount"].sum())})
    for _, b in budget[county].iterrows():
        rows.append({"level": "全县", "township": "", "village": "全县", "item": b["item"], "budget": b["budget"],
                     "paid": float(totals.loc[totals["item"] == b["item"], "amount"].sum())})
    budgeted_village = set(zip(budget.loc[~county, "village"], budget.loc[~county, "item"]))
    budgeted_items = set(budget.loc[county, "item"])
    for _, t in totals.iterrows():
        if (t["village"], t["item"]) not in budgeted_village and t["item"] not in budgeted_items:
            rows.append({"level": "行政村", "township": t["township"], "village": t["village"], "item": t["item"],
                         "budget": np.nan, "paid": float(t["amount"])})
    out = pd.DataFrame(rows, columns=["level", "township", "village", "item", "budget", "paid"])
    out["remaining"] = (out["budget"] - out["paid"]).round(2)
    out["result"] = np.select([out["budget"].isna(), out["paid"] > out["budget"] + 0.005, out["paid"] < out["budget"] - 0.005],
                              ["无预算", "超支", "未用完"], "一致")
    return out


def publicity_frames(result: FundsResult) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """Per village (in list order): (township, village, summary by item, payments with masked IDs and accounts)."""
    p = result.payments[result.payments["amount_value"] > 0]
    out = []
    for (town, village), g in p.groupby(["township", "village"], sort=False):
        summary = result.totals[(result.totals["township"] == town) & (result.totals["village"] == village)][["item", "households", "amount"]]
        detail = pd.DataFrame({
            "收款人": g["payee"].fillna(g["head_name"]).fillna("").astype(str).to_numpy(),
            "证件号码": g["payee_id"].map(lambda v: mask(v) if isinstance(v, str) else "").to_numpy(),
            "收款账号": g["account"].map(lambda v: mask_account(v) if isinstance(v, str) else "").to_numpy(),
            "资金项目": g["item"].astype(str).to_numpy(),
            "金额（元）": g["amount_value"].round(2).to_numpy(),
            "发放日期": pd.to_datetime(g["payment_date"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("").to_numpy()
            if "payment_date" in g.columns else "",
        })
        out.append((str(town), str(village), summary.reset_index(drop=True), detail))
    return out


# ---- 驻村帮扶 (--assist) ---------------------------------------------------------------------
TENURE_PARAM = "task_force_tenure_years"


def _dates(s: pd.Series) -> pd.Series:
    """Text dates (2015-03-01, 2015/3/1, 2015年3月1日) or Excel serial numbers → datetime (NaT when blank)."""
    text = s.astype("str").str.strip().str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    num = pd.to_numeric(text, errors="coerce")
    serial = pd.to_datetime(num.where(num.between(1000, 80000)), unit="D", origin="1899-12-30", errors="coerce")
    parsed = pd.to_datetime(text.where(num.isna()), errors="coerce", format="mixed")
    return parsed.where(parsed.notna(), serial)


def assistance_ledger(households: pd.DataFrame, table: pd.DataFrame, pack: Any, year: int, region: str | None = None,
                      source: str = "assist") -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """驻村帮扶 from a 帮扶 table (rows with 户编号: 帮扶责任人, 开始/结束帮扶时间; rows with 行政村: 驻村工作队,
    驻村开始/结束时间) and the register, at 31 December of ``year``.

    Returns (villages: every village with registered poor households, its task force, dates, years
    in the village and result; findings; notes).  Checks: a village with registered poor households
    and no 驻村工作队 (``funds.no_task_force``); a task force that left before the pack's tenure
    (``funds.task_force_left_early``, 一驻三年); a registered poor household whose 帮扶 ended
    (``funds.assist_ended_while_poor``, 不脱贫不脱钩); a registered poor household without a
    帮扶责任人 (``funds.no_responsible_person``).  A row number is the table's Excel row (header = 1).
    """
    from fupin_cli.engine.params import resolve
    from fupin_cli.schema import field_for_header

    notes: list[str] = []
    names = {c: field_for_header(c) for c in table.columns}
    t = table.rename(columns={c: n for c, n in names.items() if n}).loc[:, lambda d: ~d.columns.duplicated()].copy()
    t["_row"] = np.arange(len(t)) + 2
    if not ({"household_id", "village"} & set(t.columns)):
        raise InputError(f"{source}: no 户编号 or 行政村 column",
                         "rows with 户编号 give 帮扶责任人 and 开始/结束帮扶时间; rows with 行政村 give 驻村工作队 and 驻村开始/结束时间")
    end_of_year = pd.Timestamp(year, 12, 31)
    try:
        tenure = float(resolve(pack, TENURE_PARAM, year, region).value)
    except RuleError:
        tenure = None
        notes.append(f"rule pack {pack.name} has no {TENURE_PARAM} for {year}: task-force tenure (一驻三年) not checked")
    hh = households.reset_index(drop=True)
    status = registry_status(hh)
    poor = status.isin(["贫困户", "返贫"]).to_numpy()
    hid = _text(hh, "household_id")
    town, village = _text(hh, "township").fillna(""), _text(hh, "village").fillna(UNKNOWN_AREA)
    found: list[pd.DataFrame] = []

    def finding(check: str, severity: str, rows: Any, hids: Any, messages: Any, hint: str, column: str = "") -> None:
        if len(messages):
            found.append(make_findings(pd.DataFrame({"severity": severity, "check": check, "file": source, "row": rows,
                                                     "household_id": hids, "message": messages, "hint": hint, "column": column})))

    # households: 帮扶责任人 and its dates (table rows win over the register's columns)
    rows_h = t[_text(t, "household_id").notna()] if "household_id" in t.columns else t.iloc[0:0]
    by_hh = rows_h.assign(household_id=_text(rows_h, "household_id")).drop_duplicates("household_id", keep="last").set_index("household_id")
    person = _text(hh, "responsible_person")
    if "responsible_person" in by_hh.columns:
        person = hid.map(_text(by_hh, "responsible_person")).where(lambda s: s.notna(), person)
    end = hid.map(_dates(by_hh["assist_end"])) if "assist_end" in by_hh.columns else pd.Series(pd.NaT, index=hh.index)
    arow = hid.map(by_hh["_row"]) if len(by_hh) else pd.Series(pd.NA, index=hh.index)
    no_person = poor & person.isna().to_numpy()
    if "responsible_person" in by_hh.columns or "responsible_person" in hh.columns:
        finding("funds.no_responsible_person", "warning", arow[no_person], hid[no_person],
                "建档立卡贫困户 " + hid[no_person].astype(str) + "（" + _text(hh, "head_name")[no_person].fillna("").astype(str) + "）没有帮扶责任人",
                "每个贫困户都应有帮扶责任人（种子文件第十条）", "帮扶责任人")
    else:
        notes.append("no 帮扶责任人 column in the register or the table: 帮扶责任人 coverage not checked")
    ended = poor & (pd.to_datetime(end) <= end_of_year).fillna(False).to_numpy()
    finding("funds.assist_ended_while_poor", "error", arow[ended], hid[ended],
            "户 " + hid[ended].astype(str) + " 仍为建档立卡贫困户（" + status[ended].astype(str) + "），帮扶已于 "
            + pd.to_datetime(end[ended]).dt.strftime("%Y-%m-%d") + " 结束",
            "不脱贫不脱钩：户脱贫前帮扶责任人不应脱钩", "结束帮扶时间")

    # villages with registered poor households: 驻村工作队 and tenure
    base = pd.DataFrame({"township": town, "village": village, "poor": poor})
    v = base.groupby(["township", "village"], sort=False).agg(poor_households=("poor", "sum")).reset_index()
    v = v[v["poor_households"] > 0].reset_index(drop=True)
    rows_v = t[_text(t, "village").notna()] if "village" in t.columns else t.iloc[0:0]
    rows_v = rows_v[_text(rows_v, "household_id").isna()] if "household_id" in rows_v.columns else rows_v
    rv = pd.DataFrame({"township": _text(rows_v, "township").fillna(""), "village": _text(rows_v, "village"),
                       "task_force": _text(rows_v, "task_force"), "start": _dates(rows_v["task_force_start"]) if "task_force_start" in rows_v else pd.NaT,
                       "end": _dates(rows_v["task_force_end"]) if "task_force_end" in rows_v else pd.NaT, "row": rows_v["_row"]})
    by_town = rv[rv["township"] != ""].drop_duplicates(["township", "village"], keep="last").set_index(["township", "village"])
    by_name = rv.drop_duplicates("village", keep="last").set_index("village")
    keys = pd.MultiIndex.from_frame(v[["township", "village"]])
    for col in ("task_force", "start", "end", "row"):
        a = pd.Series(by_town[col].reindex(keys).to_numpy(), index=v.index)
        b = v["village"].map(by_name[col])
        v[col] = a.where(a.notna(), b)
    register_tf = pd.DataFrame({"township": town, "village": village, "tf": _text(hh, "task_force")}).dropna(subset=["tf"])
    if len(register_tf):
        from_reg = register_tf.drop_duplicates(["township", "village"]).set_index(["township", "village"])["tf"]
        v["task_force"] = v["task_force"].where(v["task_force"].notna(), pd.Series(from_reg.reindex(keys).to_numpy(), index=v.index))
    start, stop = pd.to_datetime(v["start"]), pd.to_datetime(v["end"])
    until = stop.where(stop.notna() & (stop <= end_of_year), end_of_year)
    v["years"] = ((until - start).dt.days / 365.25).round(2)
    left = stop.notna() & (stop <= end_of_year)
    early = left & v["years"].notna() & (v["years"] < (tenure if tenure is not None else -1))
    none = v["task_force"].isna()
    v["result"] = np.select([none.to_numpy(), early.to_numpy(), left.to_numpy(), v["start"].isna().to_numpy()],
                            ["无驻村工作队", f"驻村不满{tenure:g}年即撤离" if tenure else "已撤离", "已撤离", "在驻（无进驻日期）"], "在驻")
    finding("funds.no_task_force", "error", pd.Series(pd.NA, index=v.index)[none], "",
            v.loc[none, "township"] + v.loc[none, "village"] + " 有 " + v.loc[none, "poor_households"].astype(str) + " 户建档立卡贫困户，没有驻村工作队",
            "每个贫困村都应有驻村工作队（种子文件第十条）", "驻村工作队")
    finding("funds.task_force_left_early", "warning", v.loc[early, "row"], "",
            v.loc[early, "village"] + " 驻村工作队 " + v.loc[early, "task_force"].astype(str) + " 驻村 " + v.loc[early, "years"].astype(str)
            + " 年即撤离（" + stop[early].dt.strftime("%Y-%m-%d") + "），不满 " + (f"{tenure:g}" if tenure else "") + " 年",
            "一驻三年不变：驻村工作队任期内不应撤离", "驻村结束时间")
    v = v.assign(start=start.dt.strftime("%Y-%m-%d"), end=stop.dt.strftime("%Y-%m-%d"))
    return v.drop(columns=["row"]), concat_findings(found), notes
