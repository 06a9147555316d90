"""Workbooks written by identify / causes open in LibreOffice with the values, formats and charts intact.

One ``soffice --convert-to csv`` call converts every sheet of every workbook (filter option
``-1`` = one CSV per sheet, cells "as shown" so number formats are checked too); one
``--convert-to xlsx`` call re-saves the workbooks, proving LibreOffice parsed the charts and the
print setup.  A throw-away profile directory keeps it independent of any user profile.
Skipped only where ``soffice`` is not installed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess

import openpyxl
import pytest
from test_identify_writers import households, result

from fupin_cli.core.causes import causes_report
from fupin_cli.core.identify import publicity_list
from fupin_cli.io.causes_report import write_causes
from fupin_cli.io.publicity import PublicityOptions, write_publicity
from fupin_cli.io.register import write_register

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [pytest.mark.libreoffice, pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")]
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def soffice(args: list[str], profile) -> None:
    cmd = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("lo")
    res = result()
    write_register(res, d / "register.xlsx")
    write_publicity(publicity_list(res.households, res.members), d / "publicity.xlsx",
                    PublicityOptions(2015, start=dt.date(2015, 10, 8), phone="023-12345678"))
    write_causes(causes_report(households()), d / "causes.xlsx", {"version": "0.1.0", "command": "causes"})
    books = [str(d / f"{n}.xlsx") for n in ("register", "publicity", "causes")]
    profile = d / "profile"
    soffice(["--convert-to", CSV_FILTER, "--outdir", str(d / "csv"), *books], profile)
    soffice(["--convert-to", "xlsx", "--outdir", str(d / "resaved"), *books], profile)
    soffice(["--convert-to", "pdf", "--outdir", str(d / "pdf"), books[1]], profile)
    return d


def sheet(d, book: str, name: str) -> list[list[str]]:
    with open(d / "csv" / f"{book}-{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_register_values_as_libreoffice_shows_them(converted):
    rows = sheet(converted, "register", "登记册")
    header = rows[0]
    first = dict(zip(header, rows[1]))
    assert first["户编号"] == "5001010001"
    assert first["户主证件号码"] == "500101199001011234"  # text: all 18 digits kept
    assert first["人均纯收入"] == "2,310.00"
    assert first["是否危房"] == "是"
    assert first["识别结果"] == "贫困户"
    assert first["识别依据"] == "人均纯收入 2,310.00 < 国家扶贫标准 2,855 (2015, 国家)"
    second = dict(zip(header, rows[2]))
    assert second["户主姓名"] == "=李四"  # stayed text, never evaluated as a formula
    assert second["备注"] == "+1 注意"
    summary = sheet(converted, "register", "汇总")
    total = next(r for r in summary if r[0] == "合计")
    assert total[:6] == ["合计", "", "4", "10", "2", "7"] and total[summary[2].index("贫困发生率")] == "70.00%"
    members = sheet(converted, "register", "成员")
    assert members[0][:4] == ["户编号", "乡镇", "行政村", "户主姓名"] and len(members) == 4
    about = dict(r[:2] for r in sheet(converted, "register", "说明")[1:])
    assert about["规则包 (pack)"] == "national-2014 2026.1"


def test_publicity_values(converted):
    rows = sheet(converted, "publicity", "甲村")
    assert rows[0][0] == "甲村2015年建档立卡贫困户公示名单"
    assert rows[2] == ["序号", "户主姓名", "证件号码", "家庭人口数", "贫困户属性", "主要致贫原因"]
    assert rows[3] == ["1", "张三", "500101********1234", "3", "一般贫困户", "因病"]
    flat = [c for r in rows for c in r if c]
    assert "公示期：2015年10月8日至2015年10月14日（7天）" in flat


def test_causes_values(converted):
    rows = sheet(converted, "causes", "致贫原因")[1:]  # under the title row
    assert rows[0] == ["致贫原因", "户数", "人数", "户数占比", "人数占比"]
    assert rows[1] == ["因病", "1", "3", "50.00%", "42.86%"]
    assert rows[-1] == ["合计", "2", "7", "100.00%", "100.00%"]
    area = sheet(converted, "causes", "按乡镇")[1:]
    assert area[0][0] == "乡镇" and area[1][0] == "城关镇" and area[1][-1] == "2"


def test_charts_and_print_setup_survive_libreoffice(converted):
    causes = openpyxl.load_workbook(converted / "resaved" / "causes.xlsx")
    assert len(causes["致贫原因"]._charts) == 1
    assert len(causes["按乡镇"]._charts) == 1
    register = openpyxl.load_workbook(converted / "resaved" / "register.xlsx")
    assert len(register["致贫原因"]._charts) == 1
    pub = openpyxl.load_workbook(converted / "resaved" / "publicity.xlsx")["甲村"]
    assert pub.page_setup.orientation == "landscape"
    assert pub.print_title_rows == "$1:$3"


def test_chinese_text_renders_with_a_cjk_font(converted):
    """The cells' font (宋体) is not installed here: LibreOffice must fall back to a CJK font, not boxes."""
    pdf = (converted / "pdf" / "publicity.pdf").read_bytes()
    fonts = set(re.findall(rb"/BaseFont\s*/[A-Z]{6}\+([A-Za-z0-9\-]+)", pdf))
    assert any(b"CJK" in f or b"Droid" in f or b"Song" in f for f in fonts), fonts
