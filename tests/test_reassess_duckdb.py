"""Parity of ``reassess --engine duckdb`` (io.annual.scan_register + io.scan + core.reassess_sql) with the pandas path.

Every column of every household of the reassessed register (this year's decisions, 动态调整类型, 建档立卡状态,
调整原因, 匹配方式, 上年户编号, the carried 属性 / 致贫原因 / 措施, 首次识别 / 脱贫 / 返贫年度, 历年状态, and the
自然减少 rows) must equal the pandas ``run_reassess``: on the bundled sample chain (2015 → 2016 → 2017, each
engine's register read back as the next PREVIOUS), on generated chains (national rules and a pack whose
exclusions are vetoes, so 清退 occurs), and on rosters edited so that households match by the head's ID
number, by members' ID numbers, split off (分户), disappear (自然减少), come back (返贫, also recorded as
已脱贫 by the roster only), share a head ID number, or repeat a 户编号 (refused by both).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")

from typer.testing import CliRunner  # noqa: E402

from fupin_cli.cli.app import app  # noqa: E402
from fupin_cli.core.identify import identify  # noqa: E402
from fupin_cli.core.identify_sql import FastPathUnsupported, identify_scanned  # noqa: E402
from fupin_cli.core.reassess import run_reassess  # noqa: E402
from fupin_cli.core.reassess_sql import fetch_register, reassess_scanned  # noqa: E402
from fupin_cli.engine import load_pack  # noqa: E402
from fupin_cli.errors import DataError, UsageError  # noqa: E402
from fupin_cli.io.annual import read_previous_register, scan_register  # noqa: E402
from fupin_cli.io.read import read_roster  # noqa: E402
from fupin_cli.io.register import write_register  # noqa: E402
from fupin_cli.io.scan import scan_roster, write_register_sql  # noqa: E402
from fupin_cli.io.write_roster import write_roster  # noqa: E402
from fupin_cli.samples import generate_chain  # noqa: E402
from fupin_cli.samples.ids import to_15  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACK = load_pack("national-2014")
runner = CliRunner()


def _values(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype(object)
    return out.where(out.notna(), None)


def pandas_reassess(previous: Path, roster: Path, year: int, pack=PACK):
    result, view = run_reassess(read_previous_register(previous), read_roster([roster]), pack, year, allow_errors=True)
    return result, view


def duckdb_reassess(previous: Path, roster: Path, year: int, pack=PACK):
    con = duckdb.connect()
    prev = scan_register(con, previous)
    scan = scan_roster(con, [roster])
    ident = identify_scanned(scan, pack, year)
    return reassess_scanned(prev, scan, ident, year)


def assert_same(slow: pd.DataFrame, fast: pd.DataFrame) -> None:
    assert list(fast.columns) == list(slow.columns)
    assert len(fast) == len(slow)
    a, b = _values(slow.reset_index(drop=True)), _values(fast)
    for col in slow.columns:
        x, y = a[col].tolist(), b[col].tolist()
        bad = [(i, u, v) for i, (u, v) in enumerate(zip(x, y)) if not (u == v or (u is None and v is None))]
        assert not bad, f"{col}: {len(bad)} households differ, e.g. {bad[:3]}"


def run_both(previous: Path, roster: Path, year: int, pack=PACK):
    """(pandas Reassessment, DuckDB ReassessScanned), after checking every column of every household."""
    slow, _ = pandas_reassess(previous, roster, year, pack)
    fast = duckdb_reassess(previous, roster, year, pack)
    assert_same(slow.households, fetch_register(fast))
    assert fast.summary() == slow.summary()
    return slow, fast


def _roster_parquet(src: Path, dst: Path) -> Path:
    write_roster(read_roster([src]), dst, "member")
    return dst


def _identify_register(roster: Path, year: int, out: Path, pack=PACK) -> Path:
    write_register(identify(read_roster([roster]), pack, year, allow_errors=True), out)
    return out


# ---- the bundled sample chain ------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("sample-chain")
    rosters = {y: _roster_parquet(ROOT / "samples" / "chain" / f"roster-{y}.xlsx", d / f"roster-{y}.parquet") for y in (2015, 2016, 2017)}
    return d, rosters, _identify_register(rosters[2015], 2015, d / "register-2015.parquet")


def test_sample_chain_every_column_of_every_household(sample_chain):
    d, rosters, reg15 = sample_chain
    _slow16, fast16 = run_both(reg15, rosters[2016], 2016)
    assert fast16.summary()["matching"]["户主证件号码"] == 1  # 5002300010030009 renumbered from 5002300010030002
    # each engine's 2016 register is the next PREVIOUS: the pandas one written by the register writer, the DuckDB one by COPY

    _, view16 = pandas_reassess(reg15, rosters[2016], 2016)
    write_register(view16, d / "pandas-2016.parquet")
    write_register_sql(fast16, d / "duckdb-2016.parquet")
    pd.testing.assert_frame_equal(_values(pd.read_parquet(d / "pandas-2016.parquet")), _values(pd.read_parquet(d / "duckdb-2016.parquet")),
                                  check_dtype=False)
    _slow17, fast17 = run_both(d / "duckdb-2016.parquet", rosters[2017], 2017)
    counts = {r.transition: r.households for r in fast17.counts().itertuples()}
    assert counts["返贫"] == 1 and counts["自然减少"] == 1 and counts["继续帮扶"] == 6
    history = fetch_register(fast17)["status_history"]
    assert history.str.count(r"\|").max() == 2  # three years kept


def test_csv_registers_as_previous(sample_chain):
    """A CSV register (UTF-8 with BOM, formulas escaped, every cell text) as PREVIOUS: the identify register for
    2016, then the DuckDB engine's own CSV register for 2017."""
    d, rosters, _ = sample_chain
    reg15 = _identify_register(rosters[2015], 2015, d / "register-2015.csv")
    _, fast16 = run_both(reg15, rosters[2016], 2016)
    write_register_sql(fast16, d / "duckdb-2016.csv")
    _, fast17 = run_both(d / "duckdb-2016.csv", rosters[2017], 2017)
    assert fast17.summary()["transitions"]["返贫"]["households"] == 1


# ---- generated chains --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("generated-chain")
    years = (2015, 2016, 2017)
    files = {}
    for year, (roster, _) in zip(years, generate_chain(300, seed=7, years=years)):
        files[year] = d / f"roster-{year}.parquet"
        write_roster(roster, files[year], "member")
    return d, files


def test_generated_chain_two_years(generated):
    d, files = generated
    reg15 = _identify_register(files[2015], 2015, d / "register-2015.parquet")
    _, fast16 = run_both(reg15, files[2016], 2016)
    write_register_sql(fast16, d / "register-2016.parquet")
    _, fast17 = run_both(d / "register-2016.parquet", files[2017], 2017)
    assert sum(r.households for r in fast17.counts().itertuples() if r.transition in ("脱贫", "继续帮扶")) > 0


@pytest.mark.slow
def test_generated_chain_with_vetoes_gives_the_same_removals(generated):
    d, files = generated
    pack = load_pack("chongqing")
    reg15 = _identify_register(files[2015], 2015, d / "register-cq-2015.parquet", pack)
    _slow, fast = run_both(reg15, files[2016], 2016, pack)
    assert fast.summary()["transitions"]["清退"]["households"] > 0


# ---- matching by head ID / member ID, split, gone, returned, duplicates ----------------------------
INCOME_COLUMNS = ("annual_income", "wage_income", "business_income", "property_income", "dividend_income", "transfer_income",
                  "family_planning_subsidy", "dibao_benefit", "tekun_benefit", "pension_benefit", "eco_compensation",
                  "business_expense", "net_income")


def _edit_case(d: Path, files: dict) -> tuple[Path, Path]:
    """The generated 2016 roster and 2015 register edited so that every matching rule and transition occurs."""
    reg = pd.read_parquet(_identify_register(files[2015], 2015, d / "register-2015.parquet"))
    roster = read_roster([files[2016]])
    hh, mem = roster.households.copy(), roster.members.copy()
    poor_prev = reg.loc[reg["识别结果"] == "贫困户", "户编号"].tolist()
    shared = set(hh["household_id"]) & set(reg["户编号"])
    keep = [h for h in hh["household_id"] if h in shared]
    by_head, by_member, split_from, gone = poor_prev[0], poor_prev[1], poor_prev[2], poor_prev[3]
    assert {by_head, by_member, split_from, gone} <= set(keep)

    def renumber(old: str, new: str) -> None:
        hh.loc[hh["household_id"] == old, "household_id"] = new
        mem.loc[mem["household_id"] == old, "household_id"] = new

    def head_becomes(hid: str, member_index: int) -> None:
        """Member ``member_index`` becomes the 户主 of ``hid`` (the old head stays as a member)."""
        is_head = (mem["household_id"] == hid) & (mem["relation"] == "户主")
        mem.loc[is_head, "relation"] = "其他"
        mem.loc[member_index, "relation"] = "户主"
        at = hh["household_id"] == hid
        hh.loc[at, "head_id_number"] = mem.loc[member_index, "id_number"]
        hh.loc[at, "head_name"] = mem.loc[member_index, "name"]

    def others(hid: str) -> pd.Index:
        return mem.index[(mem["household_id"] == hid) & (mem["relation"] != "户主")]

    # same head, new 户编号, the head's number written in the old 15-digit form: matched by 户主证件号码
    renumber(by_head, "9990000000000001")
    old = hh.loc[hh["household_id"] == "9990000000000001", "head_id_number"].iloc[0]
    short = to_15(old)
    hh.loc[hh["household_id"] == "9990000000000001", "head_id_number"] = short
    mem.loc[mem["id_number"] == old, "id_number"] = short
    # new 户编号 and a new head; last year's head is still a member: matched by 成员证件号码
    renumber(by_member, "9990000000000002")
    assert len(others("9990000000000002"))
    head_becomes("9990000000000002", others("9990000000000002")[0])
    # last year's head leaves and heads a new household (分户); a member heads the old one, which keeps its 户编号
    assert len(others(split_from))
    old_head = mem.index[(mem["household_id"] == split_from) & (mem["relation"] == "户主")][0]
    head_becomes(split_from, others(split_from)[0])
    mem.loc[old_head, ["household_id", "relation"]] = ["9990000000000003", "户主"]
    row = hh[hh["household_id"] == split_from].copy()
    row["household_id"] = "9990000000000003"
    row["head_id_number"] = mem.loc[old_head, "id_number"]
    row["head_name"] = mem.loc[old_head, "name"]
    at = hh["household_id"] == split_from
    size = int(hh.loc[at, "household_size"].iloc[0])
    money = [c for c in INCOME_COLUMNS if c in hh.columns]
    row["household_size"] = 1  # the incomes shared out by head count: 人均纯收入 and the income checks stay true
    row[money] = (row[money].astype("Float64") / size).round(2)
    hh.loc[at, "household_size"] = size - 1
    hh[money] = hh[money].astype("Float64")
    hh.loc[at, money] = (hh.loc[at, money] * (size - 1) / size).round(2)
    hh = pd.concat([hh, row], ignore_index=True)
    # a registered household is gone (自然减少)
    hh, mem = hh[hh["household_id"] != gone], mem[mem["household_id"] != gone]
    # the roster itself records 已脱贫 for a household the register has as 非贫困户 (trusted: 返贫 if poor)
    not_poor_prev = set(reg.loc[reg["识别结果"] == "非贫困户", "户编号"]) & set(hh["household_id"])
    recorded = sorted(not_poor_prev)[:3]
    hh["exit_status"] = hh["exit_status"].astype(object)
    hh.loc[hh["household_id"].isin(recorded), "exit_status"] = "已脱贫"
    roster.households, roster.members = hh.reset_index(drop=True), mem.reset_index(drop=True)
    cur = d / "roster-2016-edited.parquet"
    write_roster(roster, cur, "member", force=True)
    # in the register: 建档立卡状态 已脱贫 for households poor again this year (返贫), and two households sharing a head ID
    reg["建档立卡状态"] = None
    status16 = identify(read_roster([cur]), PACK, 2016, allow_errors=True).households.set_index("household_id")["status"]
    poor_now = [h for h in status16.index[status16.astype(object) == "贫困户"] if h in set(reg["户编号"]) and h not in poor_prev]
    reg.loc[reg["户编号"].isin(poor_now[:2]), "建档立卡状态"] = "已脱贫"
    twin = reg.index[reg["户编号"] == by_head][0]
    # the household gone this year has the same head ID number in the register: the first of the two is matched
    reg.loc[reg["户编号"] == gone, "户主证件号码"] = reg.loc[twin, "户主证件号码"]
    prev = d / "register-2015-edited.parquet"
    reg.to_parquet(prev, index=False)
    return prev, cur


def test_matching_by_head_and_member_ids_split_gone_and_returned(generated, tmp_path):
    _d, files = generated
    prev, cur = _edit_case(tmp_path, files)
    _slow, fast = run_both(prev, cur, 2016)
    m = fast.summary()["matching"]
    assert m["户主证件号码"] >= 1 and m["成员证件号码"] >= 1 and m["分户"] >= 1
    reg = fetch_register(fast).set_index("household_id", drop=False)
    assert reg.loc["9990000000000001", "match_method"] == "户主证件号码"
    assert reg.loc["9990000000000002", "match_method"] == "成员证件号码"
    assert reg.loc["9990000000000003", "match_method"] == "分户"
    assert (reg["transition"] == "自然减少").sum() >= 1
    assert (reg["transition"] == "返贫").sum() >= 1


def test_duplicate_household_ids_are_refused_by_both(generated, tmp_path):
    _d, files = generated
    reg15 = _identify_register(files[2015], 2015, tmp_path / "register-2015.parquet")
    reg = pd.read_parquet(reg15)
    reg.loc[1, "户编号"] = reg.loc[0, "户编号"]
    reg.to_parquet(tmp_path / "dup.parquet", index=False)
    with pytest.raises(DataError) as slow:
        pandas_reassess(tmp_path / "dup.parquet", files[2016], 2016)
    with pytest.raises(DataError) as fast:
        duckdb_reassess(tmp_path / "dup.parquet", files[2016], 2016)
    assert str(fast.value) == str(slow.value)


def test_years_are_checked_as_the_pandas_path_checks_them(sample_chain):
    _d, rosters, reg15 = sample_chain
    for year in (2015, 2014):
        with pytest.raises(UsageError) as slow:
            pandas_reassess(reg15, rosters[2016], year)
        with pytest.raises(UsageError) as fast:
            duckdb_reassess(reg15, rosters[2016], year)
        assert str(fast.value) == str(slow.value)


def test_a_roster_is_not_a_previous_register(sample_chain):
    _d, rosters, _ = sample_chain
    with pytest.raises(UsageError, match="is not a register"):
        scan_register(duckdb.connect(), rosters[2015])


# ---- the command ------------------------------------------------------------------------------
def test_cli_engine_duckdb_writes_the_pandas_register(sample_chain, tmp_path):
    _d, rosters, reg15 = sample_chain
    outs = {}
    for engine in ("pandas", "duckdb"):
        outs[engine] = tmp_path / f"{engine}.parquet"
        args = ["reassess", str(reg15), str(rosters[2016]), "--year", "2016", "-o", str(outs[engine]), "--json",
                "--pack", "national-2014", "--allow-errors"]
        res = runner.invoke(app, [*args, "--engine", "duckdb", "--no-checks"] if engine == "duckdb" else args)
        assert res.exit_code == 0, res.stderr
        payload = json.loads(res.stdout)
        outs[engine + "-json"] = payload
    assert outs["duckdb-json"]["provenance"]["engine"] == "duckdb"
    for key in ("transitions", "registry_status", "matching", "households", "year", "previous_year"):
        assert outs["duckdb-json"][key] == outs["pandas-json"][key]
    pd.testing.assert_frame_equal(_values(pd.read_parquet(outs["pandas"])), _values(pd.read_parquet(outs["duckdb"])), check_dtype=False)
    csv = tmp_path / "duckdb.csv"  # CSV (是/否, formulas escaped, UTF-8 with BOM) with English labels: byte for byte
    res = runner.invoke(app, ["reassess", str(reg15), str(rosters[2016]), "--year", "2016", "-o", str(csv), "-q",
                              "--pack", "national-2014", "--engine", "duckdb", "--no-checks", "--lang", "en"])
    assert res.exit_code == 0, res.stderr
    res = runner.invoke(app, ["reassess", str(reg15), str(rosters[2016]), "--year", "2016", "-o", str(tmp_path / "p.csv"), "-q",
                              "--pack", "national-2014", "--allow-errors", "--lang", "en"])
    assert res.exit_code == 0, res.stderr
    assert csv.read_bytes() == (tmp_path / "p.csv").read_bytes()


def test_cli_engine_duckdb_falls_back_with_a_message(sample_chain, tmp_path):
    _d, rosters, reg15 = sample_chain
    base = ["reassess", str(reg15), str(rosters[2016]), "--year", "2016", "--pack", "national-2014", "--allow-errors", "-q"]
    res = runner.invoke(app, [*base, "-o", str(tmp_path / "r.parquet"), "--engine", "duckdb"])
    assert res.exit_code == 0, res.stderr
    assert "does not run validate's data-quality checks" in res.stderr and "the pandas engine runs instead" in res.stderr
    res = runner.invoke(app, [*base, "-o", str(tmp_path / "y.parquet"), "--no-checks"])
    assert res.exit_code == 2 and "--no-checks is only for --engine duckdb" in res.stderr
    xlsx_prev = tmp_path / "register-2015.xlsx"
    write_register(identify(read_roster([rosters[2015]]), PACK, 2015, allow_errors=True), xlsx_prev)
    with pytest.raises(FastPathUnsupported, match=r"a \.xlsx PREVIOUS register \(\.parquet and \.csv only\)"):
        scan_register(duckdb.connect(), xlsx_prev)


@pytest.mark.slow
def test_cli_engine_duckdb_falls_back_for_what_it_does_not_handle(sample_chain, tmp_path):
    _d, rosters, reg15 = sample_chain
    base = ["reassess", str(reg15), str(rosters[2016]), "--year", "2016", "--pack", "national-2014", "--allow-errors", "-q",
            "--engine", "duckdb", "--no-checks"]
    cases = [(["-o", str(tmp_path / "a.parquet"), "--publicity", str(tmp_path / "pub.xlsx")], "--publicity not supported yet"),
             (["-o", str(tmp_path / "r.xlsx")], "a .xlsx register (.parquet and .csv only)")]
    for extra, message in cases:
        res = runner.invoke(app, [*base, *extra])
        assert res.exit_code == 0, res.stderr
        assert message in res.stderr and "the pandas engine runs instead" in res.stderr
    xlsx_prev = tmp_path / "register-2015.xlsx"
    write_register(identify(read_roster([rosters[2015]]), PACK, 2015, allow_errors=True), xlsx_prev)
    res = runner.invoke(app, ["reassess", str(xlsx_prev), str(rosters[2016]), "--year", "2016", "--pack", "national-2014",
                              "-o", str(tmp_path / "x.parquet"), "-q", "--engine", "duckdb", "--no-checks"])
    assert res.exit_code == 0, res.stderr
    assert "a .xlsx PREVIOUS register (.parquet and .csv only)" in res.stderr
