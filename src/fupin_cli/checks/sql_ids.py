"""GB 11643 ID numbers in SQL: the verdicts of :func:`fupin_cli.idnumber.check_series` and the messages of
:func:`fupin_cli.idnumber.check_id` (numbers masked as :func:`fupin_cli.idnumber.mask`).

:func:`id_table` creates a table ``(pos, normalised, valid, problem, birth_date, sex, kind, upgraded,
message)`` over one text column of a relation; tests/test_checks_sql.py holds it to ``idnumber`` on
random, published valid and invalid numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fupin_cli import idnumber

_ODD = r"[^!-~]|^'"  # values _clean_series cleans one by one (non-ASCII, whitespace, a leading ')


def _mask(expr: str) -> str:
    from fupin_cli.checks.sql import mask

    return mask(expr)


def _digit(n: str, width: int, i: int) -> str:
    """The digit at 1-based position ``i`` of the ``width``-digit number ``n`` (integer arithmetic: faster than substr)."""
    return f"(({n} // {10 ** (width - i)}) % 10)"


def _digits(n: str, width: int, i: int, k: int) -> str:
    """The ``k`` digits from 1-based position ``i`` of the ``width``-digit number ``n``, as an integer."""
    return f"(({n} // {10 ** (width - i - k + 1)}) % {10 ** k})"


def _check_char(weighted: str) -> str:
    return f"substr('{idnumber.CHECK_CHARS}', CAST(({weighted}) % 11 AS INTEGER) + 1, 1)"


def _days_ok(y: str, m: str, d: str, ref: dt.date) -> str:
    leap = f"(({y}) % 4 = 0 AND (({y}) % 100 <> 0 OR ({y}) % 400 = 0))"
    dim = (f"CASE WHEN {m} IN (1, 3, 5, 7, 8, 10, 12) THEN 31 WHEN {m} IN (4, 6, 9, 11) THEN 30 "
           f"WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END ELSE 0 END")
    ref_int = ref.year * 10000 + ref.month * 100 + ref.day
    return (f"({m} BETWEEN 1 AND 12 AND {d} >= 1 AND {d} <= ({dim}) AND {y} >= {idnumber.MIN_BIRTH_YEAR} "
            f"AND ({y}) * 10000 + ({m}) * 100 + ({d}) <= {ref_int})")


def id_table(con: Any, name: str, source: str, pos: str, column: str, ref_date: dt.date) -> None:
    """``CREATE TABLE name`` with the ID verdicts of ``source.column`` keyed by ``pos``."""
    from fupin_cli.checks.sql import lit, q

    raw = f"CAST({q(column)} AS VARCHAR)"
    # the rare values the reader's clean() folds (full-width, spaces, a leading '): once per distinct value
    odd = con.sql(f"SELECT DISTINCT {raw} AS k FROM {source} WHERE regexp_matches({raw}, {lit(_ODD)})").fetchall()
    pairs = ", ".join(f"({lit(k)}, {lit(idnumber.clean(k))})" for (k,) in odd) or "(NULL, NULL)"
    w = idnumber.WEIGHTS
    # n18: the first 17 digits of an 18-character core as a number; n15: a 15-digit number
    sum18 = " + ".join(f"{_digit('n18', 17, i + 1)} * {w[i]}" for i in range(17))
    # 15 digits with "19" inserted after the 6th: weights 1..6, then 19 (positions 7, 8), then 9..17
    w15 = [*w[:6], *w[8:]]
    sum15 = " + ".join(f"{_digit('n15', 15, i + 1)} * {w15[i]}" for i in range(15)) + f" + {1 * w[6] + 9 * w[7]}"
    y18, m18, d18 = _digits("n18", 17, 7, 4), _digits("n18", 17, 11, 2), _digits("n18", 17, 13, 2)
    y15, m15, d15 = f"(1900 + {_digits('n15', 15, 7, 2)})", _digits("n15", 15, 9, 2), _digits("n15", 15, 11, 2)
    excel_re = r"[0-9]+(\.[0-9]+E\+?[0-9]+|E\+?[0-9]+|\.[0-9]+)"
    body_re = r"[0-9]+X?|[0-9]{17}X[0-9]+"
    m = _mask("s")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
WITH a AS (
  SELECT pos, raw, nullif(CASE WHEN o.k IS NOT NULL THEN o.v ELSE upper(raw) END, '') AS s
  FROM (SELECT {pos} AS pos, {raw} AS raw FROM {source}) AS r LEFT JOIN (VALUES {pairs}) AS o(k, v) ON o.k = r.raw
), b AS (
  SELECT *, coalesce(regexp_full_match(s, '[0-9]{{17}}[0-9X]'), false) AS core0, length(s) AS n,
         coalesce(regexp_full_match(s, {lit(excel_re)}), false) AS excel,
         coalesce(regexp_full_match(s, {lit(body_re)}), false) AND NOT coalesce(regexp_full_match(s, {lit(excel_re)}), false) AS body_ok,
         coalesce(suffix(s, 'X'), false) AS ends_x
  FROM a
), c AS (
  SELECT *, body_ok AND n IN (20, 22) AS dis FROM b
), d AS (
  SELECT *, s IS NOT NULL AND (core0 OR (dis AND NOT ends_x)) AS core,
         s IS NOT NULL AND NOT core0 AND body_ok AND n = 15 AND NOT ends_x AS is15
  FROM c
), dn AS (
  SELECT *, CASE WHEN core THEN TRY_CAST(substr(s, 1, 17) AS BIGINT) END AS n18,
         CASE WHEN is15 THEN TRY_CAST(s AS BIGINT) END AS n15
  FROM d
), e AS (
  SELECT *,
    CASE WHEN core THEN {_check_char(sum18)} END AS expected,
    CASE WHEN core THEN {_days_ok(y18, m18, d18, ref_date)} END AS ok18,
    CASE WHEN is15 THEN {_days_ok(y15, m15, d15, ref_date)} END AS ok15,
    CASE WHEN is15 THEN {_check_char(sum15)} END AS check15
  FROM dn
), f AS (
  SELECT *,
    CASE
      WHEN s IS NULL THEN 'missing'
      WHEN core THEN CASE
        WHEN substr(s, 18, 1) <> expected AND n = 18 AND substr(s, 16, 3) = '000' THEN 'excel_number'
        WHEN NOT ok18 THEN 'birth_date'
        WHEN substr(s, 18, 1) <> expected THEN 'checksum'
        WHEN n = 18 THEN '' ELSE 'disability' END
      WHEN is15 THEN CASE WHEN ok15 THEN 'upgraded_15' ELSE 'birth_date' END
      WHEN excel THEN 'excel_number'
      WHEN NOT body_ok THEN 'characters'
      WHEN ends_x AND (n = 15 OR dis) THEN 'characters'
      WHEN n NOT IN (15, 18, 20, 22) THEN 'length'
      ELSE '' END AS problem
  FROM e
)
SELECT pos, raw,
  CASE WHEN is15 AND ok15 THEN substr(s, 1, 6) || '19' || substr(s, 7) || check15 ELSE s END AS normalised,
  problem IN ('', 'upgraded_15', 'disability') AS valid,
  problem,
  CASE WHEN core AND ok18 THEN CAST(make_date({y18}, {m18}, {d18}) AS TIMESTAMP)
       WHEN is15 AND ok15 THEN CAST(make_date({y15}, {m15}, {d15}) AS TIMESTAMP) END AS birth_date,
  CASE WHEN core THEN CASE WHEN n18 % 2 = 1 THEN '男' ELSE '女' END
       WHEN is15 THEN CASE WHEN n15 % 2 = 1 THEN '男' ELSE '女' END END AS sex,
  CASE WHEN core AND n = 18 THEN 'resident' WHEN is15 AND ok15 THEN 'resident' WHEN dis THEN 'disability' ELSE '' END AS kind,
  coalesce(is15 AND ok15, false) AS upgraded,
  CASE problem
    WHEN 'excel_number' THEN CASE WHEN excel THEN '证件号码 ' || {m} || ' 是数字格式（Excel 只保留 15 位有效数字，后几位已丢失）'
                                  ELSE '证件号码 ' || {m} || ' 末三位为 000 且校验位不符，疑似 Excel 数字格式丢失了末位' END
    WHEN 'characters' THEN CASE WHEN dis THEN '残疾证号码 ' || {m} || ' 末尾应为数字'
                                ELSE '证件号码 ' || {m} || ' 含数字和末位 X 以外的字符' END
    WHEN 'length' THEN '证件号码 ' || {m} || ' 有 ' || n || ' 位（应为 18 位，旧证 15 位，残疾证 20/22 位）'
    WHEN 'birth_date' THEN CASE WHEN is15 THEN '15 位证件号码 ' || {m} || ' 中的出生日期 19' || substr(s, 7, 6) || ' 无效'
                                ELSE CASE WHEN n = 18 THEN '证件号码 ' ELSE '残疾证号码 ' END || {m} || ' 中的出生日期 ' || substr(s, 7, 8) || ' 无效' END
    WHEN 'checksum' THEN CASE WHEN n = 18 THEN '证件号码 ' ELSE '残疾证号码 ' END || {m}
                         || ' 校验位错误（按前 17 位应为 ' || expected || '，请核对整个号码）'
    WHEN 'disability' THEN '残疾证号码 ' || {m} || '（' || n || ' 位，前 18 位为身份证号码）'
    WHEN 'missing' THEN '{idnumber.PROBLEM_LABELS_ZH["missing"]}'
    WHEN 'upgraded_15' THEN '15 位旧证件号码 ' || {_mask('raw')} || '，已升级为 18 位 '
                            || {_mask("substr(s, 1, 6) || '19' || substr(s, 7) || check15")}
  END AS message
FROM f""")
