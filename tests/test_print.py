"""Every report prints: the 登记册 print view, 汇总 as a statistics table, the causes report with a title and
charts that are not mirrored.  Page counts are LibreOffice's (rendered to PDF); those tests are skipped
only where soffice is absent (.ci/run installs it)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.io.office import convert, soffice

runner = CliRunner()
CLEAN = Path(__file__).resolve().parents[1] / "samples" / "roster-clean.xlsx"
FULL_ID = re.compile(r"\d{17}[\dXx]")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    d = tmp_path_factory.mktemp("print")
    (d / "fupin.toml").write_text('unit = "丰都县扶贫开发办公室"\n[signatures]\npreparer = "张三"\nreviewer = "李四"\n', encoding="utf-8")
    res = run("--config", d / "fupin.toml", "identify", CLEAN, "-y", "2015", "-q", "-o", d / "register.xlsx")
    assert res.exit_code == 0, res.output
    res = run("causes", d / "register.xlsx", "-q", "-o", d / "causes.xlsx")
    assert res.exit_code == 0, res.output
    return d


def _texts(ws) -> list[str]:
    return [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]


def test_register_print_view_is_set_up_for_a4(books):
    wb = openpyxl.load_workbook(books / "register.xlsx")
    assert wb.sheetnames[:2] == ["登记册", "登记册(打印)"]
    ws = wb["登记册(打印)"]
    header = [c.value for c in ws[3]]
    assert 15 <= len([h for h in header if h]) <= 20
    assert header[:6] == ["序号", "乡镇", "行政村", "户编号", "户主姓名", "户主证件号码"]
    assert {"识别结果", "贫困户属性", "主要致贫原因"} <= set(header)
    assert ws.max_row - 3 >= 60  # every household (60) plus the signature rows
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$3:$3"
    assert ws.freeze_panes == "F4"  # 户编号 and 户主姓名 stay in view
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    texts = _texts(ws)
    assert any(t.startswith("填报单位：丰都县扶贫开发办公室") and "填报日期" in t for t in texts)
    assert any("填表人：张三" in t and "审核人：李四" in t and "负责人：＿" in t for t in texts)
    assert not any(FULL_ID.search(t) for t in texts)  # IDs on paper are masked


def test_summary_is_the_statistics_table(books):
    ws = openpyxl.load_workbook(books / "register.xlsx")["汇总"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "丰都县2015年建档立卡贫困人口统计表（汇总）"
    header = rows[2]
    assert header[:6] == ["乡镇", "行政村", "总户数", "总人口", "贫困户数", "贫困人口数"]
    assert "贫困发生率" in header and any(str(h).endswith("（户）") for h in header if h)
    body = [r for r in rows[3:] if r[0]]
    total = next(r for r in body if r[0] == "合计")
    assert total[2:6] == [60, 225, 7, 34]
    attr_h = [j for j, h in enumerate(header) if h and str(h).endswith("（户）")]
    assert sum(total[j] for j in attr_h) == total[4]  # households by 贫困户属性 add up to the poor households
    towns = [r for r in body if r[1] == "小计"]
    assert sum(r[2] for r in towns) == total[2]
    assert any("填表人：张三" in t for t in _texts(ws))
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$3:$3"


def test_summary_flags_poor_villages_where_the_roster_says(tmp_path):
    import pandas as pd

    from fupin_cli.core.summary import area_summary, statistics_table

    hh = pd.DataFrame({"township": ["甲镇", "甲镇", "乙镇"], "village": ["一村", "二村", "三村"], "household_size": [3, 2, 4],
                       "status": ["贫困户", "非贫困户", "贫困户"], "attribute": ["低保贫困户", None, "一般贫困户"],
                       "是否贫困村": ["是", "否", None]})
    table, labels = statistics_table(area_summary(hh), hh)
    assert labels["poor_village"] == "贫困村"
    assert table["poor_village"].tolist()[:2] == ["是", "否"]
    assert labels["attr_households_0"] == "一般贫困户（户）" and labels["attr_households_1"] == "低保贫困户（户）"
    assert table.iloc[-1]["attr_people_1"] == 3


def test_causes_report_has_titles_print_setup_and_column_charts(books):
    wb = openpyxl.load_workbook(books / "causes.xlsx")
    ws = wb["致贫原因"]
    assert ws["A1"].value == "2015年建档立卡贫困户主要致贫原因统计表"
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$2"
    with zipfile.ZipFile(books / "causes.xlsx") as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 2
    for xml in charts:
        assert 'c:barDir val="col"' in xml
        assert "maxMin" not in xml  # no reversed axis: nothing drawn mirrored


def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def _only(src: Path, sheet: str, dst: Path) -> Path:
    wb = openpyxl.load_workbook(src)
    for name in wb.sheetnames:
        if name != sheet:
            del wb[name]
    wb.save(dst)
    return dst


@pytest.mark.parametrize(("sheet", "budget"), [("登记册(打印)", 3), ("汇总", 1)])
@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_page_counts_of_the_register(books, tmp_path, sheet, budget):
    """60 households: the print view on at most 3 A4 pages (the full-data sheet prints on ~48), 汇总 on one."""
    pdf = convert(_only(books / "register.xlsx", sheet, tmp_path / "one.xlsx"), tmp_path / "one.pdf", "test")
    assert 1 <= _pages(pdf) <= budget


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_renders_the_causes_report_with_unmirrored_charts(books, tmp_path):
    pdf = convert(books / "causes.xlsx", tmp_path / "causes.pdf", "test")
    assert 1 <= _pages(pdf) <= 8  # four tables with their charts and 说明 (17 pages before the print setup)
    resaved = convert(books / "causes.xlsx", tmp_path / "causes.xlsx", "test")
    with zipfile.ZipFile(resaved) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 2  # LibreOffice parsed and kept both charts
    assert all("maxMin" not in xml for xml in charts)


def test_reassess_and_monitor_publicity(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "samples"
    chain = samples / "chain"
    assert run("identify", chain / "roster-2015.xlsx", "-y", "2015", "-q", "-o", tmp_path / "r15.xlsx").exit_code == 0
    res = run("reassess", tmp_path / "r15.xlsx", chain / "roster-2016.xlsx", "-y", "2016", "-q", "--json", "-o", tmp_path / "r16.xlsx",
              "--publicity", tmp_path / "调整公示.xlsx", "--publicity-start", "2016-11-01", "--phone", "023-7000000")
    assert res.exit_code == 0, res.output
    import json

    payload = json.loads(res.stdout)
    assert str(tmp_path / "调整公示.xlsx") in payload["outputs"]
    reg = openpyxl.load_workbook(tmp_path / "r16.xlsx")["登记册"]
    head = [c.value for c in reg[1]]
    listed = {r[head.index("户编号")] for r in reg.iter_rows(min_row=2, values_only=True)
              if r[head.index("动态调整类型")] in ("新识别", "脱贫", "返贫", "清退")}
    wb = openpyxl.load_workbook(tmp_path / "调整公示.xlsx")
    names = set()
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0].endswith("年贫困户动态调整公示名单（新识别、脱贫、返贫、清退）")
        assert rows[2][:5] == ("序号", "户主姓名", "证件号码", "家庭人口数", "调整类型")
        body = [r for r in rows[3:] if isinstance(r[0], int)]
        assert all(r[4] in ("新识别", "脱贫", "返贫", "清退") for r in body)
        assert not any(FULL_ID.search(t) for t in _texts(ws))
        assert "公示期：2016年11月1日至2016年11月7日（7天）" in _texts(ws) and "监督电话：023-7000000" in _texts(ws)
        names |= {r[1] for r in body}
        assert ws.page_setup.orientation == "landscape"
    assert len(names) == len(listed) > 0  # every changed household, once
    res = run("monitor", samples / "monitor-2023.xlsx", "-y", "2023", "-r", "云南", "-q", "-o", tmp_path / "m.xlsx",
              "--publicity", tmp_path / "监测公示.xlsx")
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(tmp_path / "监测公示.xlsx")
    statuses = {r[4] for ws in wb.worksheets for r in ws.iter_rows(min_row=4, values_only=True) if isinstance(r[0], int)}
    assert statuses and statuses <= {"新纳入监测", "风险消除"}
    res = run("monitor", samples / "monitor-2023.xlsx", "-y", "2023", "-r", "云南", "-q", "-o", tmp_path / "m2.xlsx", "--publicity", tmp_path / "m2.xlsx")
    assert res.exit_code == 2 and "name the same file" in res.stderr


def test_large_publicity_is_split_by_township_with_an_index(tmp_path):
    import pandas as pd

    from fupin_cli.io.publicity import PublicityOptions, write_publicity_files

    rows = [{"township": t, "village": f"{t}{v}村", "household_id": f"{t}{v}{h}", "head_name": f"户主{h}",
             "head_id_masked": "500230********123X", "household_size": 3, "attribute": "一般贫困户", "primary_cause": "因病"}
            for t in ("甲镇", "乙镇", "丙镇") for v in "一二" for h in range(2)]
    written = write_publicity_files(pd.DataFrame(rows), tmp_path / "公示.xlsx", PublicityOptions(2015), max_sheets=4)
    assert [p.name for p in written] == ["公示.xlsx", "公示-甲镇.xlsx", "公示-乙镇.xlsx", "公示-丙镇.xlsx"]
    index = list(openpyxl.load_workbook(written[0])["目录"].iter_rows(values_only=True))
    assert index[1] == ("乡镇", "文件", "村数", "户数", "人数")
    assert index[2:] == [("甲镇", "公示-甲镇.xlsx", 2, 4, 12), ("乙镇", "公示-乙镇.xlsx", 2, 4, 12), ("丙镇", "公示-丙镇.xlsx", 2, 4, 12)]
    town = openpyxl.load_workbook(written[1])
    assert town.sheetnames == ["目录", "甲镇一村", "甲镇二村"]
    assert [r[:3] for r in town["目录"].iter_rows(min_row=3, values_only=True)] == [("甲镇", "甲镇一村", "甲镇一村"), ("甲镇", "甲镇二村", "甲镇二村")]
    small = write_publicity_files(pd.DataFrame(rows), tmp_path / "小.xlsx", PublicityOptions(2015))
    assert small == [tmp_path / "小.xlsx"] and len(openpyxl.load_workbook(small[0]).sheetnames) == 6
