"""Synthetic payment lists (资金发放名单) for a register: clean, or with one planted anomaly of every
kind ``fupin funds`` checks, each recorded with its row (``fupin samples payments``).

Clean payments go to registered poor households (建档立卡状态 贫困户 / 返贫, or 识别结果 贫困户),
paid to the head (the head's ID, the household's bank account), at the item's standard where the
pack has one (e.g. 重庆 高山生态扶贫搬迁 10,000 元/人 × people) or a plain amount below any cap.

Planted (with ``anomalies=True``; the rows are in the truth): ``funds.not_in_register``,
``funds.status`` (a 非贫困户 paid), ``funds.duplicate`` (a payment repeated), ``funds.shared_account``
(another household paid into a paid household's account: both of that account's rows are flagged),
``funds.payee_not_head`` (a member collects), ``funds.payee_not_member`` (another household's member
collects), ``funds.above_standard`` (only when the pack has a standard or cap in force),
``funds.after_exit`` (only when the register has a 清退 / 自然减少 household), ``funds.bad_amount``,
``funds.unknown_item``.  Anomalies that cannot be planted on this register and pack are listed in
``not_planted`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.core.funds import LEFT, registry_status
from fupin_cli.core.summary import household_people
from fupin_cli.schema import REGISTRY_POOR, REGISTRY_RETURNED, STATUS_NOT_POOR, STATUS_POOR

FIRST_DATA_ROW = 3  # title row 1, header row 2 (as written by io.funds_report.write_payments)
COLUMNS = ["序号", "乡镇", "行政村", "户编号", "收款人", "收款人身份证号", "收款账号", "资金项目", "金额(元)", "发放日期", "所属期"]


@dataclass
class PaymentsTruth:
    year: int
    pack: str
    anomalies: list[dict[str, Any]] = field(default_factory=list)  # check, row, also (rows flagged with it), note
    not_planted: dict[str, str] = field(default_factory=dict)
    clean_rows: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"year": self.year, "pack": self.pack, "first_data_row": FIRST_DATA_ROW, "anomalies": self.anomalies,
                "not_planted": self.not_planted, "clean_rows": self.clean_rows}


def _heads(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Per household: head name, head ID, one non-head member (name, ID) where there is one."""
    m = members.assign(household_id=members["household_id"].astype(str))
    head = m[m["relation"].astype(object) == "户主"].drop_duplicates("household_id").set_index("household_id")
    other = m[m["relation"].astype(object) != "户主"].drop_duplicates("household_id").set_index("household_id")
    ids = households["household_id"].astype(str)
    return pd.DataFrame({
        "head_name": ids.map(head["name"].astype(object)).to_numpy(),
        "head_id": ids.map(head["id_number"].astype(object)).to_numpy(),
        "member_name": ids.map(other["name"].astype(object)).to_numpy(),
        "member_id": ids.map(other["id_number"].astype(object)).to_numpy(),
    }, index=households.index)


def generate_payments(households: pd.DataFrame, members: pd.DataFrame, pack: Any, year: int, *, seed: int = 1,
                      anomalies: bool = False, region: str | None = None) -> tuple[pd.DataFrame, PaymentsTruth]:
    from fupin_cli.engine.params import resolve
    from fupin_cli.errors import RuleError

    rng = np.random.default_rng(seed)
    hh = households.reset_index(drop=True)
    status = registry_status(hh).astype(object)
    people = household_people(hh).astype("int64")
    heads = _heads(hh, members)
    account = hh["bank_account"].astype(object) if "bank_account" in hh.columns else pd.Series(None, index=hh.index, dtype=object)
    synth = pd.Series([f"62{seed % 100:02d}{i:015d}" for i in range(len(hh))], index=hh.index)
    account = account.where(account.notna() & (account.astype(str).str.strip() != ""), synth)
    usable = heads["head_id"].notna()
    poor = (status.isin([REGISTRY_POOR, REGISTRY_RETURNED, STATUS_POOR]) & usable).to_numpy()
    items = {i.id: i for i in pack.funds.items if i.active(year)}
    truth = PaymentsTruth(year=year, pack=pack.name)

    def standard_of(item, st: str, n: int) -> float | None:
        for s in item.standards:
            if not s.statuses or st in s.statuses:
                try:
                    v = float(resolve(pack, s.param, year, region).value)
                except RuleError:
                    return None
                return v * (n if s.per == "person" else 1)
        return None

    def cap_of(item) -> float | None:
        if not item.cap:
            return None
        try:
            return float(resolve(pack, item.cap, year, region).value)
        except RuleError:
            return None

    rows: list[dict[str, Any]] = []

    def add(i: int | np.integer[Any], item_label: str, amount: float, *, payee=None, payee_id=None, acct=None, hid=None, month=None) -> int:
        r = hh.loc[i]
        rows.append({
            "乡镇": r.get("township"), "行政村": r.get("village"), "户编号": hid if hid is not None else str(r["household_id"]),
            "收款人": payee if payee is not None else heads.at[i, "head_name"],
            "收款人身份证号": payee_id if payee_id is not None else heads.at[i, "head_id"],
            "收款账号": acct if acct is not None else account.at[i], "资金项目": item_label, "金额(元)": round(float(amount), 2),
            "发放日期": pd.Timestamp(year, month or int(rng.integers(3, 12)), int(rng.integers(1, 28))),
            "所属期": str(year)})
        return FIRST_DATA_ROW + len(rows) - 1

    # clean payments: every registered poor household gets the first item; every third a second one;
    # relocated households (是否易地扶贫搬迁户) the relocation subsidy
    order = [k for k in ("industry_subsidy", "microcredit_interest", "yulu_plan", "housing_renovation", "relocation_subsidy") if k in items]
    order += [k for k in items if k not in order]
    relocated = (hh["relocated"].astype("boolean").fillna(False).to_numpy(dtype=bool) if "relocated" in hh.columns
                 else np.zeros(len(hh), dtype=bool))
    poor_idx = np.flatnonzero(poor)
    first_rows: dict[int | np.integer[Any], int] = {}
    i: int | np.integer[Any]
    for n, i in enumerate(poor_idx):
        chosen = order[:2] if n % 3 == 0 else order[:1]
        if relocated[i] and "relocation_subsidy" in items and "relocation_subsidy" not in chosen:
            chosen = [*chosen, "relocation_subsidy"]
        for item_id in chosen:
            item = items[item_id]
            std = standard_of(item, str(status[i]), int(people[i]))
            cap = cap_of(item)
            amount = std if std is not None else min(float(rng.integers(5, 30)) * 100, cap or np.inf)
            row = add(i, item.label, amount)
            truth.clean_rows.append(row)
            first_rows.setdefault(i, row)
    if not anomalies:
        return _frame(rows), truth

    def plant(check: str, row: int, also: Sequence[int] = (), note: str = "") -> None:
        truth.anomalies.append({"check": check, "row": row, "also": list(also), "note": note})

    if len(poor_idx) < 4 or not order:
        truth.not_planted["all"] = "fewer than 4 registered poor households with a head, or no fund item in force"
        return _frame(rows), truth
    first_item = items[order[0]]
    c = int(poor_idx[2])  # the household whose account another household is paid into
    others = [int(i) for i in poor_idx if int(i) != c]  # every other anomaly avoids c (its account is flagged)
    a, b, d = others[0], others[1], others[2]
    serial = iter(range(1, 1000))

    def own_period() -> None:  # a planted row gets its own period: it is not also a duplicate or over a cap
        rows[-1]["所属期"] = f"{year}-补{next(serial)}"

    # not in register: an unknown household and payee
    plant("funds.not_in_register", add(a, first_item.label, 1000, hid="H-NOT-IN-REGISTER", payee="无名氏",
                                       payee_id="500101199001011234", acct="6200000000000000001"))
    # status: a household that is not registered poor
    nonpoor = np.flatnonzero(status.isin([STATUS_NOT_POOR, "非贫困户"]).to_numpy() & usable.to_numpy())
    if len(nonpoor):
        plant("funds.status", add(int(nonpoor[0]), first_item.label, 1000))
    else:
        truth.not_planted["funds.status"] = "the register has no 非贫困户 household with a head"
    # duplicate: household a's first payment again
    rows.append(dict(rows[first_rows[a] - FIRST_DATA_ROW]))
    plant("funds.duplicate", FIRST_DATA_ROW + len(rows) - 1)
    # shared account: household b paid into household c's account (c's rows are flagged with it)
    c_rows = [FIRST_DATA_ROW + j for j, r in enumerate(rows) if r["收款账号"] == account.at[c]]
    row = add(b, first_item.label, 500, acct=account.at[c])
    own_period()
    plant("funds.shared_account", row, also=c_rows, note="every payment into that account is flagged")
    # a member (not the head) collects
    with_member = [i for i in others if isinstance(heads.at[i, "member_id"], str)]
    if with_member:
        i = with_member[0]
        row = add(i, first_item.label, 500, payee=heads.at[i, "member_name"], payee_id=heads.at[i, "member_id"])
        own_period()
        plant("funds.payee_not_head", row)
    else:
        truth.not_planted["funds.payee_not_head"] = "no registered poor household has a member besides the head"
    # someone from another household collects for household d
    row = add(d, first_item.label, 500, payee=heads.at[a, "head_name"], payee_id=heads.at[a, "head_id"],
              acct=f"6211{seed % 100:02d}9999999999999")
    own_period()
    plant("funds.payee_not_member", row)
    # above the standard or the cap
    planted = False
    for item_id in order:
        item = items[item_id]
        for i in others:
            std = standard_of(item, str(status[i]), int(people[i]))
            cap = cap_of(item)
            limits = [x for x in (std, cap) if x is not None]
            if not limits:
                continue
            row = add(i, item.label, min(limits) + 1000)
            own_period()
            plant("funds.above_standard", row)
            planted = True
            break
        if planted:
            break
    if not planted:
        truth.not_planted["funds.above_standard"] = f"pack {pack.name} has no standard or cap in force in {year}"
    # paid after leaving the register
    left = np.flatnonzero(status.isin(list(LEFT)).to_numpy() & usable.to_numpy())
    if len(left):
        row = add(int(left[0]), first_item.label, 800)
        rows[-1]["发放日期"] = pd.Timestamp(year + 1, 3, 15)  # the year after it left: certainly after
        rows[-1]["所属期"] = str(year + 1)
        plant("funds.after_exit", row)
    else:
        truth.not_planted["funds.after_exit"] = "the register has no 清退 / 自然减少 household (use a register written by reassess)"
    # amount zero; an item the pack does not know
    row = add(b, first_item.label, 0)
    own_period()
    plant("funds.bad_amount", row)
    row = add(d, "其他生活补助", 300)
    own_period()
    plant("funds.unknown_item", row)
    return _frame(rows), truth


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS[1:])
    df.insert(0, "序号", range(1, len(df) + 1))
    return df
