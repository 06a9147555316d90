"""validate's checks as SQL (checks/sql.py) against the pandas checks (checks.validate).

The same findings — every row, in the same order after concat_findings's sort, every field and text — on the
bundled Parquet/CSV samples, generated rosters of both layouts (clean and messy), and the adversarial
Parquet/CSV inputs the scan accepts.  GB 11643 in SQL (checks/sql_ids.py) against idnumber.check_series and
check_id's messages on random, published valid and invalid numbers.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")

from fupin_cli import idnumber  # noqa: E402
from fupin_cli.checks import BUILTIN_CHECKS, validate  # noqa: E402
from fupin_cli.checks.sql import _name, validate_scanned  # noqa: E402
from fupin_cli.checks.sql_families import SQL_VERSIONS  # noqa: E402
from fupin_cli.checks.sql_ids import id_table  # noqa: E402
from fupin_cli.core.identify_sql import _fetch  # noqa: E402
from fupin_cli.errors import FupinError  # noqa: E402
from fupin_cli.io.read import read_roster  # noqa: E402
from fupin_cli.io.scan import Unsupported, scan_roster  # noqa: E402
from fupin_cli.io.write_roster import write_roster  # noqa: E402
from fupin_cli.samples import generate_roster  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REF = dt.date(2026, 12, 3)


def both(p: Path, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    want = validate(read_roster([p]), year, ref_date=REF)
    con = duckdb.connect()
    scan = scan_roster(con, [p])
    got = validate_scanned(con, scan, year, lambda t, cols: _fetch(con, scan, t, cols), ref_date=REF).findings
    return want, got


def assert_same_findings(want: pd.DataFrame, got: pd.DataFrame) -> None:
    a, b = want.astype(object), got.astype(object)
    a, b = a.where(a.notna(), None), b.where(b.notna(), None)
    assert list(a.columns) == list(b.columns)
    ra, rb = a.apply(tuple, axis=1).tolist(), b.apply(tuple, axis=1).tolist()
    assert sorted(set(ra) - set(rb), key=str)[:5] == [] and sorted(set(rb) - set(ra), key=str)[:5] == []
    assert ra == rb  # same order too


def test_every_builtin_check_has_a_sql_version():
    """A new check function without one still runs (on a pandas frame of its module's columns, named in
    ``pandas_checks``), but the SQL path is meant to cover them all: write its SQL version beside it."""
    assert [_name(fn) for fn in BUILTIN_CHECKS if fn not in SQL_VERSIONS] == []


def test_a_check_without_sql_runs_on_pandas_frames(tmp_path):
    roster, _ = generate_roster(120, seed=11, year=2015, messy=True)
    p = tmp_path / "m.parquet"
    write_roster(roster, p, layout="member")
    con = duckdb.connect()
    scan = scan_roster(con, [p])
    names = ["ids.duplicate_persons", "household.heads_and_spouses", "income.net_income"]
    out = validate_scanned(con, scan, 2015, lambda t, cols: _fetch(con, scan, t, cols), ref_date=REF, force_pandas=names)
    assert out.pandas_checks == names
    assert_same_findings(validate(read_roster([p]), 2015, ref_date=REF), out.findings)


@pytest.mark.parametrize("name, year", [("roster-clean.parquet", 2015), ("roster-clean-gbk.csv", 2015)])
def test_bundled_samples(name, year):
    assert_same_findings(*both(ROOT / "samples" / name, year))


@pytest.mark.parametrize("layout, fmt, messy, seed", [
    ("member", "parquet", True, 11), ("household", "csv", True, 11), ("member", "csv", False, 5), ("household", "parquet", False, 5),
    pytest.param("member", "csv", True, 21, marks=pytest.mark.slow), pytest.param("household", "parquet", True, 21, marks=pytest.mark.slow),
    pytest.param("member", "parquet", True, 33, marks=pytest.mark.slow),
])
def test_generated_rosters(tmp_path, layout, fmt, messy, seed):
    roster, _ = generate_roster(300, seed=seed, year=2015, messy=messy)
    p = tmp_path / f"r.{fmt}"
    write_roster(roster, p, layout=layout)
    want, got = both(p, 2015)
    if messy:
        assert (want["severity"] == "error").any()
    assert_same_findings(want, got)


QUICK = ("good.csv", "good.parquet", "gbk.csv", "utf16le_bom.csv", "escape_codes.csv", "income_half_yuan.csv")


@pytest.mark.parametrize("which", [pytest.param(QUICK, id="quick"), pytest.param(None, id="all", marks=pytest.mark.slow)])
def test_adversarial_parquet_and_csv_inputs(tmp_path, which):
    sys.path.insert(0, str(ROOT / "tests" / "adversarial"))
    from generate import cases

    compared = 0
    for case in cases():
        if not case.name.endswith((".csv", ".parquet")) or (which is not None and case.name not in which):
            continue
        p = tmp_path / case.name
        case.make(p)
        try:
            read_roster([p])
            con = duckdb.connect()
            scan_roster(con, [p])
        except (FupinError, Unsupported):
            continue  # the reader refuses it, or the scan hands it to the pandas reader
        assert_same_findings(*both(p, 2015))
        compared += 1
    assert compared >= (10 if which is None else 4)


# ---- GB 11643 ------------------------------------------------------------------------------------
PUBLISHED = ["11010519491231002X", "360426199101010071", "120103198806018241", "110105491231002", "11010519491231002x",
             "１１０１０５１９４９１２３１００２Ｘ", " 110105 19491231 002X ", "'11010519491231002X", "11010519491231002Ｘ\u3000",
             "1101051949123100", "11010519491231002X1", "110105491231002X", "0X", "X", "11010519491231X02X", "11010519491231002Y",
             "11010549123100X", "身份证110105194912", "1101051949123100231X", "11010519491231002X12", "11010519491231002X1234",
             "11010519491231002312", "110105199913310021", "5.00101E+17", "500101199001011000", "500101199001011000.0", "", "   ", None]


def _random_ids(n: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    out: list[str | None] = []
    for _ in range(n):
        body = f"{rng.randint(110000, 659999)}{rng.randint(1890, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        good = body + idnumber.check_char(body)
        out.append(rng.choice([
            good, good, body + rng.choice("0123456789X"), good[:6] + good[8:17], good + str(rng.randint(10, 99)),
            good + str(rng.randint(1000, 9999)), good[:-1] + "x", body[:15] + "000", good + ".0", " " + good,
            "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in good), good[: rng.randint(0, 17)],
            good[:10] + "A" + good[11:], "'" + good, good[:14] + "X", good + "9X", None, good[:17] + "X12",
        ]))
    return out


def test_id_numbers_in_sql_agree_with_idnumber():
    values = PUBLISHED + _random_ids(5000, 7)
    s = pd.Series(pd.array(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    want = idnumber.check_series(s, REF)
    con = duckdb.connect()
    con.register("t", pd.DataFrame({"pos": range(len(values)), "v": values}))
    id_table(con, "ids", "t", "pos", "v", REF)
    got = con.sql("SELECT * FROM ids ORDER BY pos").df()
    for col in ("normalised", "valid", "problem", "sex", "kind", "upgraded"):
        a = want[col].astype(object).where(want[col].notna(), None).tolist()
        b = got[col].astype(object).where(got[col].notna(), None).tolist()
        assert a == b, (col, [(values[i], x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y][:3])
    assert (want["birth_date"].fillna(pd.Timestamp(0)) == pd.to_datetime(got["birth_date"]).fillna(pd.Timestamp(0))).all()
    for v, problem, message in zip(values, got["problem"], got["message"]):
        if problem in ("", "upgraded_15"):
            continue
        assert message == idnumber.check_id(v, REF).problems[0][1], v
    # never a full number in a message (idnumber.mask)
    assert not got["message"].fillna("").str.contains(idnumber._ID_LIKE).any()
    assert "11010519491231002X" not in " ".join(got["message"].fillna(""))


def _planted(seed: int):
    """A generated roster with random values in the columns the 低保/特困, 致贫原因, 帮扶责任人, 脱贫户 and work
    checks read, so that each of their conditions fires on some rows and not on others."""
    roster, _ = generate_roster(200, seed=seed, year=2015)
    rng = np.random.default_rng(seed)
    h, m = roster.households.copy(), roster.members.copy()

    def pick(values, n):
        return [values[i] for i in rng.integers(0, len(values), n)]

    nh, nm = len(h), len(m)
    names = m["name"].astype(object).tolist()
    ids = m["id_number"].astype(object).tolist()
    h["exit_status"] = pick([None, "已脱贫", "未脱贫", "脱贫"], nh)
    h["recorded_attribute"] = pick([None, "一般农户", "一般贫困户", "低保贫困户", "特困供养贫困户", "脱贫户"], nh)
    for c in ("unsafe_housing", "water_difficulty", "dibao_household", "tekun_household", "safe_water", "food_clothing_secure"):
        h[c] = pd.array(pick([True, False, False, None], nh), dtype="boolean")
    for c, vals in (("dibao_benefit", [0.0, 50.0, 300.0, None]), ("tekun_benefit", [0.0, 80.0, 2400.0, None]),
                    ("eco_compensation", [0.0, 100.0]), ("grain_for_green", [0.0, 1.5])):
        h[c] = pd.array(pick(vals, nh), dtype="Float64")
    h["responsible_person"] = pick([*names[:40], None, "王某"], nh)
    h["responsible_id_number"] = pick([*ids[:40], None], nh)
    h["recorded_primary_cause"] = pick(["因病", "因残", "因学", "缺劳力", "缺资金", None], nh)
    h["recorded_secondary_causes"] = pick(["因病、缺技术", "缺资金", None, "因学,因残", "缺劳力"], nh)
    for c in ("on_dibao", "on_tekun", "dropout", "critical_illness_insurance"):
        m[c] = pd.array(pick([True, False, False, False, None], nm), dtype="boolean")
    m["health"] = pick(["健康", "健康", "残疾", "患有大病", "长期慢性病", None], nm)
    m["labour"] = pick(["普通劳动力", "无劳动力", "丧失劳动力", "技能劳动力", None], nm)
    m["school_status"] = pick(["非在校生", "非在校生", "小学", "七年级", "高中一年级", None], nm)
    m["disability_cert"] = pick([None, None, "12345678901234567811"], nm)
    heads = m.index[m["relation"].astype(object) == "户主"]
    m.loc[heads[1], "id_number"] = m.loc[heads[0], "id_number"]  # one person head of two households
    first = m.index[m["household_id"] == m.loc[heads[2], "household_id"]]
    m.loc[first[1], "id_number"] = m.loc[first[0], "id_number"]  # one person twice in a household
    if "head_id_number" in h.columns:
        h.loc[h.index[1], "head_id_number"] = h.loc[h.index[0], "head_id_number"]
    return roster.__class__(h, m, sources=roster.sources)


@pytest.mark.parametrize("layout, fmt, seed", [("member", "parquet", 1), ("household", "csv", 2),
                                              pytest.param("member", "csv", 3, marks=pytest.mark.slow)])
def test_planted_values_fire_the_same_findings(tmp_path, layout, fmt, seed):
    p = tmp_path / f"p.{fmt}"
    write_roster(_planted(seed), p, layout=layout)
    want, got = both(p, 2015)
    fired = set(want["check"])
    expected = {"id.duplicate_household", "cause.secondary_repeats_primary", "exit.unsolved_guarantees", "assist.both_benefits", "assist.dibao_no_benefit"}
    if layout == "member":
        expected |= {"id.duplicate_member", "assist.responsible_is_poor", "cause.disabled_nobody", "assist.dibao_no_member", "assist.member_dibao_not_household", "assist.tekun_labourer", "cause.labour_shortage_with_labourers"}
    assert expected <= fired, expected - fired
    assert_same_findings(want, got)
