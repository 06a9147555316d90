"""The lean paths for large files: Parquet and UTF-8 CSV read one column at a time.

They must give exactly what the all-text grid gives (values, dtypes, notes, Excel rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupin_cli.io import read_roster
from fupin_cli.io.read_grid import STR
from fupin_cli.io.read_text import HEAD_ROWS, _parse, _parse_arrow, read_csv_grid, read_parquet_grid

TRICKY_CSV = (
    '户编号,姓名,与户主关系,备注\r\n'
    'H1, 张三 ,户主,"a,b"\r\n'
    '\r\n'
    'H1,李四,配偶,"多\r\n行"\r\n'
    'H2,"",户主,\r\n'
    ',,,\r\n'
    'H3,王五,"本人",""""\r\n'
    '合计,,,\r\n'
)


def _odd_frame() -> pd.DataFrame:
    """Typed columns with blank rows, a totals row, a row of no household and bad values."""
    df = pd.DataFrame({
        "户编号": ["H1", "H1", None, "H2", "合计", None, None, "H3"],
        "户主姓名": ["张三", "张三", None, "李四", None, None, None, "王五"],
        "姓名": ["张三", "李某", None, "李四", None, None, "李小", "王五"],
        "证件号码": pd.array([500101199001011234, 500101199001011235, None, None, None, None, None,
                           500101199001011236], dtype="Int64"),
        "与户主关系": ["户主", "配偶", None, "户主", None, None, "之子", "外星人"],
        "家庭人口数": [2.0, 2.0, None, 1.5, 5.5, None, None, 1.0],  # 5.5 on the totals row: no note
        "人均纯收入": [1234.5, 1234.5, None, np.nan, 9999, None, None, 3000],
        "是否危房": [True, None, None, False, None, None, None, True],
        "出生日期": pd.to_datetime(["1990-01-01", "1991-02-02", None, "1980-03-03", None, None, None, "1970-01-01"]),
        "备注X": [1, 2, None, 3, 4, None, None, 5],
    })
    return df


def test_lean_parquet_equals_the_text_grid(tmp_path, monkeypatch):
    p = tmp_path / "odd.parquet"
    _odd_frame().to_parquet(p)
    lean = read_roster(p)
    # the all-text grid (the path for a Parquet whose names are not the header) gives the same roster
    import fupin_cli.io.read_text as rt

    real = rt.read_parquet_grid
    monkeypatch.setattr(rt, "read_parquet_grid", lambda path, typed=True: real(path, typed=False))
    text = read_roster(p)
    pd.testing.assert_frame_equal(lean.members, text.members.astype(lean.members.dtypes.to_dict()))
    assert lean.notes[["check", "row", "column"]].values.tolist() == [
        ["read.head_from_members", 1, ""],
        ["read.unknown_columns", 1, ""],
        ["id.stored_as_number", 2, "证件号码"],
        ["id.stored_as_number", 3, "证件号码"],
        ["read.blank_row", 4, ""],
        ["read.bad_value", 5, "家庭人口数"],
        ["read.total_row", 6, ""],
        ["read.blank_row", 7, ""],
        ["read.no_household", 8, "户编号"],
        ["id.stored_as_number", 9, "证件号码"],
        ["read.unknown_code", 9, "与户主关系"],
    ]
    assert lean.notes["message"].tolist() == text.notes["message"].tolist()
    assert lean.households["household_id"].tolist() == ["H1", "H2", "H3"]
    assert lean.households["_row"].tolist() == [2, 5, 9]
    assert lean.members["_row"].tolist() == [2, 3, 5, 8, 9]
    assert lean.members["birth_date"].dtype == "datetime64[ns]"
    assert lean.households["unsafe_housing"].tolist() == [True, False, True]


def test_lean_parquet_grid_holds_only_the_first_rows(tmp_path):
    p = tmp_path / "big.parquet"
    n = 3000
    pd.DataFrame({"户编号": [f"H{i // 3}" for i in range(n)], "姓名": [f"人{i}" for i in range(n)],
                  "家庭人口数": np.full(n, 3)}).to_parquet(p)
    grid = read_parquet_grid(p)
    assert grid.lean and grid.height == n + 1 and len(grid.cells) == HEAD_ROWS + 1
    assert grid.cells.iloc[0].tolist() == ["户编号", "姓名", "家庭人口数"]
    assert grid.column_source(2).type == "int64"  # typed as stored, read when asked


def test_grouped_household_text_comes_back_as_str(tmp_path):
    """Household text is held as categoricals while grouping; the Roster has str columns."""
    n = 3000
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "乡镇": rng.choice(["甲镇", "乙镇"], n), "行政村": rng.choice(["一村", "二村", "三村"], n),
        "户编号": [f"H{i // 3:05d}" for i in range(n)], "姓名": [f"人{i}" for i in range(n)],
        "与户主关系": ["户主", "配偶", "之子"] * (n // 3), "主要致贫原因": rng.choice(["因病", "因学"], n),
    })
    df.loc[df.index % 3 != 0, ["乡镇", "行政村", "主要致贫原因"]] = None  # written on the head's row only
    p = tmp_path / "m.parquet"
    df.to_parquet(p)
    r = read_roster(p)
    assert r.sources[0].layout == "member-head-only"
    assert len(r.households) == n // 3
    for c in ("township", "village", "recorded_primary_cause", "household_id", "_source"):
        assert r.households[c].dtype == STR, c
    heads = df[df.index % 3 == 0].reset_index(drop=True)
    assert r.households["township"].tolist() == heads["乡镇"].tolist()
    assert r.households["recorded_primary_cause"].tolist() == heads["主要致贫原因"].tolist()
    assert not any(isinstance(t, pd.CategoricalDtype) for t in r.members.dtypes)


def test_pyarrow_csv_parse_equals_pandas(tmp_path):
    data = TRICKY_CSV.encode("utf-8")
    table = _parse_arrow(data, ",", 4)
    arrow = pd.DataFrame({j: pd.array(table.column(j).cast("large_string").combine_chunks(), dtype=STR) for j in range(4)})
    pd.testing.assert_frame_equal(arrow, _parse(data, ",", 4))
    assert arrow.iloc[3, 3] == "多\r\n行" and arrow.iloc[6, 3] == '"' and arrow.iloc[1, 1] == " 张三 "
    assert _parse_arrow("标题\n户编号,姓名\nH1,张三\n".encode(), ",", 2) is None  # ragged: pandas pads


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_lean_csv_roster(tmp_path, bom):
    p = tmp_path / "t.csv"
    p.write_bytes(bom + TRICKY_CSV.encode("utf-8"))
    grid, used = read_csv_grid(p)
    assert grid.lean and grid.height == 8 and used == ("utf-8-sig" if bom else "utf-8")
    r = read_roster(p)
    assert r.sources[0].encoding == used
    assert r.members["household_id"].tolist() == ["H1", "H1", "H2", "H3"]
    assert r.members["name"].fillna("").tolist() == ["张三", "李四", "", "王五"]
    assert r.members["relation"].tolist() == ["户主", "配偶", "户主", "户主"]
    assert r.members["_row"].tolist() == [2, 4, 5, 7]  # a quoted line break stays in its row, as in Excel
    assert r.notes[["check", "row"]].values.tolist() == [
        ["read.head_from_members", 1], ["read.unknown_columns", 1], ["read.blank_row", 3], ["read.blank_row", 6],
        ["read.total_row", 8],
    ]


def test_gbk_csv_is_decoded_and_a_ragged_csv_is_padded_by_pandas(tmp_path):
    gbk = tmp_path / "g.csv"
    gbk.write_bytes("户编号,姓名,与户主关系\nH1,张三,户主\n".encode("gbk"))
    grid, used = read_csv_grid(gbk)
    assert used == "gb18030" and grid.lean  # decoded, re-encoded as UTF-8, then the same parser
    ragged = tmp_path / "r.csv"
    ragged.write_text("某县花名册\n户编号,姓名,与户主关系\nH1,张三,户主\n", encoding="utf-8")
    grid, used = read_csv_grid(ragged)
    assert used == "utf-8" and not grid.lean
    r = read_roster(ragged)
    assert r.sources[0].header_rows == [2] and r.members["_row"].tolist() == [3]
