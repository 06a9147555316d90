"""Inline rosters for the check tests: one clean household, changed one thing at a time."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from fupin_cli.checks import validate
from fupin_cli.idnumber import check_char
from fupin_cli.roster import Roster, SourceInfo

YEAR = 2015
REF = dt.date(2024, 1, 1)
FILE = "花名册.xlsx"
SHEET = "Sheet1"


def make_id(birth: str, seq: int, prefix: str = "500101") -> str:
    first17 = f"{prefix}{birth.replace('-', '')}{seq:03d}"
    return first17 + check_char(first17)


HEAD_ID = make_id("1970-05-01", 11)  # male (odd)
WIFE_ID = make_id("1972-03-08", 22)  # female (even)
SON_ID = make_id("2005-09-01", 31)  # male


def household(**over) -> dict:
    base = {
        "household_id": "H1", "village": "甲村", "head_name": "张三", "head_id_number": HEAD_ID, "household_size": 3,
        "wage_income": 6000.0, "business_income": 2000.0, "property_income": 0.0, "transfer_income": 1000.0,
        "business_expense": 500.0, "net_income": 8500.0, "income_per_capita": 2833.33,
        "recorded_attribute": "一般贫困户", "recorded_primary_cause": "因病", "recorded_secondary_causes": "缺资金",
        "dibao_household": False, "tekun_household": False, "dibao_benefit": 0.0, "tekun_benefit": 0.0,
        "_source": FILE, "_sheet": SHEET, "_row": 3,
    }
    base.update(over)
    return base


def members(hid: str = "H1", first_row: int = 3) -> list[dict]:
    rows = [
        {"name": "张三", "relation": "户主", "sex": "男", "birth_date": "1970-05-01", "id_number": HEAD_ID, "ethnicity": "汉族",
             "education": "小学", "school_status": "非在校生", "health": "长期慢性病", "labour": "普通劳动力",
             "work_status": "省外务工", "work_months": 6.0, "on_dibao": False, "on_tekun": False},
        {"name": "李四", "relation": "配偶", "sex": "女", "birth_date": "1972-03-08", "id_number": WIFE_ID, "ethnicity": "汉族",
             "education": "初中", "school_status": "非在校生", "health": "健康", "labour": "普通劳动力",
             "work_status": "其他", "work_months": 0.0, "on_dibao": False, "on_tekun": False},
        {"name": "张小", "relation": "之子", "sex": "男", "birth_date": "2005-09-01", "id_number": SON_ID, "ethnicity": "汉族",
             "education": "小学", "school_status": "小学", "health": "健康", "labour": "无劳动力",
             "work_status": None, "work_months": 0.0, "on_dibao": False, "on_tekun": False},
    ]
    for i, r in enumerate(rows):
        r.update(household_id=hid, _source=FILE, _sheet=SHEET, _row=first_row + i)
    return rows


MEMBER_TYPES = {"birth_date": "datetime64[ns]", "work_months": "Float64", "on_dibao": "boolean", "on_tekun": "boolean"}
HOUSEHOLD_TYPES = {"household_size": "Int64", "dibao_household": "boolean", "tekun_household": "boolean"}
MONEY = ("wage_income", "business_income", "property_income", "transfer_income", "business_expense", "net_income",
         "income_per_capita", "dibao_benefit", "tekun_benefit")


def _typed(df: pd.DataFrame, types: dict) -> pd.DataFrame:
    for col, t in types.items():
        if col in df.columns:
            df[col] = pd.to_datetime(df[col]) if t.startswith("datetime") else df[col].astype(t)
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].astype("str")
    if "_row" in df.columns:
        df["_row"] = df["_row"].astype("Int64")
    return df


def make_roster(households: list[dict], member_rows: list[dict], headers: dict | None = None,
                drop: tuple[str, ...] = ()) -> Roster:
    hh = _typed(pd.DataFrame(households), {**HOUSEHOLD_TYPES, **{m: "Float64" for m in MONEY}})
    m = _typed(pd.DataFrame(member_rows), MEMBER_TYPES) if member_rows else pd.DataFrame({"household_id": pd.Series(dtype="str")})
    hh = hh.drop(columns=[c for c in drop if c in hh.columns])
    m = m.drop(columns=[c for c in drop if c in m.columns])
    src = SourceInfo(path=FILE, name=FILE, sha256="0" * 64, format="xlsx", sheets=[SHEET], layout="member")
    return Roster(hh, m, sources=[src], source_headers=dict(headers or {}))


def run(households=None, member_rows=None, headers=None, drop=(), year=YEAR, **kw) -> pd.DataFrame:
    households = [household()] if households is None else households
    member_rows = members() if member_rows is None else member_rows
    return validate(make_roster(households, member_rows, headers, drop), year, ref_date=REF, **kw)


def only(findings: pd.DataFrame, check: str) -> list[tuple]:
    """(severity, row, column, household_id, message) of one check's findings."""
    f = findings[findings["check"] == check]
    return [(r.severity, None if pd.isna(r.row) else int(r.row), r.column, r.household_id, r.message)
            for r in f.itertuples(index=False)]
