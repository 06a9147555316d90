"""The measures and funds workbooks and the 公告公示 open in LibreOffice: every sheet converts, rates
show as percentages, masked numbers stay masked, and a re-save keeps the charts (parsed)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [pytest.mark.libreoffice, pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")]
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("lo-mf")
    reg = d / "register.xlsx"
    assert runner.invoke(app, ["identify", str(ROOT / "samples/roster-clean.xlsx"), "-y", "2015", "-p", "chongqing",
                               "-o", str(reg), "-q"]).exit_code == 0
    assert runner.invoke(app, ["measures", str(reg), "-y", "2015", "-p", "chongqing", "--by", "乡镇", "--sample",
                               "--replicates", "40", "-o", str(d / "measures.xlsx"), "-q"]).exit_code == 0
    assert runner.invoke(app, ["samples", "payments", str(reg), "-o", str(d / "pay.xlsx"), "--anomalies", "-q"]).exit_code == 0
    r = runner.invoke(app, ["funds", str(d / "pay.xlsx"), "--register", str(reg), "-y", "2015", "-p", "chongqing",
                            "-o", str(d / "funds.xlsx"), "--publicity", str(d / "gonggao.xlsx"), "-q"])
    assert r.exit_code == 1, r.output
    books = [str(d / f"{n}.xlsx") for n in ("measures", "funds", "gonggao")]
    profile = d / "profile"
    for args in (["--convert-to", CSV_FILTER, "--outdir", str(d / "csv")], ["--convert-to", "xlsx", "--outdir", str(d / "resaved")]):
        proc = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", *args, *books],
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr
    return d


def rows(d: Path, name: str) -> list[list[str]]:
    with open(d / "csv" / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_measures_sheets_show_rates_as_percentages(converted):
    overall = {r[0]: r for r in rows(converted, "measures-总体")}
    assert overall["贫困发生率 P0"][2].endswith("%")
    assert overall["人数（可用收入）"][1] == "225"
    assert rows(converted, "measures-按乡镇")[-1][0] == "合计"
    assert (converted / "csv" / "measures-标准敏感性.csv").exists() and (converted / "csv" / "measures-项目台账.csv").exists()


def test_charts_survive_a_libreoffice_resave(converted):
    wb = openpyxl.load_workbook(converted / "resaved" / "measures.xlsx")
    assert sum(len(ws._charts) for ws in wb.worksheets) >= 3
    wb = openpyxl.load_workbook(converted / "resaved" / "funds.xlsx")
    assert len(wb["按村按项目"]._charts) == 1


def test_gonggao_shows_masked_numbers(converted):
    sheets = [p for p in (converted / "csv").glob("gonggao-*.csv")]
    assert sheets
    text = "\n".join(p.read_text(encoding="utf-8") for p in sheets)
    assert "扶贫资金使用情况公告" in text and "********" in text
    import re

    assert not re.search(r"\d{15,}", text)
