"""Outputs cannot be turned against inputs or readers (issue 13, items 4–7).

* every output flag of every command pointed at an input (same path, symlink, hard link), with
  and without --force: refused (exit 2), the input unchanged;
* an unwritable output folder is found before the work; a full disk is a clean exit 4 with
  nothing half-written;
* formula injection: every text cell and header of .csv/.xlsx outputs is neutralised, numbers stay numbers;
* outputs holding full IDs are 0600, the others follow the umask; stale temporaries are removed;
  two runs writing the same file: one wins whole, the other fails clearly;
* the same inputs give byte-identical .xlsx.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import record, sha256
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.errors import OutputError, UsageError
from fupin_cli.io import write as w

ROOT = Path(__file__).resolve().parents[2]
CAT = "inputs sacred"


@pytest.fixture(scope="module")
def work(tmp_path_factory, adversarial_files):
    d = tmp_path_factory.mktemp("outputs")
    roster = d / "roster.csv"
    roster.write_bytes((adversarial_files / "good.csv").read_bytes())
    runner = CliRunner()
    res = runner.invoke(app, ["identify", str(roster), "--year", "2015", "-o", str(d / "register.xlsx"), "--allow-errors", "-q"])
    assert res.exit_code == 0, res.output
    quota = d / "quota.csv"
    quota.write_text("行政村,指标\n湾南村,5\n石门村,5\n", encoding="utf-8")
    return d


def _attacks(d: Path) -> list[tuple[str, list[str], Path]]:
    """(name, args with {OUT} where the output goes, the input it is aimed at)."""
    r, reg, q = d / "roster.csv", d / "register.xlsx", d / "quota.csv"
    base_id = ["identify", str(r), "--year", "2015", "--allow-errors", "-q"]
    return [
        ("identify -o", [*base_id, "-o", "{OUT}"], r),
        ("identify --publicity", [*base_id, "-o", str(d / "x1.xlsx"), "--publicity", "{OUT}"], r),
        ("identify --quota as output", [*base_id, "--quota", str(q), "-o", "{OUT}"], q),
        ("identify --assist as output", [*base_id, "--assist", str(q), "-o", "{OUT}"], q),
        ("validate -o", ["validate", str(r), "-o", "{OUT}", "-q"], r),
        ("exit -o", ["exit", str(reg), "--year", "2016", "-o", "{OUT}", "-q"], reg),
        ("exit --publicity", ["exit", str(reg), "--year", "2016", "-o", str(d / "x2.xlsx"), "--publicity", "{OUT}", "-q"], reg),
        ("exit --roster as output", ["exit", str(reg), "--year", "2016", "--roster", str(r), "-o", "{OUT}", "-q"], r),
        ("reassess -o previous", ["reassess", str(reg), str(r), "--year", "2016", "-o", "{OUT}", "-q"], reg),
        ("reassess -o current", ["reassess", str(reg), str(r), "--year", "2016", "-o", "{OUT}", "-q"], r),
        ("monitor -o", ["monitor", str(r), "--year", "2021", "-o", "{OUT}", "-q"], r),
        ("causes -o", ["causes", str(reg), "-o", "{OUT}", "-q"], reg),
    ]


def _alias(target: Path, how: str, d: Path) -> Path:
    if how == "same":
        return target
    alias = d / f"alias-{how}-{target.stem}{'.xlsx' if target.suffix != '.csv' else '.csv'}"
    if alias.exists() or alias.is_symlink():
        alias.unlink()
    (alias.symlink_to(target) if how == "symlink" else os.link(target, alias))
    return alias


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_no_output_flag_can_overwrite_an_input(work, how):
    runner = CliRunner()
    for name, args, target in _attacks(work):
        if target.suffix not in (".csv", ".xlsx"):
            continue
        alias = _alias(target, how, work)
        for force in ([], ["--force"]):
            before = sha256(target)
            res = runner.invoke(app, [str(alias) if a == "{OUT}" else a for a in args] + force)
            lost = sha256(target) != before
            ok = res.exit_code == 2 and "input" in res.stderr and not lost
            record(CAT, None if ok else ("data lost or leaked" if lost else "silent wrong result"))
            if ok:
                record_clean()
            assert ok, (name, how, force, res.exit_code, res.stderr[-300:])


def record_clean():
    from conftest import TALLY

    TALLY[CAT]["clean error"] += 1


def test_unwritable_folder_is_found_before_the_work(work):
    runner = CliRunner()
    res = runner.invoke(app, ["identify", str(work / "roster.csv"), "--year", "2015", "-o", "/proc/fupin-out.xlsx", "-q"])
    assert res.exit_code == 4, res.output
    assert "cannot write output folder" in res.stderr and "Traceback" not in res.stderr
    res = runner.invoke(app, ["validate", str(work / "roster.csv"), "-o", str(work / "roster.csv" / "x.csv")])
    assert res.exit_code in (2, 4) and "Traceback" not in res.stderr


def test_full_disk_is_a_clean_exit_4_and_nothing_half_written(tmp_path, monkeypatch):
    """ENOSPC in the middle of a workbook: OutputError (exit 4), the old file kept, no temporary left."""
    from fupin_cli.io.xlsx import XlsxBook

    target = tmp_path / "out.xlsx"
    target.write_bytes(b"previous")
    real_write = os.write

    import zipfile

    orig = zipfile.ZipFile.writestr

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    monkeypatch.setattr(zipfile.ZipFile, "write", full)
    with pytest.raises(OutputError) as info, XlsxBook(target, force=True) as book:
        book.add_table("t", pd.DataFrame({"a": [1, 2]}))
    assert "disk full" in info.value.message and info.value.exit_code == 4
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]
    monkeypatch.setattr(zipfile.ZipFile, "writestr", orig)
    assert real_write


def test_file_size_limit_in_a_real_process_is_a_clean_exit_4(work, tmp_path):
    """A real write error (RLIMIT_FSIZE → EFBIG, like a full disk) in a child process: exit 4, one line."""
    import resource
    import signal
    import subprocess
    import sys

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    target = tmp_path / "r.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.run([sys.executable, "-m", "fupin_cli", "identify", str(work / "roster.csv"), "--year", "2015", "-o",
                        str(target), "--allow-errors", "-q"], capture_output=True, text=True, env=env, preexec_fn=limit,
                       timeout=300)
    assert p.returncode == 4, p.stderr
    assert p.stderr.count("错误") == 1 and "Traceback" not in p.stderr
    assert not target.exists() and not list(tmp_path.glob(".*"))


def test_registers_are_private_and_other_outputs_follow_the_umask(work, tmp_path):
    runner = CliRunner()
    old = os.umask(0o022)
    try:
        res = runner.invoke(app, ["identify", str(work / "roster.csv"), "--year", "2015", "-o", str(tmp_path / "r.xlsx"),
                                  "--publicity", str(tmp_path / "p.xlsx"), "--allow-errors", "-q"])
        assert res.exit_code == 0, res.output
        res = runner.invoke(app, ["validate", str(work / "roster.csv"), "-o", str(tmp_path / "f.csv"), "-q"])
        os.umask(0o077)
        res = runner.invoke(app, ["causes", str(tmp_path / "r.xlsx"), "-o", str(tmp_path / "c.xlsx"), "-q"])
    finally:
        os.umask(old)
    mode = lambda n: stat.S_IMODE((tmp_path / n).stat().st_mode)  # noqa: E731
    assert mode("r.xlsx") == 0o600
    assert mode("p.xlsx") == 0o644 and mode("f.csv") == 0o644
    assert mode("c.xlsx") == 0o600  # umask 077


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    dead = tmp_path / ".r.xlsx.fupin-999999-abcd1234.tmp.xlsx"
    dead.write_bytes(b"x" * 1000)
    alive = tmp_path / f".r.xlsx.fupin-{os.getpid()}-abcd1234.tmp.xlsx"
    alive.write_bytes(b"y")
    other = tmp_path / ".hidden-user-file"
    other.write_bytes(b"z")
    removed = w.clean_stale_temporaries(tmp_path)
    assert removed == [dead] and alive.exists() and other.exists()


def test_two_runs_writing_the_same_target_one_wins_whole(tmp_path):
    target = tmp_path / "t.csv"
    started, release = threading.Event(), threading.Event()
    errors = []

    def first():
        with w.atomic_output(target, force=True) as tmp:
            tmp.write_text("first,run\n")
            started.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    started.wait(10)
    with pytest.raises(OutputError) as info, w.atomic_output(target, force=True) as tmp:
        tmp.write_text("second\n")
    assert "another fupin run is writing" in info.value.message
    release.set()
    t.join()
    assert target.read_text() == "first,run\n" and not errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "=cmd|' /C calc'!A0"]


def test_formula_injection_neutralised_in_csv_and_xlsx_outputs(tmp_path):
    """Text cells and headers of passed-through columns, read back: no formula cell, CSV cells
    escaped; numbers, negative amounts and ID numbers unharmed."""
    from fupin_cli.io.xlsx import XlsxBook

    df = pd.DataFrame({
        "户编号": ["5002300010010001", "5002300010010002", "5002300010010003", "5002300010010004",
                "5002300010010005", "5002300010010006", "5002300010010007"],
        "户主姓名": FORMULAS,
        "=HYPERLINK(\"http://evil\")": FORMULAS,  # a passed-through column's header
        "人均纯收入": [-1500.5, 0.0, 2100.0, -3.0, 1e6, 12.5, -0.5],
        "证件号码": ["50023019600509795X"] * 7,
    })
    w.write_csv(df, tmp_path / "a.csv")
    with XlsxBook(tmp_path / "a.xlsx") as book:
        book.add_table("表", df, money_columns=["人均纯收入"])
    with open(tmp_path / "a.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][2].startswith("'=")
    for r in rows[1:]:
        assert r[1].startswith("'") and r[2].startswith("'")
        float(r[3])  # amounts stay numbers (negative ones too)
        assert r[4] == "50023019600509795X" or r[4].startswith("500230")
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    ws = wb.active
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", (c.coordinate, c.value)
    amounts = [ws.cell(r, 4).value for r in range(2, 9)]
    assert amounts == [-1500.5, 0, 2100, -3, 1e6, 12.5, -0.5]


def test_same_inputs_give_byte_identical_xlsx(work, tmp_path, monkeypatch):
    runner = CliRunner()
    outs = []
    for i in range(2):
        p = tmp_path / f"r{i}.xlsx"
        res = runner.invoke(app, ["identify", str(work / "roster.csv"), "--year", "2015", "-o", str(p), "--allow-errors",
                                  "--publicity", str(tmp_path / f"p{i}.xlsx"), "-q"])
        assert res.exit_code == 0, res.output
        outs.append((p.read_bytes(), (tmp_path / f"p{i}.xlsx").read_bytes()))
    assert outs[0] == outs[1]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1443657600")
    res = runner.invoke(app, ["identify", str(work / "roster.csv"), "--year", "2015", "-o", str(tmp_path / "e.xlsx"),
                              "--allow-errors", "-q"])
    assert res.exit_code == 0
    about = openpyxl.load_workbook(tmp_path / "e.xlsx", read_only=True)["说明"]
    assert any("2015-10-01" in str(v) for row in about.iter_rows(values_only=True) for v in row)


def test_usage_error_types():
    assert issubclass(UsageError, Exception) and OutputError.exit_code == 4


def test_cells_over_excels_limit_are_reported_never_cut_silently(tmp_path):
    from fupin_cli.io.xlsx import XlsxBook

    long = "长" * 40_000
    with XlsxBook(tmp_path / "a.xlsx") as book:
        book.add_table("表", pd.DataFrame({"户编号": ["1", "2"], "备注": [long, "短"]}))
    notices = w.take_notices()
    assert len(notices) == 1 and "备注" in notices[0] and "32,767" in notices[0] and "1 个单元格" in notices[0]
    w.write_csv(pd.DataFrame({"备注": [long]}), tmp_path / "a.csv")
    assert long in (tmp_path / "a.csv").read_text(encoding="utf-8-sig")  # CSV keeps the whole text
    assert w.take_notices() == []


def test_terminal_escape_codes_in_data_never_reach_the_terminal(tmp_path, adversarial_files):
    """The finding: names holding ESC sequences (clear screen, set title, bidi override) were printed as they were."""
    roster = tmp_path / "r.csv"
    text = (adversarial_files / "good.csv").read_text(encoding="utf-8").replace("张三", "\x1b[2J\x1b]0;pwned\x07张\u202e三\r")
    roster.write_text(text, encoding="utf-8")
    runner = CliRunner()
    for args in (["explain", str(roster), "5002300010010001", "--year", "2015"],
                 ["validate", str(roster), "--max-rows", "100"],
                 ["explain", str(roster), "\x1b[31m5002300010010001", "--year", "2015"]):
        res = runner.invoke(app, args)
        shown = res.stdout + res.stderr
        assert res.exit_code in (0, 1, 2), res.output
        for bad in ("\x1b", "\x07", "\u202e", "\r"):
            assert bad not in shown, (args, repr(bad))
