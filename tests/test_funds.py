"""fupin funds: a generated payment list with one planted anomaly of every kind is checked against the
register: each anomaly found at its row, no clean payment flagged; after-exit, budget, several files,
privacy (no full ID or account number in any printed line, JSON, workbook or 公告)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.core.funds import check_funds, compare_budget, parse_budget
from fupin_cli.engine import load_pack
from fupin_cli.idnumber import mask_account
from fupin_cli.io.read_payments import read_payments
from fupin_cli.io.register import read_register
from fupin_cli.samples.payments import generate_payments

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "roster-clean.xlsx"
runner = CliRunner()
ALL_CHECKS = {"funds.not_in_register", "funds.status", "funds.duplicate", "funds.shared_account", "funds.payee_not_head",
              "funds.payee_not_member", "funds.above_standard", "funds.after_exit", "funds.bad_amount", "funds.unknown_item"}


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    d = tmp_path_factory.mktemp("funds")
    reg = d / "register.xlsx"
    r = runner.invoke(app, ["identify", str(SAMPLE), "--year", "2015", "-p", "chongqing", "-o", str(reg), "-q"])
    assert r.exit_code == 0, r.output
    return reg


@pytest.fixture(scope="module")
def register_with_leaver(register, tmp_path_factory):
    """The register as reassess would write it, with one former poor household 清退 in 2015."""
    reg = read_register(register)
    hh = reg.households.copy()
    hh["registry_status"] = hh["status"].astype(object)
    nonpoor = hh.index[hh["status"].astype(object) == "非贫困户"]
    leaver = nonpoor[-1]
    hh.loc[leaver, "registry_status"] = "清退"
    hh["status_history"] = "2015:" + hh["registry_status"].astype(str)
    out = tmp_path_factory.mktemp("leaver") / "register-2015.xlsx"
    from fupin_cli.io.register import labelled
    from fupin_cli.io.xlsx import XlsxBook

    with XlsxBook(out) as book:
        book.add_table("登记册", labelled(hh))
        book.add_table("成员", labelled(reg.members))
    return out, read_register(out).members


def plant(register_path, members=None, pack="chongqing", year=2015):
    reg = read_register(register_path)
    mem = members if members is not None else reg.members
    frame, truth = generate_payments(reg.households, mem, load_pack(pack), year, seed=3, anomalies=True)
    return reg, mem, frame, truth


def write_list(frame, path):
    from fupin_cli.io.funds_report import write_payments

    return write_payments(frame, path, title="丰都县2015年扶贫资金到户发放名单")


def assert_found_exactly(findings, truth):
    expected = {(a["check"], a["row"]) for a in truth.anomalies}
    also = {(a["check"], r) for a in truth.anomalies for r in a["also"]}
    got = {(c, int(r)) for c, r in zip(findings["check"], findings["row"])}
    assert expected <= got, expected - got
    assert got <= expected | also, got - expected - also  # nothing flagged on a clean payment
    clean = set(truth.clean_rows) - {r for _, r in also}
    assert not clean & {r for _, r in got}


def test_every_planted_anomaly_is_found_at_its_row_and_no_clean_payment_is_flagged(register_with_leaver, tmp_path):
    path, members = register_with_leaver
    reg, mem, frame, truth = plant(path, members)
    assert {a["check"] for a in truth.anomalies} == ALL_CHECKS, truth.not_planted
    lst = write_list(frame, tmp_path / "payments.xlsx")
    payments, _sources, _ = read_payments([lst])
    result = check_funds(payments, reg.households, mem, load_pack("chongqing"), 2015)
    assert_found_exactly(result.findings, truth)
    sev = dict(zip(result.findings["check"], result.findings["severity"]))
    assert sev["funds.payee_not_head"] == "warning" and sev["funds.unknown_item"] == "warning"
    assert sev["funds.after_exit"] == "error"  # paid the year after it left
    assert set(result.findings["sheet"]) == {"发放名单"}


def test_identify_register_has_no_leavers_and_says_so(register, tmp_path):
    reg, mem, frame, truth = plant(register)
    assert "funds.after_exit" in truth.not_planted
    payments, _, _ = read_payments([write_list(frame, tmp_path / "p.xlsx")])
    result = check_funds(payments, reg.households, mem, load_pack("chongqing"), 2015)
    assert_found_exactly(result.findings, truth)


def test_clean_list_has_no_findings(register, tmp_path):
    reg = read_register(register)
    frame, _truth = generate_payments(reg.households, reg.members, load_pack("chongqing"), 2015, seed=5)
    payments, _, _ = read_payments([write_list(frame, tmp_path / "clean.xlsx")])
    result = check_funds(payments, reg.households, reg.members, load_pack("chongqing"), 2015)
    assert result.findings.empty, result.findings[["check", "row", "message"]]
    assert result.counts()["matched"] == len(frame)


def test_amount_check_is_reported_as_not_evaluated_without_a_standard(register, tmp_path):
    reg = read_register(register)
    frame, _ = generate_payments(reg.households, reg.members, load_pack("national-2014"), 2015, seed=5)
    payments, _, _ = read_payments([write_list(frame, tmp_path / "n.xlsx")])
    result = check_funds(payments, reg.households, reg.members, load_pack("national-2014"), 2015)
    assert any("amount not checked" in n and "产业发展到户补助" in n for n in result.notes)


def test_several_files_and_any_layout(register_with_leaver, tmp_path):
    """Two files; the second without a title row and with other header names (姓名, 身份证号码, 银行卡号, 补助项目, 发放金额)."""
    path, members = register_with_leaver
    reg, mem, frame, truth = plant(path, members)
    first, second = frame.iloc[:10], frame.iloc[10:]
    a = write_list(first, tmp_path / "a.xlsx")
    other = second.rename(columns={"收款人": "姓名", "收款人身份证号": "身份证号码", "收款账号": "银行卡号", "资金项目": "补助项目",
                                   "金额(元)": "发放金额"})
    b = tmp_path / "b.csv"
    other.to_csv(b, index=False, encoding="utf-8-sig")
    payments, sources, _ = read_payments([a, b])
    assert [s.name for s in sources] == ["a.xlsx", "b.csv"] and len(payments) == len(frame)
    result = check_funds(payments, reg.households, mem, load_pack("chongqing"), 2015)
    # rows of the second file: its header is row 1, so the payment at list position k is row k + 2
    shift = {r: (r if r < 13 else r - 13 + 2) for r in range(3, 3 + len(frame))}
    files = {r: ("a.xlsx" if r < 13 else "b.csv") for r in shift}
    got = {(c, f, int(r)) for c, f, r in zip(result.findings["check"], result.findings["file"], result.findings["row"])}
    for an in truth.anomalies:
        assert (an["check"], files[an["row"]], shift[an["row"]]) in got, an


def test_budget_comparison():
    totals = pd.DataFrame({"township": ["甲镇", "甲镇", "乙镇"], "village": ["一村", "二村", "三村"],
                           "item": ["产业发展到户补助", "产业发展到户补助", "雨露计划补助"], "households": [3, 2, 1],
                           "payments": [3, 2, 1], "amount": [6000.0, 5000.0, 3000.0]})
    budget = parse_budget(pd.DataFrame({"行政村": ["一村", "二村", "全县"], "资金项目": ["产业发展到户补助", "产业发展到户补助", "危房改造补助"],
                                        "预算金额": ["5,000", "8000", "20000"]}))
    out = compare_budget(totals, budget).set_index(["village", "item"])
    assert out.loc[("一村", "产业发展到户补助"), "result"] == "超支"
    assert out.loc[("二村", "产业发展到户补助"), "remaining"] == 3000
    assert out.loc[("全县", "危房改造补助"), "result"] == "未用完"
    assert out.loc[("三村", "雨露计划补助"), "result"] == "无预算"


def test_mask_account():
    assert mask_account("6228480402564890018") == "6228***********0018"
    assert mask_account("6228 4804 0256 4890 018") == "6228***********0018"
    assert mask_account("12345") == "***45"
    assert mask_account(None) == ""


# ---- CLI and privacy ---------------------------------------------------------------------
FULL = re.compile(r"\d{15,}")


def full_numbers(text: str, known: set[str]) -> set[str]:
    return {m for m in FULL.findall(text) if m in known or any(m in k or k in m for k in known)}


def test_cli_outputs_findings_publicity_and_masks_every_number(register_with_leaver, tmp_path):
    path, members = register_with_leaver
    _reg, _mem, frame, _truth = plant(path, members)
    # the CLI reads the register from disk: give it one with the members too (identify's workbook)
    lst = write_list(frame, tmp_path / "payments.xlsx")
    budget = tmp_path / "budget.csv"
    pd.DataFrame({"行政村": ["全县"], "资金项目": ["产业发展到户补助"], "预算金额": [100000]}).to_csv(budget, index=False)
    out, pub = tmp_path / "findings.xlsx", tmp_path / "公告.xlsx"
    r = runner.invoke(app, ["funds", str(lst), "--register", str(path), "--year", "2015", "-p", "chongqing",
                            "-o", str(out), "--publicity", str(pub), "--budget", str(budget)])
    assert r.exit_code == 1, r.output  # error findings → exit 1
    known = {str(v) for v in frame["收款人身份证号"].dropna()} | {str(v) for v in frame["收款账号"].dropna()}
    assert not full_numbers(r.output, known), "full number printed"
    rj = runner.invoke(app, ["funds", str(lst), "--register", str(path), "--year", "2015", "-p", "chongqing", "--json"])
    payload = json.loads(rj.stdout)
    assert not full_numbers(rj.stdout, known)
    assert payload["counts"]["payments"] == len(frame)
    assert {f["check"] for f in payload["findings"]} == ALL_CHECKS
    for book in (out, pub):
        wb = openpyxl.load_workbook(book)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    assert not full_numbers(str(v), known), (book.name, ws.title, v)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["疑点", "发放明细", "按村按项目", "预算对比", "说明"]
    pub_wb = openpyxl.load_workbook(pub)
    first = pub_wb.worksheets[0]
    assert "扶贫资金使用情况公告" in first["A1"].value
    texts = [str(c) for row in first.iter_rows(values_only=True) for c in row if c is not None]
    assert any("*" in t for t in texts)  # masked IDs / accounts are there


def test_cli_samples_payments_writes_list_and_truth(register, tmp_path):
    out = tmp_path / "pay.xlsx"
    r = runner.invoke(app, ["samples", "payments", str(register), "-o", str(out), "--anomalies", "--truth", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert "funds.after_exit" in summary["not_planted"]
    truth = json.loads((tmp_path / "pay.xlsx.truth.json").read_text(encoding="utf-8"))
    r = runner.invoke(app, ["funds", str(out), "--register", str(register), "--year", "2015", "-p", "chongqing", "--json"])
    payload = json.loads(r.stdout)
    got = {(f["check"], f["row"]) for f in payload["findings"]}
    assert {(a["check"], a["row"]) for a in truth["anomalies"]} <= got


def test_cli_errors(register, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"户编号": ["1"], "姓名": ["张三"]}).to_csv(bad, index=False)
    r = runner.invoke(app, ["funds", str(bad), "--register", str(register), "--year", "2015"])
    assert r.exit_code == 4 and "金额" in r.output
    r = runner.invoke(app, ["funds", str(SAMPLE), "--register", str(SAMPLE), "--year", "2015"])
    assert r.exit_code == 4


def test_payment_in_the_year_the_household_left_is_a_warning(register_with_leaver, tmp_path):
    path, members = register_with_leaver
    reg, mem, frame, truth = plant(path, members)
    row = next(a["row"] for a in truth.anomalies if a["check"] == "funds.after_exit")
    frame.loc[row - 3, "发放日期"] = pd.Timestamp(2015, 12, 1)
    frame.loc[row - 3, "所属期"] = "2015-清退后"
    payments, _, _ = read_payments([write_list(frame, tmp_path / "same-year.xlsx")])
    f = check_funds(payments, reg.households, mem, load_pack("chongqing"), 2015).findings
    hit = f[(f["check"] == "funds.after_exit") & (f["row"] == row)]
    assert list(hit["severity"]) == ["warning"] and "同年发放" in hit["message"].iloc[0]


# ---- 驻村帮扶 (--assist) ---------------------------------------------------------------------------
def test_assistance_ledger(register, tmp_path):
    from fupin_cli.core.funds import assistance_ledger

    reg = read_register(register)
    with_tf = reg.households
    hh = with_tf.drop(columns=["task_force", "responsible_person"], errors="ignore")  # the table alone gives 帮扶
    poor = hh[hh["status"].astype(object) == "贫困户"]
    villages = list(dict.fromkeys(zip(poor["township"].astype(str), poor["village"].astype(str))))
    assert len(villages) >= 3
    (t1, v1), (t2, v2), (_t3, v3) = villages[:3]
    ids = list(poor["household_id"].astype(str))
    table = pd.DataFrame([
        {"乡镇": t1, "行政村": v1, "驻村工作队": "甲队", "驻村开始时间": "2014-03-01", "驻村结束时间": ""},
        {"乡镇": t2, "行政村": v2, "驻村工作队": "乙队", "驻村开始时间": "2014/3/1", "驻村结束时间": "2015年6月30日"},
        *({"户编号": h, "帮扶责任人": f"干部{i}", "开始帮扶时间": "2015-01-01", "结束帮扶时间": ""} for i, h in enumerate(ids[1:])),
        {"户编号": ids[1], "帮扶责任人": "干部X", "开始帮扶时间": "2015-01-01", "结束帮扶时间": "2015-09-30"},
    ])
    v, f, _notes = assistance_ledger(hh, table, load_pack("chongqing"), 2015, source="assist.csv")
    res = v.set_index("village")["result"]
    assert res[v1] == "在驻" and res[v2] == "驻村不满3年即撤离" and res[v3] == "无驻村工作队"
    assert v.set_index("village").loc[v2, "years"] == pytest.approx(1.33, abs=0.01)
    checks = {(c, h) for c, h in zip(f["check"], f["household_id"])}
    assert ("funds.assist_ended_while_poor", ids[1]) in checks
    assert ("funds.no_responsible_person", ids[0]) in checks  # the first poor household has none
    no_tf = f[f["check"] == "funds.no_task_force"]
    assert len(no_tf) == len(villages) - 2 and v3 in no_tf["message"].iloc[0]
    early = f[f["check"] == "funds.task_force_left_early"]
    assert list(early["row"]) == [3]  # the table's Excel row of 乙队
    ended = f[f["check"] == "funds.assist_ended_while_poor"]
    assert list(ended["row"]) == [len(table) + 1]  # the last row of the table wins for that household
    if "task_force" in with_tf.columns and with_tf["task_force"].notna().any():  # the register's 驻村工作队 counts too
        v_reg, _, _ = assistance_ledger(with_tf, table, load_pack("chongqing"), 2015)
        assert v_reg.set_index("village").loc[v3, "result"] == "在驻（无进驻日期）"
    # national-2014 has no tenure parameter: said, not silently skipped
    _, f2, notes2 = assistance_ledger(hh, table, load_pack("national-2014"), 2015)
    assert "funds.task_force_left_early" not in set(f2["check"]) and any("not checked" in n for n in notes2)

    # the CLI writes the 驻村帮扶 sheet
    path = tmp_path / "assist.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    frame, _ = generate_payments(hh, reg.members, load_pack("chongqing"), 2015, seed=5)
    lst = write_list(frame, tmp_path / "p.xlsx")
    out = tmp_path / "f.xlsx"
    r = runner.invoke(app, ["funds", str(lst), "--register", str(register), "-y", "2015", "-p", "chongqing", "--assist", str(path),
                            "-o", str(out), "-q"])
    assert r.exit_code == 1, r.output
    assert "驻村帮扶" in openpyxl.load_workbook(out).sheetnames
