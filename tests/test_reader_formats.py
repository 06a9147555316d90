"""The same roster as .xlsx, .xls (saved by LibreOffice), GBK .csv and typed .parquet reads to identical frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from reader_helpers import write_xls, write_xlsx

from fupin_cli.io import read_roster

HEADER = ["户编号", "行政村", "家庭人口数", "人均纯收入", "是否危房", "序号", "姓名", "性别", "与户主关系", "证件号码", "出生日期", "务工时间(月)"]
PEOPLE = [
    ["H001", "甲村", 3, 2310.5, True, 1, "张三", "男", "户主", "50010119900101123X", dt.datetime(1990, 1, 1), 6],
    ["H001", "甲村", 3, 2310.5, True, 2, "王芳", "女", "配偶", "500101199203041246", dt.datetime(1992, 3, 4), 0],
    ["H001", "甲村", 3, 2310.5, True, 3, "张小明", "男", "之子", "500101201505061257", dt.datetime(2015, 5, 6), None],
    ["H002", "乙村", 1, 4100.0, False, 4, "李四", "男", "户主", "500101195001011236", dt.datetime(1950, 1, 1), 12],
]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d")
    return str(v)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    rows = [HEADER, *PEOPLE]
    out = {
        "xlsx": write_xlsx(d / "r.xlsx", {"花名册": rows}),
        "xls": write_xls(d / "r.xls", {"花名册": rows}),
    }
    csv = "\r\n".join(",".join(_text(v) for v in row) for row in rows) + "\r\n"
    (d / "r.csv").write_bytes(csv.encode("gbk"))
    out["csv"] = d / "r.csv"
    df = pd.DataFrame(PEOPLE, columns=HEADER)
    df["家庭人口数"] = df["家庭人口数"].astype("int64")
    df["务工时间(月)"] = df["务工时间(月)"].astype("float64")
    df.to_parquet(d / "r.parquet", index=False)
    out["parquet"] = d / "r.parquet"
    return out


def _strip(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["_source", "_sheet"])


def test_formats_give_identical_rosters(files):
    rosters = {fmt: read_roster(p) for fmt, p in files.items()}
    base = rosters["xlsx"]
    assert base.sources[0].layout == "member"
    assert base.households["household_id"].tolist() == ["H001", "H002"]
    assert base.households["_row"].tolist() == [2, 5]
    assert base.members["_row"].tolist() == [2, 3, 4, 5]
    assert base.members["birth_date"].tolist()[0] == pd.Timestamp("1990-01-01")
    assert base.households["unsafe_housing"].tolist() == [True, False]
    assert base.members["work_months"].tolist()[:2] == [6.0, 0.0]
    for fmt in ("xls", "csv", "parquet"):
        other = rosters[fmt]
        pd.testing.assert_frame_equal(_strip(other.households), _strip(base.households), obj=f"{fmt} households")
        pd.testing.assert_frame_equal(_strip(other.members), _strip(base.members), obj=f"{fmt} members")
        assert other.source_headers == base.source_headers
        assert other.notes["check"].tolist() == ["read.head_from_members"], fmt
    assert [r.sources[0].format for r in rosters.values()] == ["xlsx", "xls", "csv", "parquet"]
    assert rosters["csv"].sources[0].encoding == "gb18030"
    assert rosters["xls"].sources[0].sheets == ["花名册"] and rosters["csv"].sources[0].sheets == []


def test_xls_merged_cells_and_numeric_ids(tmp_path):
    rows = [
        ["某某县花名册"],
        ["户编号", "户主姓名", "姓名", "与户主关系", "证件号码"],
        ["H001", "张三", "张三", "户主", 500101199001011234],
        [None, None, "王芳", "配偶", "500101199203041246"],
    ]
    merges = [(0, 0, 0, 4, "某某县花名册"), (2, 0, 3, 0, "H001"), (2, 1, 3, 1, "张三")]
    for writer, name in ((write_xls, "m.xls"), (write_xlsx, "m.xlsx")):
        r = read_roster(writer(tmp_path / name, {"S": rows}, {"S": merges}))
        assert r.sources[0].layout == "member-merged", name
        assert r.sources[0].header_rows == [2]
        assert r.members["household_id"].tolist() == ["H001", "H001"]
        assert r.members["_row"].tolist() == [3, 4]
        ids = r.notes[r.notes["check"] == "id.stored_as_number"]
        assert ids["row"].tolist() == [3] and ids["column"].tolist() == ["证件号码"], name


def test_parquet_numeric_id_column_is_stored_as_number(tmp_path):
    df = pd.DataFrame({"户编号": ["H1", "H2"], "户主姓名": ["甲", "乙"], "户主身份证号": [500101199001011234, None]})
    df.to_parquet(tmp_path / "n.parquet", index=False)
    r = read_roster(tmp_path / "n.parquet")
    assert r.households["head_id_number"].isna().all()
    assert r.notes["check"].tolist() == ["id.stored_as_number"]
    assert r.notes["row"].tolist() == [2]
    # pandas wrote the column as float64 (it has a null): the digits are already gone
    assert r.notes["message"].tolist() == ["C2: 身份证号存为数值，精度已丢失：请将该列设为文本后重新录入 (500101********1264)"]


def test_typed_parquet_fraction_in_an_integer_field_is_reported(tmp_path):
    df = pd.DataFrame({"户编号": ["H1", "H2"], "户主姓名": ["甲", "乙"], "家庭人口数": [3.0, 2.5], "是否危房": [True, None]})
    df.to_parquet(tmp_path / "f.parquet", index=False)
    r = read_roster(tmp_path / "f.parquet")
    assert r.households["household_size"].tolist()[0] == 3 and pd.isna(r.households["household_size"].iloc[1])
    assert str(r.households["household_size"].dtype) == "Int64"
    assert r.households["unsafe_housing"].tolist()[0] is True and pd.isna(r.households["unsafe_housing"].iloc[1])
    assert r.notes["message"].tolist() == ["C3: 家庭人口数“2.5”不是有效的整数, 已按空值处理"]
