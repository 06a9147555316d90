"""read_roster: headers, layouts, provenance (Excel row numbers) on tiny inline workbooks."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from reader_helpers import notes_of, write_xls, write_xlsx

from fupin_cli.errors import InputError
from fupin_cli.io import read_roster

TITLE = "某某县2015年建档立卡贫困户花名册"


def test_household_layout_under_title_and_note_rows(tmp_path):
    rows = [
        [TITLE],
        ["填报单位：某某乡", None, None, "填报日期：2015年9月"],
        ["序号", "户编号", "户主姓名", "家庭人口数", "人均纯收入(元)", "备注"],
        [1, "H001", "张三", 3, 2310.5, "已核实"],
        [None],
        [2, "H002", " 李四 ", 2, "1,234元", None],
        ["合计", None, None, 5, None, None],
    ]
    p = write_xlsx(tmp_path / "hh.xlsx", {"花名册": rows}, {"花名册": [(0, 0, 0, 5, TITLE)]})
    r = read_roster(p)
    info = r.sources[0]
    assert (info.format, info.layout, info.sheets, info.header_rows) == ("xlsx", "household", ["花名册"], [3])
    assert list(r.households.columns) == [
        "household_id", "head_name", "household_size", "income_per_capita", "备注", "_source", "_sheet", "_row",
    ]
    hh = r.households
    assert hh["household_id"].tolist() == ["H001", "H002"]
    assert hh["head_name"].tolist() == ["张三", "李四"]
    assert hh["household_size"].tolist() == [3, 2]
    assert str(hh["household_size"].dtype) == "Int64"
    assert hh["income_per_capita"].tolist() == [2310.5, 1234.0]
    assert str(hh["income_per_capita"].dtype) == "Float64"
    assert hh["_row"].tolist() == [4, 6]
    assert hh["_source"].tolist() == ["hh.xlsx", "hh.xlsx"]
    assert hh["_sheet"].tolist() == ["花名册", "花名册"]
    assert len(r.members) == 0 and "household_id" in r.members.columns and "id_number" in r.members.columns
    assert r.passthrough == ["备注"]
    assert r.source_headers["income_per_capita"] == "人均纯收入(元)"
    assert notes_of(r, "read.blank_row") == [(5, "info", "工作表“花名册”第 5 行是空行, 已跳过")]
    assert notes_of(r, "read.total_row") == [(7, "info", "工作表“花名册”第 7 行是合计/小计行, 已跳过")]
    assert notes_of(r, "read.unknown_columns") == [(3, "info", "未识别的列按原样保留: F 列“备注”")]


def test_two_row_header_with_group_and_vertical_merges_and_number_row(tmp_path):
    rows = [
        [TITLE],
        [],
        [],
        ["1", "2", "3", "4", "5", "6"],
        ["H001", "张三", 3, 10000, 2000, 500],
        ["H002", "李四", 2, "８０００", "1 234.50", None],
    ]
    merges = [
        (0, 0, 0, 5, TITLE),
        (1, 0, 2, 0, "户编号"),  # vertical merges over both header rows
        (1, 1, 2, 1, "户主姓名"),
        (1, 2, 2, 2, "家庭人口数"),
        (1, 3, 1, 5, "收入情况"),  # group over its leaves
    ]
    rows[2] = [None, None, None, "工资性收入", "生产经营性收入", "转移性收入"]
    p = write_xlsx(tmp_path / "two_row.xlsx", {"Sheet1": rows}, {"Sheet1": merges})
    r = read_roster(p)
    assert r.sources[0].header_rows == [2, 3]
    hh = r.households
    assert hh["household_id"].tolist() == ["H001", "H002"]
    assert hh["_row"].tolist() == [5, 6]
    assert hh["wage_income"].tolist() == [10000.0, 8000.0]
    assert hh["business_income"].tolist() == [2000.0, 1234.5]
    assert hh["transfer_income"].tolist()[0] == 500.0 and pd.isna(hh["transfer_income"].iloc[1])
    assert r.source_headers["wage_income"] == "工资性收入"
    assert r.passthrough == []


def test_two_row_header_group_prefix_names_the_field(tmp_path):
    """户主 (group) over 姓名 / 身份证号 reads as 户主姓名 / 户主身份证号."""
    rows = [["户编号", "户主", None, "家庭人口数"], [None, "姓名", "身份证号", None], ["H001", "张三", "50010119900101123x", 3]]
    merges = [(0, 0, 1, 0, "户编号"), (0, 1, 0, 2, "户主"), (0, 3, 1, 3, "家庭人口数")]
    r = read_roster(write_xlsx(tmp_path / "g.xlsx", {"S": rows}, {"S": merges}))
    assert r.households[["household_id", "head_name", "head_id_number"]].values.tolist() == [["H001", "张三", "50010119900101123X"]]
    assert r.source_headers["head_name"] == "户主姓名"
    assert r.households["_row"].tolist() == [3]


MEMBER_HEADER = ["户编号", "户主姓名", "家庭人口数", "序号", "姓名", "与户主关系", "身份证号", "健康状况"]


def test_member_layout_with_household_cells_merged_down(tmp_path):
    rows = [
        [TITLE],
        MEMBER_HEADER,
        ["H001", "张三", 3, 1, "张三", "户主", "500101199001011234", "健康"],
        [None, None, None, 2, "王芳", "配偶", "500101199203041246", "长期慢性病"],
        [None, None, None, 3, "张小明", "之子", "500101201505061257", "健康"],
        ["H002", "李四", 1, 4, "李四", "本人", "500101195001011236", "残疾"],
    ]
    merges = [(0, 0, 0, 7, TITLE), (2, 0, 4, 0, "H001"), (2, 1, 4, 1, "张三"), (2, 2, 4, 2, 3)]
    r = read_roster(write_xlsx(tmp_path / "merged.xlsx", {"花名册": rows}, {"花名册": merges}))
    assert r.sources[0].layout == "member-merged"
    hh, mem = r.households, r.members
    assert hh[["household_id", "head_name", "household_size"]].values.tolist() == [["H001", "张三", 3], ["H002", "李四", 1]]
    assert hh["_row"].tolist() == [3, 6]
    assert mem["household_id"].tolist() == ["H001", "H001", "H001", "H002"]
    assert mem["name"].tolist() == ["张三", "王芳", "张小明", "李四"]
    assert mem["relation"].tolist() == ["户主", "配偶", "之子", "户主"]
    assert mem["health"].tolist() == ["健康", "长期慢性病", "健康", "残疾"]
    assert mem["_row"].tolist() == [3, 4, 5, 6]
    assert "head_name" not in mem.columns and "household_size" not in mem.columns
    assert mem["seq"].tolist() == [1, 2, 3, 4]


def test_member_layout_household_fields_repeated_with_conflict_note(tmp_path):
    rows = [
        MEMBER_HEADER,
        ["H001", "张三", 2, 1, "张三", "户主", "500101199001011234", "健康"],
        ["H001", "张三", 3, 2, "王芳", "配偶", "500101199203041246", "健康"],
        ["H002", "李四", 1, 3, "李四", "户主", "500101195001011236", "健康"],
    ]
    r = read_roster(write_xlsx(tmp_path / "rep.xlsx", {"S": rows}))
    assert r.sources[0].layout == "member"
    assert r.households["household_size"].tolist() == [2, 1]
    assert notes_of(r, "read.household_conflict") == [
        (3, "warning", "S!C3: 同一户的家庭人口数与上一行不同 (“3” ≠ “2”), 采用该户第一行的值"),
    ]


def test_member_layout_head_only_and_blocks_without_household_id(tmp_path):
    rows = [
        ["户编号", "家庭人口数", "行政村", "姓名", "与户主关系", "证件号码"],
        ["H001", 2, "甲村", "张三", "户主", "500101199001011234"],
        [None, None, None, "王芳", "配偶", "500101199203041246"],
        ["H002", 1, "乙村", "李四", "户主", "500101195001011236"],
        [None],
        [None, None, None, "赵五", "之子", "500101201001011233"],  # after a blank row: no household
    ]
    r = read_roster(write_xlsx(tmp_path / "head.xlsx", {"S": rows}))
    assert r.sources[0].layout == "member-head-only"
    hh, mem = r.households, r.members
    assert hh[["household_id", "household_size", "village"]].values.tolist() == [["H001", 2, "甲村"], ["H002", 1, "乙村"]]
    # 户主姓名 / 户主证件号码 are taken from the 户主 member when the sheet has no such columns
    assert hh["head_name"].tolist() == ["张三", "李四"]
    assert hh["head_id_number"].tolist() == ["500101199001011234", "500101195001011236"]
    assert mem["household_id"].tolist()[:3] == ["H001", "H001", "H002"] and pd.isna(mem["household_id"].iloc[3])
    assert mem["_row"].tolist() == [2, 3, 4, 6]
    assert notes_of(r, "read.no_household") == [
        (6, "error", "S!A6: 户编号为空, 且上方没有同一户的行 (合并单元格或户主行), 无法归户"),
    ]
    assert notes_of(r, "read.blank_row") == [(5, "info", "工作表“S”第 5 行是空行, 已跳过")]


def test_member_layout_with_household_id_on_every_row_but_fields_on_head_only(tmp_path):
    rows = [
        ["户编号", "家庭人口数", "姓名", "与户主关系"],
        ["H001", 2, "张三", "户主"],
        ["H001", None, "王芳", "配偶"],
        ["H002", 3, "李四", "户主"],
        ["H002", None, "赵六", "之女"],
    ]
    r = read_roster(write_xlsx(tmp_path / "h2.xlsx", {"S": rows}))
    assert r.sources[0].layout == "member-head-only"
    assert r.households["household_size"].tolist() == [2, 3]
    assert r.members["household_id"].tolist() == ["H001", "H001", "H002", "H002"]


def test_two_sheets_detected_by_headers_and_named_explicitly(tmp_path):
    sheets = {
        "说明": [["填表说明"], ["1. 每户一行"]],
        "户": [["户编号", "户主姓名", "行政村"], ["H001", "张三", "甲村"], ["H002", "李四", "乙村"]],
        "成员": [["户编号", "姓名", "与户主关系", "健康状况"], ["H001", "张三", "户主", "健康"],
                 ["H001", "王芳", "配偶", "残疾"], ["H002", "李四", "户主", "大病"]],
    }
    p = write_xlsx(tmp_path / "two.xlsx", sheets)
    for kwargs in ({}, {"sheet": "户", "member_sheet": "成员"}, {"member_sheet": "成员"}):
        r = read_roster(p, **kwargs)
        info = r.sources[0]
        assert (info.layout, info.sheets, info.header_rows) == ("two-sheet", ["户", "成员"], [1, 1]), kwargs
        assert r.households["household_id"].tolist() == ["H001", "H002"]
        assert r.households["_sheet"].tolist() == ["户", "户"]
        assert r.members["household_id"].tolist() == ["H001", "H001", "H002"]
        assert r.members["health"].tolist() == ["健康", "残疾", "患有大病"]
        assert r.members["_row"].tolist() == [2, 3, 4]
        assert r.members["_sheet"].tolist() == ["成员"] * 3


def test_sheet_option_reads_only_that_sheet(tmp_path):
    sheets = {"户": [["户编号", "户主姓名"], ["H001", "张三"]], "成员": [["户编号", "姓名", "与户主关系"], ["H001", "张三", "户主"]]}
    r = read_roster(write_xlsx(tmp_path / "two.xlsx", sheets), sheet="成员")
    assert (r.sources[0].layout, r.sources[0].sheets) == ("member", ["成员"])
    assert r.households["head_name"].tolist() == ["张三"]


def test_totals_rows_by_words_and_non_numeric_seq(tmp_path):
    rows = [
        ["序号", "户编号", "户主姓名", "家庭人口数"],
        [1, "H001", "张三", 3],
        ["小 计", None, None, 3],
        [None, "总计", None, 3],
        ["填表人：王五", None, None, None],
        [2, "H002", "李四", 1],
    ]
    r = read_roster(write_xlsx(tmp_path / "t.xlsx", {"S": rows}))
    assert r.households["household_id"].tolist() == ["H001", "H002"]
    assert [row for row, _, _ in notes_of(r, "read.total_row")] == [3, 4, 5]


@pytest.mark.parametrize(("writer", "name", "tail"), [(write_xlsx, "off.xlsx", "1328"), (write_xls, "off.xls", "1328")])
def test_leading_blank_rows_and_columns_keep_excel_coordinates(tmp_path, writer, name, tail):
    rows = [[], [], [None, None, "户编号", "户主姓名", "身份证号"], [None, None, "H001", "张三", 500101199001011234],
            [None, None, "H002", "李四", "500101199001011234"]]
    r = read_roster(writer(tmp_path / name, {"S": rows}))
    assert r.sources[0].header_rows == [3]
    assert r.households["_row"].tolist() == [4, 5]
    assert r.households["head_id_number"].isna().tolist() == [True, False]
    # the digits a numeric cell keeps depend on how the writer stored the double
    assert notes_of(r, "id.stored_as_number") == [
        (4, "error", f"S!E4: 身份证号存为数值，精度已丢失：请将该列设为文本后重新录入 (500101********{tail})"),
    ]


def test_missing_household_id_column_is_an_input_error(tmp_path):
    p = write_xlsx(tmp_path / "noid.xlsx", {"S": [["户主姓名", "家庭人口数"], ["张三", 3]]})
    with pytest.raises(InputError) as e:
        read_roster(p)
    assert e.value.one_line() == (
        "noid.xlsx 工作表“S”: 没有“户编号”列 (no household_id column), 无法区分各户 "
        "(加一列“户编号”(或 户码、家庭编号), 每户一个编号)"
    )


def test_inputs_are_not_modified(tmp_path):
    p = write_xlsx(tmp_path / "hh.xlsx", {"S": [["户编号", "户主姓名"], ["H001", "张三"]]})
    before, mtime = p.read_bytes(), p.stat().st_mtime_ns
    r = read_roster(p)
    assert p.read_bytes() == before and p.stat().st_mtime_ns == mtime
    import hashlib

    assert r.sources[0].sha256 == hashlib.sha256(before).hexdigest()
    assert r.sources[0].name == "hh.xlsx" and r.sources[0].path == str(p)


def test_dates_from_cells_and_text(tmp_path):
    rows = [["户编号", "姓名", "与户主关系", "出生日期"]]
    values = [dt.datetime(1990, 8, 8), "1990-08-08", "1990.8.8", "1990/8/8", "19900808", "199008", "1990年8月",
              "1990年8月8日", 33093, "1990-08", "不详"]
    for i, v in enumerate(values):
        rows.append([f"H{i:03d}", f"人{i}", "户主", v])
    r = read_roster(write_xlsx(tmp_path / "d.xlsx", {"S": rows}))
    got = r.members["birth_date"]
    assert str(got.dtype) == "datetime64[ns]"
    d8, d1 = pd.Timestamp("1990-08-08"), pd.Timestamp("1990-08-01")
    assert got.tolist()[:-1] == [d8, d8, d8, d8, d8, d1, d1, d8, d8, d1]
    assert pd.isna(got.iloc[-1])
    assert notes_of(r, "read.bad_value") == [(12, "error", "S!D12: 出生日期“不详”不是有效的日期, 已按空值处理")]


def test_csv_with_title_line_and_two_row_header_without_merges(tmp_path):
    text = (
        "某某县花名册\n"
        "户编号,户主姓名,收入情况,,\n"
        ",,工资性收入,转移性收入,备注\n"
        "H001,张三,\"1,000\",200,甲\n"
        "\n"
        "H002,李四,3000,,乙\n"
    )
    p = tmp_path / "two_row.csv"
    p.write_text(text, encoding="utf-8-sig")
    r = read_roster(p)
    info = r.sources[0]
    assert (info.format, info.encoding, info.header_rows, info.sheets) == ("csv", "utf-8-sig", [2, 3], [])
    assert r.households[["household_id", "head_name", "wage_income"]].values.tolist() == [["H001", "张三", 1000.0], ["H002", "李四", 3000.0]]
    assert r.households["_row"].tolist() == [4, 6]
    assert r.households["_sheet"].tolist() == ["", ""]
    assert r.passthrough == ["备注"]
    assert notes_of(r, "read.blank_row") == [(5, "info", "two_row.csv第 5 行是空行, 已跳过")]


def test_no_header_in_any_sheet_names_the_sheets(tmp_path):
    p = write_xlsx(tmp_path / "x.xlsx", {"封面": [["某某县"]], "说明": [["请填写"]]})
    with pytest.raises(InputError) as e:
        read_roster(p)
    assert e.value.one_line() == (
        "x.xlsx: 所有工作表的前 15 行中都没有找到表头 (no recognisable header in any sheet: 封面、说明) "
        "(表头应包含 户编号、户主姓名、姓名、证件号码、与户主关系、家庭人口数 等列名; 用 --sheet 选择花名册所在的工作表)"
    )


def test_unknown_columns_with_the_same_text_stay_apart(tmp_path):
    rows = [["户编号", "户主姓名", "备注", "备注", None], ["H001", "张三", "a", "b", "c"]]
    r = read_roster(write_xlsx(tmp_path / "u.xlsx", {"S": rows}))
    assert r.passthrough == ["备注", "备注(D)", "列E"]
    assert r.households[["备注", "备注(D)", "列E"]].values.tolist() == [["a", "b", "c"]]


def test_one_repeated_household_id_does_not_make_a_household_sheet_member_level(tmp_path):
    rows = [["户编号", "户主姓名", "家庭人口数"]] + [[f"H{i:03d}", f"人{i}", 2] for i in range(20)] + [["H000", "重复", 3]]
    r = read_roster(write_xlsx(tmp_path / "dup.xlsx", {"S": rows}))
    assert r.sources[0].layout == "household"
    assert len(r.households) == 21 and len(r.members) == 0


def test_header_repeated_in_the_data_is_skipped(tmp_path):
    rows = [["户编号", "户主姓名", "家庭人口数"], ["H001", "张三", 3], ["户编号", "户主姓名", "家庭人口数"], ["H002", "李四", 2]]
    r = read_roster(write_xlsx(tmp_path / "rep.xlsx", {"S": rows}))
    assert r.households["household_id"].tolist() == ["H001", "H002"]
    assert notes_of(r, "read.repeated_header") == [(3, "info", "工作表“S”第 3 行是重复的表头 (分页打印时常见), 已跳过")]
    assert notes_of(r, "read.bad_value") == []


def test_xlsx_without_cell_references_falls_back_to_calamine(tmp_path):
    """Some generators omit r="A1" on cells: used range and numeric IDs come from calamine/fastexcel."""
    import re
    import zipfile

    rows = [["某县花名册"], ["户编号", "户主姓名", "身份证号"], ["H001", "张三", 500101199001011234], ["H002", "李四", "500101199001011234"]]
    src = write_xlsx(tmp_path / "refs.xlsx", {"S": rows}, {"S": [(0, 0, 0, 2, "某县花名册")]})
    dst = tmp_path / "norefs.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", data)
                assert b'<c r="' not in data
            zout.writestr(info, data)
    r = read_roster(dst)
    assert r.sources[0].header_rows == [2]
    assert r.households["_row"].tolist() == [3, 4]
    assert [row for row, _, _ in notes_of(r, "id.stored_as_number")] == [3]


@pytest.mark.parametrize("options", [{}, {"constant_memory": True}])
def test_xml_pass_finds_id_columns_from_the_header_text(tmp_path, options):
    """The ID columns are found in the sheet XML itself (shared or inline strings), so one pass serves."""
    import xlsxwriter

    from fupin_cli.io.read_xlsx import _XlsxScan

    p = tmp_path / "ids.xlsx"
    wb = xlsxwriter.Workbook(str(p), options)
    ws = wb.add_worksheet("S")
    for r, row in enumerate([["花名册"], ["户编号", "姓名", "户主身份证号", "备注", "证件号码"],
                             ["H1", "甲", 500101199001011234, "&<>", "500101199001011234"]]):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.close()
    scan = _XlsxScan(p, "xl/worksheets/sheet1.xml", sst="xl/sharedStrings.xml" if not options else None)
    scan.run()
    assert scan.error is None
    assert (scan.first_row, scan.last_row) == (0, 2)
    assert sorted(scan.numeric) == [2, 4]
    assert scan.numeric[2].tolist() == [2] and scan.numeric[4].tolist() == []
