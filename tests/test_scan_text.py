"""io.scan types text through the reader's own functions once per distinct value (fold, ID cleaning): the
scanned roster must equal read_roster's on text that folding, trimming and ID cleaning change (full-width
letters and digits, leading/trailing and ideographic spaces, lower-case x) beside text they leave as it is,
for member values and for the household values taken from each household's first row."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

duckdb = pytest.importorskip("duckdb")

from fupin_cli.io.read import read_roster  # noqa: E402
from fupin_cli.io.scan import HH, MEM, MROW, ROW, scan_roster  # noqa: E402

NAMES = ["张三", " 李四", "王五\u3000", "ＡＢＣ", "Tom Lee", "赵\t六", "钱七 ", "", "孙（八）", "周九"]
IDS = ["500230199001011234", "50023019900101123x", " 500230199001011236", "５００２３０１９９００１０１１２３７",
       "500230199001011238", "500230900101123", "500230 199001011239", "50023019900101124X", None, "500230199001011241"]
ADDR = ["重庆市丰都县", "重庆市丰都县１号", " 重庆市", "重庆市\n丰都县", "No.5 Road", "重庆市丰都县",
        "丰都县  ", "重庆", "重庆市（丰都）", "丰都"]


def test_scanned_text_equals_the_readers(tmp_path):
    n = len(NAMES)
    table = pa.table({
        "户编号": [f"50023000100100{i // 2:02d}" for i in range(n)],
        "与户主关系": ["户主" if i % 2 == 0 else "配偶" for i in range(n)],
        "姓名": NAMES,
        "证件号码": IDS,
        "家庭人口数": [2] * n,
        "家庭住址": [ADDR[i - i % 2] for i in range(n)],  # a household value: the same on both rows
        "人均纯收入": [2000.0 + 100 * (i // 2) for i in range(n)],
    })
    path = tmp_path / "r.parquet"
    pq.write_table(table, path)
    roster = read_roster([path])
    con = duckdb.connect()
    scan = scan_roster(con, [path])
    mem = con.sql(f"SELECT name, id_number FROM {MEM} ORDER BY {MROW}").df()
    hh = con.sql(f"SELECT address, head_name, head_id_number FROM {HH} ORDER BY {ROW}").df()
    assert scan.n_members == n

    def same(got: pd.Series, want: pd.Series) -> None:
        a = got.astype(object).where(got.notna(), None).tolist()
        b = want.astype(object).where(want.notna(), None).tolist()
        assert a == b

    same(mem["name"], roster.members["name"].reset_index(drop=True))
    same(mem["id_number"], roster.members["id_number"].reset_index(drop=True))
    for col in ("address", "head_name", "head_id_number"):
        same(hh[col], roster.households[col].reset_index(drop=True))
    # the values were really changed by the reader
    assert "ABC" in set(mem["name"]) and "李四" in set(mem["name"]) and "500230199001011237" in set(mem["id_number"])
