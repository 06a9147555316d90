"""Every failure mode of read_roster: one file in tests/data/reader, its exact one-line message, exit 4."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.errors import EXIT_INPUT, InputError
from fupin_cli.io import read_roster

DATA = Path(__file__).parent / "data" / "reader"

CASES = [
    ("missing.xlsx", {}, f"找不到文件: {DATA / 'missing.xlsx'} (file not found) (检查文件路径和文件名)"),
    ("unsupported.json", {},
     "unsupported.json: 不支持的文件类型“.json” (unsupported file type) (支持 .xlsx、.xls、.csv、.parquet; 请在 Excel 中另存为 .xlsx)"),
    ("empty.csv", {}, "empty.csv: 文件是空的 (empty file) (检查是否选错了文件)"),
    ("empty_sheet.xlsx", {}, "empty_sheet.xlsx 工作表“Sheet1”是空的 (empty sheet) (用 --sheet 选择有数据的工作表)"),
    ("no_header.xlsx", {},
     ("no_header.xlsx 工作表“说明”: 第 1–15 行中没有找到表头 (no recognisable header) "
     "(表头应包含 户编号、户主姓名、姓名、证件号码、与户主关系、家庭人口数 等列名; 用 --sheet 选择花名册所在的工作表)")),
    ("duplicated_header.xlsx", {},
     ("duplicated_header.xlsx 工作表“花名册” 第 2 行: 表头重复 (duplicated header): C 列“身份证号”和 E 列“证件号码”都是证件号码 "
     "(删除其中一列或改为不同的列名)")),
    ("utf16_no_bom.csv", {},
     ("utf16_no_bom.csv: 无法识别文件编码, 不是 UTF-8 或 GBK/GB18030 文本 (wrong encoding: NUL bytes, UTF-16 or binary data?) "
     "(用 --encoding 指定文件的编码, 例如 --encoding utf-16; 或在 Excel 中另存为“CSV UTF-8”)")),
    ("random_bytes.csv", {},
     ("random_bytes.csv: 无法识别文件编码, 不是 UTF-8 或 GBK/GB18030 文本 (wrong encoding: invalid byte at offset 1) "
     "(用 --encoding 指定文件的编码, 例如 --encoding utf-16; 或在 Excel 中另存为“CSV UTF-8”)")),
    ("gbk.csv", {"encoding": "utf-8"},
     "gbk.csv: 不能按 utf-8 解码, 第 0 字节起有无效字节 (wrong encoding) (去掉 --encoding 让 fupin 自动识别, 或换用文件实际的编码)"),
    ("gbk.csv", {"encoding": "no-such-codec"},
     "gbk.csv: 未知的编码“no-such-codec” (unknown encoding) (常用编码: utf-8, gb18030, gbk, utf-16)"),
    ("encrypted.xlsx", {},
     ("encrypted.xlsx: 文件已加密 (encrypted: remove the password in Excel) "
     "(在 Excel 中打开, 文件 → 信息 → 保护工作簿 → 用密码进行加密, 清空密码后另存为 .xlsx)")),
    ("truncated.xlsx", {},
     "truncated.xlsx: 文件已损坏或不是有效的 .xlsx 文件 (corrupt xlsx: File is not a zip file) (用 Excel 或 WPS 打开并另存为 .xlsx 后重试)"),
    ("two_sheets.xlsx", {"sheet": "村民"},
     "two_sheets.xlsx: 没有名为“村民”的工作表 (no such sheet); 现有工作表: “户”、“成员” (用 --sheet 给出上面列出的工作表名)"),
    ("two_sheets.xlsx", {"sheet": "户", "member_sheet": "人"},
     "two_sheets.xlsx: 没有名为“人”的工作表 (no such sheet); 现有工作表: “户”、“成员” (用 --sheet 给出上面列出的工作表名)"),
    ("not_parquet.parquet", {},
     "not_parquet.parquet: 不是 Parquet 文件 (not a Parquet file) (确认文件格式; Excel 表格请保存为 .xlsx, 文本请保存为 .csv)"),
]


@pytest.mark.parametrize(("name", "kwargs", "message"), CASES, ids=[f"{c[0]}-{'-'.join(c[1])}" for c in CASES])
def test_failure_file_message(name, kwargs, message):
    with pytest.raises(InputError) as e:
        read_roster(DATA / name, **kwargs)
    assert e.value.one_line() == message
    assert e.value.exit_code == EXIT_INPUT == 4
    assert "\n" not in e.value.one_line()


def test_a_folder_is_not_a_roster(tmp_path):
    with pytest.raises(InputError) as e:
        read_roster(tmp_path)
    assert e.value.one_line() == f"{tmp_path} 是文件夹, 不是花名册文件 (not a file) (给出 .xlsx/.xls/.csv/.parquet 文件的路径)"


def test_an_xls_that_is_not_excel(tmp_path):
    p = tmp_path / "web_export.xls"
    p.write_text("<html><table><tr><td>户编号</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_roster(p)
    assert e.value.one_line() == (
        "web_export.xls: 文件已损坏或不是有效的 .xls 文件 (corrupt xls: not an Excel workbook) (用 Excel 或 WPS 打开并另存为 .xlsx 后重试)"
    )


def test_gbk_csv_is_detected_and_reported():
    r = read_roster(DATA / "gbk.csv")
    assert r.sources[0].encoding == "gb18030"
    assert r.households["head_name"].tolist() == ["张三", "李四"]
    assert read_roster(DATA / "gbk.csv", encoding="gbk").sources[0].encoding == "gbk"


def test_utf16_csv_reads_with_the_encoding_option():
    r = read_roster(DATA / "utf16_no_bom.csv", encoding="utf-16-le")
    assert r.households["head_name"].tolist() == ["张三"]
    assert r.sources[0].encoding == "utf-16-le"


def test_the_files_are_what_make_data_makes(tmp_path, monkeypatch):
    """The committed broken files are reproducible from tests/data/make_data.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_data", DATA.parent / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "OUT", tmp_path)
    mod.main()
    for p in sorted(tmp_path.iterdir()):
        assert p.read_bytes() == (DATA / p.name).read_bytes(), p.name


def test_cli_guard_turns_an_input_error_into_exit_4():
    """The CLI's guard prints the one line and exits 4 (validated through a minimal typer app)."""
    import typer

    from fupin_cli.cli.common import guard

    app = typer.Typer()

    @app.command()
    def read(path: str) -> None:
        with guard():
            read_roster(path)

    result = CliRunner().invoke(app, [str(DATA / "encrypted.xlsx")])
    assert result.exit_code == 4
    assert "文件已加密 (encrypted: remove the password in Excel)" in result.output
