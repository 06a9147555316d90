"""Privacy audit (issue 13, item 8): every command on a roster of known ID numbers and bank accounts.

No full ID number or bank account may appear in any terminal line, error, ``--debug`` output,
JSON, 公示 / 脱贫 list, explain text or output file — except the internal register written by
``identify`` / ``reassess``, which is the one output allowed to hold them (and is created 0600).
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import record
from typer.testing import CliRunner

from fupin_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """A generated roster (CSV, UTF-8) with a full ID typed into 户主姓名 of its first household."""
    d = tmp_path_factory.mktemp("privacy")
    runner = CliRunner()
    src = d / "gen.csv"
    res = runner.invoke(app, ["samples", "generate", "--households", "20", "--seed", "11", "-o", str(src), "--encoding", "utf-8"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    ids = {v for c in df.columns if "证件" in c or "身份证" in c for v in df[c] if len(v) >= 15}
    banks = {v for c in df.columns if "银行" in c for v in df[c] if len(v) >= 15}
    assert ids and banks
    planted = sorted(ids)[5]
    income = pd.to_numeric(df["人均纯收入"], errors="coerce")
    first = df["户编号"][income.idxmin()]  # the poorest household: it is on the 公示 list
    name_col = "户主姓名" if "户主姓名" in df.columns else "姓名"
    df.loc[df["户编号"] == first, name_col] = planted  # a full ID typed into the name column
    roster = d / "roster.csv"
    df.to_csv(roster, index=False, encoding="utf-8-sig")
    later = d / "roster-2016.csv"  # the next year's roster (exit and reassess check --year against its 年度 column)
    df.assign(**({"年度": "2016"} if "年度" in df.columns else {})).to_csv(later, index=False, encoding="utf-8-sig")
    return {"dir": d, "roster": roster, "later": later, "secrets": ids | banks, "household": first, "planted": planted}


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


def _file_text(p: Path) -> str:
    if p.suffix == ".xlsx":
        wb = openpyxl.load_workbook(p, read_only=True)
        cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]
        wb.close()
        return "\n".join(cells)
    if p.suffix == ".parquet":
        return pd.read_parquet(p).astype(str).to_csv()
    return p.read_text(encoding="utf-8-sig", errors="replace")


SLOW_RUNS = {"identify-csv", "explain-json", "exit-json", "reassess", "validate-csv", "causes-json"}


def test_no_full_id_or_bank_account_leaves_except_in_the_register(county):
    _audit(county, full=False)


@pytest.mark.slow
def test_privacy_audit_every_command_and_format(county):
    _audit(county, full=True)


def _audit(county, full: bool) -> None:
    d, roster, secrets = county["dir"], str(county["roster"]), county["secrets"]
    later = str(county["later"])
    runner = CliRunner()
    o = lambda name: str(d / name)  # noqa: E731
    runs = [
        ("validate", ["validate", roster, "--year", "2015"]),
        ("validate-json", ["validate", roster, "--year", "2015", "--json"]),
        ("validate-xlsx", ["validate", roster, "--year", "2015", "-o", o("findings.xlsx"), "--force", "--max-rows", "500"]),
        ("validate-csv", ["validate", roster, "--year", "2015", "-o", o("findings.csv"), "--force"]),
        ("identify", ["identify", roster, "--year", "2015", "-o", o("register.xlsx"), "--publicity", o("公示.xlsx"), "--force",
                      "--allow-errors"]),
        ("identify-csv", ["identify", roster, "--year", "2015", "-o", o("register.csv"), "--force", "--allow-errors", "--json"]),
        ("explain", ["explain", roster, county["household"], "--year", "2015"]),
        ("explain-json", ["explain", roster, county["household"], "--year", "2015", "--json"]),
        ("explain-id", ["explain", roster, county["planted"], "--year", "2015"]),  # a full ID as the household argument
        ("explain-debug", ["--debug", "explain", roster, county["planted"], "--year", "2015"]),
        ("causes", ["causes", o("register.xlsx"), "-o", o("causes.xlsx"), "--force"]),
        ("causes-json", ["causes", o("register.xlsx"), "--json"]),
        ("exit", ["exit", o("register.xlsx"), "--year", "2016", "--roster", later, "-o", o("exit.xlsx"),
                  "--publicity", o("脱贫名单.xlsx"), "--force"]),
        ("exit-json", ["exit", o("register.xlsx"), "--year", "2016", "--json", "-o", o("exit2.xlsx"), "--force"]),
        ("reassess", ["reassess", o("register.xlsx"), later, "--year", "2016", "-o", o("register-2016.xlsx"), "--force",
                      "--allow-errors"]),
        ("debug-error", ["--debug", "identify", roster, "--year", "2015", "-o", o("r.xlsx"), "--pack", "no-such-pack", "--force"]),
    ]
    runs = [args for name, args in runs if full or name not in SLOW_RUNS]
    printed = []
    for args in runs:
        res = runner.invoke(app, args)
        assert res.exit_code in (0, 1, 2, 3), (args, res.exit_code, res.output[-500:])
        assert "Traceback" not in res.stderr or args[0] == "--debug", args
        leaks = _leaks(res.stdout + res.stderr, secrets)
        if not full:
            record("privacy", "data lost or leaked" if leaks else None)
        assert not leaks, (args, [x[:6] for x in leaks])
        printed.append(res.stdout)
    # --json outputs are JSON and hold no full ID either (checked above as text)
    json.loads(printed[1])
    registers = {"register.xlsx", "register.csv", "register-2016.xlsx", "r.xlsx"}
    outputs = [p for p in d.iterdir() if p.suffix in (".xlsx", ".csv", ".parquet") and p.name not in ("gen.csv", "roster.csv", "roster-2016.csv")]
    assert {"公示.xlsx", "脱贫名单.xlsx", "causes.xlsx", "exit.xlsx", "findings.xlsx"} <= {p.name for p in outputs}
    for p in outputs:
        leaks = _leaks(_file_text(p), secrets)
        if not full:
            record("privacy", "data lost or leaked" if (leaks and p.name not in registers) else None)
        if p.name in registers:
            assert leaks, f"{p.name}: the register should hold the full IDs"
            assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, f"{p.name} is readable by others"
        else:
            assert not leaks, (p.name, [x[:6] for x in leaks])
    # the 公示 list shows the name column masked where it held an ID
    text = _file_text(d / "公示.xlsx")
    planted = county["planted"]
    assert planted[:6] + "*" * 8 + planted[-4:] in text


def test_readme_names_the_register_as_the_only_output_with_full_ids():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"register[^.]*only output[^.]*full ID", readme), "README must say the register is the only output with full IDs"
