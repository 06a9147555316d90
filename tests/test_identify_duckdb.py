"""Parity of ``identify --engine duckdb`` (io.scan + core.identify_sql) with the pandas path.

Every register column (roster columns as read, 识别结果, 贫困户属性, 致贫原因, 帮扶措施, 识别依据,
未识别原因 with their values and thresholds, 测算, 人口数, year, pack, 原表行号) must be identical for
every household, on the bundled Parquet/CSV/.xlsx/.xls samples, generated household- and member-level rosters
(clean and messy, as Parquet, CSV and workbooks: the government template with its title rows, two-row
header, merged cells, 合计 and signature rows), workbooks of several sheets, and metamorphic forms (relabelled headers, inverted polarity, units, graded 危房,
√/×, spaces, shuffled rows and columns).  The DuckDB path does not run validate's checks: on a messy
roster the households that validate marks 数据错误待核实 on the pandas path are the only ones allowed
to differ, and the reader's own value errors stop both paths alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")

from fupin_cli.core.identify import DATA_ERROR_PREFIX, identify  # noqa: E402
from fupin_cli.core.identify_sql import identify_scanned  # noqa: E402
from fupin_cli.engine import load_pack  # noqa: E402
from fupin_cli.errors import DataError  # noqa: E402
from fupin_cli.io.read import read_roster  # noqa: E402
from fupin_cli.io.scan import Unsupported, scan_roster, write_register_sql  # noqa: E402
from fupin_cli.io.write_roster import write_roster  # noqa: E402
from fupin_cli.samples import generate_roster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "metamorphic"))
from metamorphic_forms import Form, variants, write_form  # noqa: E402

PACK = load_pack("national-2014")


def _values(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype(object)
    return out.where(out.notna(), None)


def run_both(paths: list[Path], year: int, *, pack=PACK, columns=None, sheet=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(pandas register, DuckDB register, households the pandas path marked 数据错误待核实)."""
    roster = read_roster(paths, columns=columns, sheet=sheet)
    result = identify(roster, pack, year, allow_errors=True)
    slow = result.households.reset_index(drop=True)
    con = duckdb.connect()
    scan = scan_roster(con, paths, columns=columns, sheet=sheet)
    _same_notes(roster.notes, scan.notes)
    fast = identify_scanned(scan, pack, year, allow_errors=True)
    assert fast.counts == result.counts  # findings by severity, 待核实 included
    got = con.sql(f"SELECT {', '.join(chr(34) + c + chr(34) for c in fast.columns)} FROM __register ORDER BY __row").df()
    flagged = slow["not_identified_reason"].astype(object).fillna("").str.startswith(DATA_ERROR_PREFIX)
    return slow, got, flagged


def _same_notes(want: pd.DataFrame, got: pd.DataFrame) -> None:
    """The reader's row and cell notes (skipped rows, bad values, sheets read) are the scan's."""
    checks = ("read.blank_row", "read.total_row", "read.repeated_header", "read.sheets", "read.unknown_code", "read.bad_number",
              "read.bad_date", "read.bad_bool", "id.stored_as_number", "read.formula_error", "read.formula_no_value", "read.formula_zero")

    def rows(notes: pd.DataFrame) -> list:
        part = notes[notes["check"].isin(checks)]
        return sorted(map(str, zip(part["check"], part["sheet"], part["row"], part["message"])))

    assert rows(got) == rows(want)


def assert_same(slow: pd.DataFrame, fast: pd.DataFrame, flagged: pd.Series, *, allow_flagged: bool = False) -> None:
    """Every household the same, those marked 数据错误待核实 (``flagged``) included."""
    assert list(fast.columns) == list(slow.columns)
    assert len(fast) == len(slow)
    if not allow_flagged:
        assert not flagged.any(), "validate found errors: this case is meant to be clean"
    a, b = _values(slow), _values(fast)
    for col in slow.columns:
        x, y = a[col].tolist(), b[col].tolist()
        bad = [(i, u, v) for i, (u, v) in enumerate(zip(x, y)) if not (u == v or (u is None and v is None))]
        assert not bad, f"{col}: {len(bad)} households differ, e.g. {bad[:3]}"


@pytest.mark.parametrize("name, year", [("roster-clean.parquet", 2015), ("roster-clean-gbk.csv", 2015), ("roster-clean.xlsx", 2015),
                                        ("roster-clean.xls", 2015)])
def test_bundled_samples(name, year):
    assert_same(*run_both([ROOT / "samples" / name], year))


SLOW = pytest.mark.slow


@pytest.mark.parametrize("layout, fmt, year", [
    ("member", "parquet", 2016), ("household", "csv", 2015), ("household", "xlsx", 2016), ("member", "xlsx", 2015),
    pytest.param("member", "csv", 2015, marks=SLOW), pytest.param("household", "parquet", 2016, marks=SLOW),
    pytest.param("member", "parquet", 2015, marks=SLOW), pytest.param("household", "csv", 2016, marks=SLOW),
])
def test_generated_rosters(tmp_path, layout, fmt, year):
    roster, _ = generate_roster(150, seed=year, year=year)
    p = tmp_path / f"r.{fmt}"
    write_roster(roster, p, layout=layout)
    assert_same(*run_both([p], year))


@pytest.mark.parametrize("layout, fmt", [("household", "parquet"), pytest.param("member", "csv", marks=SLOW),
                                         pytest.param("household", "csv", marks=SLOW), pytest.param("member", "parquet", marks=SLOW)])
def test_messy_rosters_stop_alike_and_mark_the_same_households(tmp_path, layout, fmt):
    roster, _ = generate_roster(300, seed=11, year=2015, messy=True)
    p = tmp_path / f"m.{fmt}"
    write_roster(roster, p, layout=layout)
    read = read_roster([p])
    reader_errors = read.notes[read.notes["severity"] == "error"]
    con = duckdb.connect()
    scan = scan_roster(con, [p])
    assert sorted(scan.notes.loc[scan.notes["severity"] == "error", "message"]) == sorted(reader_errors["message"])
    with pytest.raises(DataError) as fast_error:  # validate's errors stop both paths alike
        identify_scanned(scan, PACK, 2015)
    with pytest.raises(DataError) as slow_error:
        identify(read, PACK, 2015)
    assert (str(fast_error.value), fast_error.value.hint, fast_error.value.problems) == (
        str(slow_error.value), slow_error.value.hint, slow_error.value.problems)
    slow, fast, flagged = run_both([p], 2015)
    assert flagged.any()  # the messy roster has validate errors: the pandas path marks them 待核实
    assert_same(slow, fast, flagged, allow_flagged=True)


def _numeric_ids_as_text(roster):
    """The messy roster without its ID cell stored as a number (that fault alone sends a workbook to the pandas reader)."""
    m = roster.members
    numeric = m["id_number"].map(lambda v: not isinstance(v, str) and pd.notna(v)).to_numpy(dtype=bool)
    assert numeric.sum() == 1
    m.loc[numeric, "id_number"] = m.loc[numeric, "id_number"].map(lambda v: str(int(v)))
    return roster


@pytest.mark.parametrize("layout", ["template", pytest.param("member", marks=SLOW), pytest.param("household", marks=SLOW)])
def test_messy_workbooks(tmp_path, layout):
    """The government template (title rows, two-row header, household cells merged over their members, a 合计 row
    with formulas, a blank row and a signature line, money as text, √/×, 有/无): the rows the reader skips are
    skipped with its notes, merged cells filled from their range, and every register column is the pandas path's."""
    roster, _ = generate_roster(300, seed=11, year=2015, messy=True)
    p = tmp_path / f"m-{layout}.xlsx"
    write_roster(_numeric_ids_as_text(roster), p, layout=layout)
    slow, fast, flagged = run_both([p], 2015)
    assert flagged.any()
    assert_same(slow, fast, flagged, allow_flagged=True)
    if layout == "template":
        scan = scan_roster(duckdb.connect(), [p])
        assert scan.sources[0].layout == "member-merged"
        assert set(scan.notes["check"]) >= {"read.total_row", "read.blank_row"}


def test_messy_sample_with_an_id_stored_as_a_number_is_left_to_the_reader():
    with pytest.raises(Unsupported, match="ID numbers stored as numbers"):
        scan_roster(duckdb.connect(), [ROOT / "samples" / "roster-messy.xlsx"])


def _village_sheets(tmp_path: Path, layout: str) -> Path:
    """A generated county as one sheet per 行政村 (a title row above the header on the first), a hidden old sheet
    and a 说明 sheet without a roster."""
    import xlsxwriter

    roster, _ = generate_roster(120, seed=9, year=2016)
    csv = tmp_path / "all.csv"
    write_roster(roster, csv, layout=layout, encoding="utf-8-sig")
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    p = tmp_path / f"villages-{layout}.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    for k, (village, part) in enumerate(frame.groupby("行政村", sort=False)):
        ws = wb.add_worksheet(str(village))
        rows = [list(part.columns), *part.to_numpy().tolist()]
        if k == 0:
            rows.insert(0, [f"{village}建档立卡贫困户花名册"])
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    old = wb.add_worksheet("旧表")
    for r, row in enumerate([list(frame.columns), *frame.head(3).to_numpy().tolist()]):
        old.write_row(r, 0, row)
    old.hide()
    wb.add_worksheet("说明").write(0, 0, "填表说明")
    wb.close()
    return p


@pytest.mark.parametrize("layout", ["member", pytest.param("household", marks=SLOW)])
def test_several_sheets(tmp_path, layout):
    p = _village_sheets(tmp_path, layout)
    slow, fast, flagged = run_both([p], 2016)
    assert slow["_sheet"].nunique() > 1 if "_sheet" in slow else True
    assert_same(slow, fast, flagged)
    scan = scan_roster(duckdb.connect(), [p])
    want = read_roster([p]).sources[0]
    got = scan.sources[0]
    assert (got.sheets, got.skipped_sheets, got.layout, got.header_rows) == (want.sheets, want.skipped_sheets, want.layout, want.header_rows)
    assert len(got.sheets) > 1 and "旧表" in got.skipped_sheets
    sheet = want.sheets[1]
    assert_same(*run_both([p], 2016, sheet=sheet))  # --sheet: that sheet only, as the reader reads it


FORMS = [
    Form("member", layout="head-only", relabel=tuple(sorted(variants("member"))), seed=5, fmt="parquet"),
    Form("household", relabel=tuple(sorted(variants("household"))), spaces=True, shuffle=True, seed=14, fmt="csv"),
    pytest.param(Form("member", relabel=tuple(sorted(variants("member"))), spaces=True, seed=3, fmt="csv"), marks=SLOW),
    pytest.param(Form("member", relabel=tuple(sorted(variants("member"))), shuffle=True, seed=4, fmt="parquet"), marks=SLOW),
    pytest.param(Form("household", relabel=tuple(sorted(variants("household"))), seed=13, fmt="parquet"), marks=SLOW),
    Form("member", layout="head-only", relabel=tuple(sorted(variants("member"))), spaces=True, split="sheets", seed=6, fmt="xlsx"),
    pytest.param(Form("household", relabel=tuple(sorted(variants("household"))), shuffle=True, split="sheets", seed=15, fmt="xlsx"),
                 marks=SLOW),
]


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    roster, _ = generate_roster(60, seed=7, year=2016)
    frames = {}
    for family in ("member", "household"):
        p = d / f"plain-{family}.csv"
        write_roster(roster, p, layout=family, encoding="utf-8-sig")
        frames[family] = pd.read_csv(p, dtype=str, keep_default_na=False)
    return frames["member"], frames["household"]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f"{f.family}-{f.layout}-{f.split}-{f.fmt}-{f.seed}" if isinstance(f, Form) else None)
def test_metamorphic_forms(county, tmp_path, form):
    """Relabelled headers (inverted polarity, 万元/千元 units, graded 危房, √/×) read by the same vocabulary."""
    member, household = county
    paths = write_form(member, household, form, tmp_path)
    assert_same(*run_both(paths, 2016), allow_flagged=True)


def test_register_written_by_the_engine_reads_back_the_same(tmp_path):
    from fupin_cli.io.register import read_register

    roster, _ = generate_roster(200, seed=5, year=2016)
    p = tmp_path / "r.parquet"
    write_roster(roster, p, layout="member")
    con = duckdb.connect()
    fast = identify_scanned(scan_roster(con, [p]), PACK, 2016)
    slow = identify(read_roster([p]), PACK, 2016).households.reset_index(drop=True)
    for suffix in (".parquet", ".csv"):
        out = write_register_sql(fast, tmp_path / f"reg{suffix}")
        assert (out.stat().st_mode & 0o777) == 0o600  # the register holds full ID numbers
        back = read_register(out).households
        want = read_register(_pandas_register(slow, tmp_path / f"want{suffix}")).households
        assert list(back.columns) == list(want.columns)
        pd.testing.assert_frame_equal(_values(back), _values(want), check_dtype=False)


def _pandas_register(households: pd.DataFrame, path: Path) -> Path:
    from fupin_cli.io.register import bools_as_text, labelled
    from fupin_cli.io.write import write_csv, write_parquet

    if path.suffix == ".csv":
        return write_csv(bools_as_text(labelled(households)), path, private=True)
    return write_parquet(labelled(households), path, private=True)


def test_skipped_rows_in_a_csv_are_skipped_as_the_reader_skips_them(tmp_path):
    """A 合计 row, a blank row and a repeated header inside a CSV: dropped with the reader's notes (``_same_notes``)."""
    roster, _ = generate_roster(50, seed=3, year=2016)
    p = tmp_path / "r.csv"
    write_roster(roster, p, layout="household", encoding="utf-8-sig")
    text = p.read_text(encoding="utf-8-sig").splitlines()
    width = text[0].count(",")
    lines = [*text[:20], text[0], *text[20:30], "," * width, *text[30:], "合计," + ",".join([""] * width)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    slow, fast, flagged = run_both([p], 2016)
    assert len(slow) == 50
    assert_same(slow, fast, flagged)


def test_what_it_does_not_handle_is_refused_not_guessed(tmp_path):
    con = duckdb.connect()
    roster, _ = generate_roster(50, seed=3, year=2016)
    p = tmp_path / "r.csv"
    write_roster(roster, p, layout="household", encoding="utf-8-sig")
    with pytest.raises(Unsupported, match="several"):
        scan_roster(con, [p, p])
    with pytest.raises(Unsupported, match="--sheet"):
        scan_roster(con, [p], sheet="x")
    two = tmp_path / "two.xlsx"
    write_roster(roster, two, layout="two-sheet")  # a household sheet and a member sheet: the reader joins them
    with pytest.raises(Unsupported, match="two-sheet"):
        scan_roster(con, [two])


def test_cli_engine_duckdb_runs_the_checks(tmp_path):
    from typer.testing import CliRunner

    from fupin_cli.cli.app import app

    runner = CliRunner()
    out_fast, out_slow = tmp_path / "fast.parquet", tmp_path / "slow.parquet"
    src = str(ROOT / "samples" / "roster-clean.parquet")
    r = runner.invoke(app, ["identify", src, "--year", "2015", "-o", str(out_fast), "--engine", "duckdb", "--quiet"])
    assert r.exit_code == 0, r.output
    assert "pandas engine runs instead" not in r.output and "were not run" not in r.output
    r = runner.invoke(app, ["identify", src, "--year", "2015", "-o", str(out_slow), "--engine", "duckdb", "--no-checks", "--quiet"])
    assert r.exit_code == 0, r.output
    assert "were not run" in r.output
    out_ref = tmp_path / "ref.parquet"
    assert runner.invoke(app, ["identify", src, "--year", "2015", "-o", str(out_ref), "--quiet"]).exit_code == 0
    for got in (out_fast, out_slow):
        pd.testing.assert_frame_equal(_values(pd.read_parquet(got)), _values(pd.read_parquet(out_ref)), check_dtype=False)
    r = runner.invoke(app, ["identify", src, "--year", "2015", "-o", str(tmp_path / "x.parquet"), "--no-checks"])
    assert r.exit_code == 2 and "only for --engine duckdb" in r.output


def test_cli_engine_duckdb_reads_workbooks(tmp_path):
    from typer.testing import CliRunner

    from fupin_cli.cli.app import app

    runner = CliRunner()
    src = str(ROOT / "samples" / "roster-clean.xlsx")
    out_fast, out_ref = tmp_path / "fast.parquet", tmp_path / "ref.parquet"
    r = runner.invoke(app, ["identify", src, "--year", "2015", "-o", str(out_fast), "--engine", "duckdb", "--no-checks", "--quiet"])
    assert r.exit_code == 0, r.output
    assert "pandas engine runs instead" not in r.output and "were not run" in r.output
    assert runner.invoke(app, ["identify", src, "--year", "2015", "-o", str(out_ref), "--quiet"]).exit_code == 0
    pd.testing.assert_frame_equal(_values(pd.read_parquet(out_fast)), _values(pd.read_parquet(out_ref)), check_dtype=False)
    r = runner.invoke(app, ["identify", str(ROOT / "samples" / "roster-messy.xlsx"), "--year", "2015", "-o", str(tmp_path / "m.parquet"),
                            "--engine", "duckdb", "--no-checks", "--quiet"])
    assert "ID numbers stored as numbers" in r.output and "pandas engine runs instead" in r.output
    assert r.exit_code == 1  # the reader's id.stored_as_number errors stop the run, as without --engine


def test_texts_come_from_the_query_not_from_fetched_columns(tmp_path):
    """The decisions and texts are built in SQL (engine/texts_sql.py): identify reads no roster column back into
    pandas for them; a text the query does not build (reassess's 未达标原因) reads its inputs on demand, correctly."""
    from fupin_cli.engine.decide import household_exit

    roster, _ = generate_roster(120, seed=21, year=2016)
    p = tmp_path / "r.parquet"
    write_roster(roster, p, layout="member")
    con = duckdb.connect()
    scan = scan_roster(con, [p])
    fast = identify_scanned(scan, PACK, 2016, checks=False)  # the pack's check rules read their own inputs
    ev = fast.evaluation
    assert not set(ev._hh.columns) & set(scan.household_columns)  # nothing fetched
    assert ev.sql_decisions is not None and "basis" in ev.sql_decisions.columns
    slow = identify(read_roster([p]), PACK, 2016)
    got, want = household_exit(ev), household_exit(slow.evaluation)
    assert set(ev._hh.columns) & set(scan.household_columns)  # the exit rules' inputs, fetched on demand
    assert got["exit_unmet"].tolist() == want["exit_unmet"].tolist()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_cli_engine_duckdb_with_data_errors(tmp_path, fmt):
    """Data errors: exit 1 with the pandas path's message; --allow-errors: exit 0, the same register (待核实 rows)."""
    from typer.testing import CliRunner

    from fupin_cli.cli.app import app

    roster, _ = generate_roster(120, seed=11, year=2015, messy=True)
    src = tmp_path / f"messy.{fmt}"
    write_roster(roster, src, layout="member")
    runner = CliRunner()
    base = ["identify", str(src), "--year", "2015", "--quiet"]
    fast = runner.invoke(app, [*base, "-o", str(tmp_path / "f1.parquet"), "--engine", "duckdb"])
    slow = runner.invoke(app, [*base, "-o", str(tmp_path / "s1.parquet")])
    assert fast.exit_code == slow.exit_code == 1, (fast.output, slow.output)
    assert "data errors" in fast.output and fast.output == slow.output
    assert not (tmp_path / "f1.parquet").exists()
    fast = runner.invoke(app, [*base, "-o", str(tmp_path / "f2.parquet"), "--engine", "duckdb", "--allow-errors"])
    slow = runner.invoke(app, [*base, "-o", str(tmp_path / "s2.parquet"), "--allow-errors"])
    assert fast.exit_code == slow.exit_code == 0, (fast.output, slow.output)
    assert "pandas engine runs instead" not in fast.output
    got, want = pd.read_parquet(tmp_path / "f2.parquet"), pd.read_parquet(tmp_path / "s2.parquet")
    assert got.iloc[:, list(got.columns).index("未识别原因")].astype(str).str.startswith(DATA_ERROR_PREFIX).any()
    pd.testing.assert_frame_equal(_values(got), _values(want), check_dtype=False)
