"""Register, 公示 and causes writers on inline frames (no engine needed)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from fupin_cli.core.causes import causes_report
from fupin_cli.core.identify import IdentifyResult, publicity_list
from fupin_cli.core.quota import Quota, apply_quota
from fupin_cli.core.summary import area_summary, coverage
from fupin_cli.errors import UsageError
from fupin_cli.io.causes_report import write_causes
from fupin_cli.io.publicity import PublicityOptions, write_publicity
from fupin_cli.io.register import read_register, write_register

HEAD1 = "500101199001011234"  # test IDs; only their masking matters here
HEAD2 = "50010119850202567X"


def households() -> pd.DataFrame:
    df = pd.DataFrame({
        "household_id": ["5001010001", "5001010002", "5001010003", "5001010004"],
        "township": ["城关镇", "城关镇", "城关镇", "河口乡"],
        "village": ["甲村", "甲村", "乙村", "丙村"],
        "head_name": ["张三", "=李四", "王五", "赵六"],
        "head_id_number": [HEAD1, HEAD2, "500101197005053333", None],
        "household_size": pd.array([3, 2, 4, 1], dtype="Int64"),
        "income_per_capita": pd.array([2310.0, 5000.0, 1800.5, 2000.0], dtype="Float64"),
        "unsafe_housing": pd.array([True, False, None, True], dtype="boolean"),
        "responsible_person": ["刘一", None, None, "陈二"],
        "备注": ["", "+1 注意", None, "x"],
        "status": ["贫困户", "非贫困户", "贫困户", "待核实"],
        "attribute": ["一般贫困户", None, "低保贫困户", None],
        "primary_cause": ["因病", None, "缺资金", "因残"],
        "secondary_causes": ["缺资金、因学", None, None, None],
        "measures": ["健康扶贫；产业扶贫", None, "小额信贷", None],
        "basis": ["人均纯收入 2,310.00 < 国家扶贫标准 2,855 (2015, 国家)", None, "人均纯收入 1,800.50 < 国家扶贫标准 2,855 (2015, 国家)", None],
        "not_identified_reason": [None, "人均纯收入 5,000.00 ≥ 国家扶贫标准 2,855 (2015, 国家)", None, "数据错误待核实：证件号码：缺失"],
        "cause_check": [None, None, None, None],
        "member_count": pd.array([3, 2, 4, 1], dtype="Int64"),
        "assessment_year": pd.array([2015] * 4, dtype="Int64"),
        "pack": "national-2014@2026.1",
        "_row": pd.array([3, 4, 5, 6], dtype="Int64"),
    })
    for c in ("household_id", "township", "village", "head_name", "head_id_number", "responsible_person", "备注",
              "attribute", "primary_cause", "secondary_causes", "measures", "basis", "not_identified_reason", "cause_check", "pack"):
        df[c] = df[c].astype("str")
    df["status"] = df["status"].astype(object)
    return df


def members() -> pd.DataFrame:
    return pd.DataFrame({
        "household_id": ["5001010001", "5001010001", "5001010002"],
        "township": ["城关镇", "城关镇", "城关镇"], "village": ["甲村", "甲村", "甲村"], "head_name": ["张三", "张三", "=李四"],
        "name": ["张三", "张小", "=李四"], "id_number": [HEAD1, "500101201001011111", HEAD2],
        "relation": ["户主", "之子", "户主"], "birth_date": pd.to_datetime(["1990-01-01", "2010-01-01", "1985-02-02"]),
        "status": ["贫困户", "贫困户", "非贫困户"], "attribute": ["一般贫困户", "一般贫困户", None], "primary_cause": ["因病", "因病", None],
    }).astype({"household_id": "str", "name": "str", "id_number": "str", "relation": "str"})


def result(quota: Quota | None = None) -> IdentifyResult:
    hh = households()
    qrep = None
    if quota is not None:
        frame = hh.assign(people=hh["household_size"], income=hh["income_per_capita"], labourers=1)
        _, _, qrep = apply_quota(frame, quota)
    prov = {"tool": "fupin", "version": "0.1.0", "command": "identify",
            "pack": {"name": "national-2014", "version": "2026.1", "title": "t", "content_hash": "ab" * 32},
            "inputs": [{"name": "roster.xlsx", "sha256": "cd" * 32}], "year": 2015, "region": "国家",
            "run_time": "2026-01-01T00:00:00+00:00",
            "parameters": {"poverty_line": {"value": 2855, "year": 2015, "region": "国家", "source": "nbs-2017", "verified": True, "label": "国家扶贫标准"}},
            "options": {"allow_errors": False}}
    return IdentifyResult(hh, members(), area_summary(hh), causes_report(hh), qrep, coverage(hh), pd.DataFrame(), {}, prov)


def test_register_xlsx_sheets_labels_formats(tmp_path):
    path = tmp_path / "reg.xlsx"
    outcome = write_register(result(Quota(pd.DataFrame({"township": [pd.NA], "village": ["甲村"], "quota": [2]}))), path)
    assert outcome.outputs == [path] and outcome.warnings == []
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["登记册", "登记册(打印)", "成员", "汇总", "致贫原因", "规模控制", "帮扶覆盖", "说明"]
    ws = wb["登记册"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["户编号", "乡镇", "行政村", "户主姓名", "户主证件号码"]
    assert header[-12:] == ["识别结果", "贫困户属性", "主要致贫原因", "次要致贫原因", "帮扶措施建议", "识别依据", "未识别原因",
                            "致贫原因核查", "成员人数", "识别年度", "规则包", "原表行号"]
    assert "备注" in header
    row2 = [c.value for c in ws[2]]
    assert row2[0] == "5001010001" and ws.cell(2, 1).number_format == "@"
    assert row2[4] == HEAD1  # the register keeps the full ID (it is the registry itself)
    inc = header.index("人均纯收入") + 1
    assert ws.cell(2, inc).value == 2310 and ws.cell(2, inc).number_format == "#,##0.00"
    assert ws.cell(2, header.index("是否危房") + 1).value == "是"
    assert ws.cell(3, header.index("户主姓名") + 1).value == "=李四"  # text, not a formula
    assert ws.cell(3, header.index("户主姓名") + 1).data_type == "s"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    summ = wb["汇总"]  # the statistics table: title, 填报单位 line, header on row 3, 合计 before the signatures
    header = [c.value for c in summ[3]]
    assert header[:6] == ["乡镇", "行政村", "总户数", "总人口", "贫困户数", "贫困人口数"]
    total = next(r for r in summ.iter_rows(min_row=4) if r[0].value == "合计")
    inc = header.index("贫困发生率")
    assert [c.value for c in total[:6]] == ["合计", None, 4, 10, 2, 7] and total[inc].value == 0.7
    assert total[inc].number_format == "0.00%"
    assert wb["致贫原因"]._charts, "bar chart of causes"
    about = {r[0].value: r[1].value for r in wb["说明"].iter_rows(min_row=2)}
    assert about["规则包 (pack)"] == "national-2014 2026.1"
    assert about["输入文件 1 SHA-256"] == "cd" * 32
    assert about["参数 国家扶贫标准 (poverty_line)"] == "2855 (2015, 国家, nbs-2017)"
    cov = [[c.value for c in r] for r in wb["帮扶覆盖"].iter_rows(min_row=2)]
    assert cov == [["贫困户无帮扶责任人", "城关镇", "乙村", "5001010003", "王五", None]]
    q = [[c.value for c in r] for r in wb["规模控制"].iter_rows(min_row=1)]
    assert q[0] == ["乡镇", "行政村", "规模指标(人)", "符合条件户数", "符合条件人数", "指标内户数", "指标内人数", "超指标户数", "超指标人数", "指标使用率"]
    assert q[2] == ["城关镇", "甲村", 2, 1, 3, 0, 0, 1, 3, 0]


def test_register_round_trip_all_formats(tmp_path):
    res = result()
    frames = {}
    for suffix in (".xlsx", ".csv", ".parquet"):
        path = tmp_path / f"reg{suffix}"
        write_register(res, path)
        reg = read_register(path)
        frames[suffix] = reg.households
        assert reg.households["primary_cause"].tolist()[:3] == ["因病", None, "缺资金"] or \
            reg.households["primary_cause"].isna().tolist() == [False, True, False, False]
    xlsx, csv, pq = frames[".xlsx"], frames[".csv"], frames[".parquet"]
    assert list(xlsx.columns) == list(res.households.columns)
    assert xlsx["head_name"].tolist() == ["张三", "=李四", "王五", "赵六"]
    assert csv["head_name"].tolist() == ["张三", "=李四", "王五", "赵六"]  # formula escape undone on read
    assert csv["备注"].tolist()[1] == "+1 注意"
    for df in (xlsx, csv, pq):
        assert df["household_id"].tolist() == ["5001010001", "5001010002", "5001010003", "5001010004"]
        assert df["household_size"].tolist() == [3, 2, 4, 1]
        assert df["status"].tolist() == ["贫困户", "非贫困户", "贫困户", "待核实"]
        assert df["unsafe_housing"].tolist()[:2] == [True, False]
        assert df["assessment_year"].tolist() == [2015] * 4
        assert df["income_per_capita"].tolist() == [2310.0, 5000.0, 1800.5, 2000.0]
    pd.testing.assert_frame_equal(xlsx.drop(columns="备注"), csv.drop(columns="备注"), check_dtype=False)


def test_csv_escapes_formulas_and_is_deterministic(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_register(result(), a)
    write_register(result(), b)
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text(encoding="utf-8-sig")
    assert "'=李四" in text and "'+1 注意" in text
    assert text.splitlines()[0].startswith("户编号,乡镇,行政村,户主姓名")


def test_register_lang_en(tmp_path):
    path = tmp_path / "reg.xlsx"
    write_register(result(), path, lang="en")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == ["households", "households (print)", "members", "summary", "causes", "coverage", "about"]
    header = [c.value for c in next(wb["households"].iter_rows(max_row=1))]
    assert header[:3] == ["household_id", "township", "village"] and "status" in header and "source_row" in header
    assert read_register(path).households["status"].tolist() == ["贫困户", "非贫困户", "贫困户", "待核实"]


def test_register_refuses_overwrite(tmp_path):
    path = tmp_path / "reg.xlsx"
    path.write_text("keep")
    with pytest.raises(UsageError, match="already exists"):
        write_register(result(), path)
    assert path.read_text() == "keep"
    write_register(result(), path, force=True)
    assert openpyxl.load_workbook(path).sheetnames[0] == "登记册"


def test_publicity_workbook(tmp_path):
    res = result()
    frame = publicity_list(res.households, res.members)
    assert frame["head_id_masked"].tolist() == ["500101********1234", "500101********3333"]
    path = tmp_path / "公示.xlsx"
    write_publicity(frame, path, PublicityOptions(2015, start=dt.date(2015, 10, 8), phone="023-12345678"))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["甲村", "乙村"]
    ws = wb["甲村"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][0] == "甲村2015年建档立卡贫困户公示名单"
    assert rows[1][0] == "乡镇：城关镇　　行政村：甲村　　共 1 户 3 人"
    assert rows[2] == ["序号", "户主姓名", "证件号码", "家庭人口数", "贫困户属性", "主要致贫原因"]
    assert rows[3] == [1, "张三", "500101********1234", 3, "一般贫困户", "因病"]
    texts = [r[0] for r in rows if r[0]]
    assert "公示期：2015年10月8日至2015年10月14日（7天）" in texts
    assert "监督电话：023-12345678" in texts
    assert any(str(t).startswith("村党支部（盖章）") for t in texts)
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows == "$1:$3"
    for r in wb["乙村"].iter_rows():
        for c in r:
            assert c.value != "500101197005053333"


def test_publicity_refuses_full_ids(tmp_path):
    frame = publicity_list(households(), members()).assign(head_id_masked=HEAD1)
    with pytest.raises(UsageError, match="masked"):
        write_publicity(frame, tmp_path / "p.xlsx", PublicityOptions(2015))


def test_publicity_default_period_and_duplicate_village_names(tmp_path):
    frame = pd.DataFrame({"household_id": ["1", "2"], "township": ["甲镇", "乙镇"], "village": ["新村", "新村"],
                          "head_name": ["甲", "乙"], "head_id_masked": ["500101********1234", None],
                          "household_size": [2, 3], "attribute": ["一般贫困户"] * 2, "primary_cause": ["因病"] * 2})
    path = tmp_path / "p.xlsx"
    write_publicity(frame, path, PublicityOptions(2016, days=5))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["甲镇-新村", "乙镇-新村"]
    texts = [r[0].value for r in wb["甲镇-新村"].iter_rows() if r[0].value]
    assert "公示期：____年__月__日至____年__月__日（5天）" in texts
    assert "监督电话：________________" in texts


def test_causes_workbook(tmp_path):
    rep = causes_report(households(), by="乡镇")
    path = tmp_path / "causes.xlsx"
    write_causes(rep, path, {"version": "0.1.0", "command": "causes", "inputs": [{"name": "reg.xlsx", "sha256": "ef" * 32}]})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["致贫原因", "按乡镇", "次要原因", "按属性", "说明"]
    ws = wb["致贫原因"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][0] == "建档立卡贫困户主要致贫原因统计表"  # the title row (with the register's year when known)
    assert rows[1] == ["致贫原因", "户数", "人数", "户数占比", "人数占比"]
    assert rows[2] == ["因病", 1, 3, 0.5, pytest.approx(3 / 7, abs=1e-6)]
    assert rows[-1] == ["合计", 2, 7, 1, 1]
    assert ws.cell(3, 4).number_format == "0.00%"
    assert len(ws._charts) == 1 and len(wb["按乡镇"]._charts) == 1
    area = [[c.value for c in r] for r in wb["按乡镇"].iter_rows()][1:]  # under the title row
    assert area[0][0] == "乡镇" and area[0][-1] == "合计"
    assert area[1][0] == "城关镇" and area[1][-1] == 2
    co = [[c.value for c in r] for r in wb["次要原因"].iter_rows()][1:]
    assert co[0][0] == "主要致贫原因" and co[1][0] == "因病"
    assert co[1][co[0].index("缺资金")] == 1 and co[1][co[0].index("因学")] == 1


def test_register_over_excel_limit_goes_to_parquet(tmp_path, monkeypatch):
    import fupin_cli.io.write as write_mod

    monkeypatch.setattr(write_mod, "EXCEL_MAX_DATA_ROWS", 3)  # 4 households, 3 members
    path = tmp_path / "reg.xlsx"
    outcome = write_register(result(), path)
    side = tmp_path / "reg-登记册.parquet"
    assert outcome.outputs == [path, side]
    assert outcome.warnings == ["登记册: 4 rows exceed Excel's 3; written to reg-登记册.parquet instead"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["成员", "汇总", "致贫原因", "帮扶覆盖", "说明"]
    notes = [r[1].value for r in wb["说明"].iter_rows(min_row=2) if r[0].value == "说明 (note)"]
    assert notes == outcome.warnings
    back = read_register(side).households
    assert back["household_id"].tolist() == ["5001010001", "5001010002", "5001010003", "5001010004"]
