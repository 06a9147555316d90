"""io.write / io.xlsx: atomic writes, no overwrite without force, formula safety, Excel limits."""

from __future__ import annotations

import os

import openpyxl
import pandas as pd
import pytest

from fupin_cli.errors import UsageError
from fupin_cli.io import write as w
from fupin_cli.io.xlsx import XlsxBook


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "户编号": ["001", "002"],
            "证件号码": ["11010519491231002X", None],
            "人均纯收入": [2310.5, None],
            "是否危房": pd.array([True, None], dtype="boolean"),
            "备注": ["=HYPERLINK(\"x\")", "-1+2"],
            "人数": pd.array([3, None], dtype="Int64"),
        }
    )


def test_csv_escapes_formulas_and_keeps_ids_as_text(tmp_path, frame):
    masked = w.write_csv(frame, tmp_path / "m.csv").read_text(encoding="utf-8-sig")
    assert "110105********002X" in masked and "11010519491231002X" not in masked  # only the register holds full IDs
    p = w.write_csv(frame, tmp_path / "a.csv", private=True)
    text = p.read_text(encoding="utf-8-sig")
    assert text.splitlines() == [
        "户编号,证件号码,人均纯收入,是否危房,备注,人数",
        "001,11010519491231002X,2310.5,True,\"'=HYPERLINK(\"\"x\"\")\",3",
        "002,,,,'-1+2,",
    ]
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")


def test_existing_output_is_not_overwritten_without_force(tmp_path, frame):
    target = tmp_path / "a.csv"
    target.write_text("keep me")
    with pytest.raises(UsageError) as info:
        w.write_csv(frame, target)
    assert info.value.one_line() == (
        f"output {target} already exists (use --force to overwrite it, or choose another name)"
    )
    assert target.read_text() == "keep me"
    w.write_csv(frame, target, force=True)
    assert target.read_text(encoding="utf-8-sig").startswith("户编号")


def test_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.xlsx"
    with pytest.raises(RuntimeError), w.atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_missing_folder_and_bad_suffix_are_usage_errors(tmp_path, frame):
    with pytest.raises(UsageError, match="does not exist"):
        w.write_frame(frame, tmp_path / "nope" / "a.csv")
    with pytest.raises(UsageError, match=r"unsupported file type '.txt'"):
        w.write_frame(frame, tmp_path / "a.txt")


def test_xlsx_types_formats_and_no_formulas(tmp_path, frame):
    p = w.write_frame(frame, tmp_path / "a.xlsx", sheet_name="疑点", money_columns=["人均纯收入"], private=True)
    wb = openpyxl.load_workbook(p)
    ws = wb["疑点"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("户编号", "证件号码", "人均纯收入", "是否危房", "备注", "人数")
    assert rows[1] == ("001", "11010519491231002X", 2310.5, "是", '=HYPERLINK("x")', 3)
    assert rows[2] == ("002", None, None, None, "-1+2", None)
    assert ws["E2"].data_type == "s"  # text, not a formula
    assert ws["A2"].number_format == "@"
    assert ws["C2"].number_format == "#,##0.00"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F3"


def test_xlsx_row_limit_is_checked_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr("fupin_cli.io.xlsx.EXCEL_MAX_DATA_ROWS", 3)
    df = pd.DataFrame({"x": range(4)})
    with pytest.raises(UsageError) as info, XlsxBook(tmp_path / "big.xlsx") as book:
        book.add_table("s", df)
    assert info.value.one_line() == "sheet s: 4 rows exceed Excel's limit of 3 data rows (write .parquet or .csv instead)"
    assert not (tmp_path / "big.xlsx").exists()


def test_formula_escape_frame_leaves_numbers_alone():
    df = pd.DataFrame({"a": ["-5", "x", None], "b": [-5, 1, 2]})
    out = w.escape_formulas_frame(df)
    assert out["a"].tolist()[:2] == ["'-5", "x"]
    assert out["b"].tolist() == [-5, 1, 2]
