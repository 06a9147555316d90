"""A roster scanned into an in-process DuckDB (``fupin identify --engine duckdb``, experimental).

:func:`scan_roster` reads one Parquet, CSV, .xlsx or .xls roster into two DuckDB tables with the reader's
canonical, typed columns — ``__hh`` (one row per household, ``__row`` = position) and ``__mem``
(one row per member, ``__mrow``) — without pandas frames of the roster:

* **Header**: the reader's own grid and :func:`~fupin_cli.io.excel.find_header` (with the column map
  of ``--columns``) on the first rows only.
* **Values**: Parquet is scanned by DuckDB (``read_parquet``, the matched columns only). A typed
  Parquet column whose type fits the field's kind is used as stored (the reader's
  ``typed_values`` rules: numbers finite and whole for integers, the unit factor, the polarity);
  every other column goes through the reader's *own* functions (``typed_as_text``, ``fold``,
  ``normalise_column``: 是/否, graded 危房, units, code tables, dates) once per **distinct** value,
  and the typed values come back as a lookup table joined in SQL.  Nothing of the vocabulary is
  written twice.  CSV is parsed by the reader (its encoding detection and pyarrow's parser) and
  handed to DuckDB as Arrow.  Workbooks: the reader's own sheet choice (``read.excel_sheets``:
  ``--sheet``, or every visible sheet with a roster header, one per village …) and grids
  (``read_xlsx.Workbook``: fastexcel's Arrow text of every cell, ``header_row=None``, and the one
  pass over the sheet XML for merged ranges and ID cells stored as numbers); merged cells are filled
  from their range's top-left cell by an Arrow ``take`` and the body goes to DuckDB as Arrow — no
  pandas roster, no Python per cell.  Several sheets are scanned one by one and concatenated as the
  reader concatenates them.
* **Rows**: the reader's row checks (blank rows, 合计/小计 rows, repeated headers, 序号 as text on a
  row naming nobody) are decided once per distinct value like the typing; those rows are dropped with
  the reader's notes, and a member row with a blank 户编号 joins the household above only up to such a
  row, as ``read_layout.household_keys`` does.
* **Layout**: the reader's ``layout_evidence`` decides household- or member-level rows; member
  rows become households in one ``GROUP BY`` (first non-blank value per household in sheet order).

What this path does not handle raises :class:`Unsupported` with the reason, and the caller falls
back to the pandas reader (never a different answer): several files, ``--sheet`` with a Parquet/CSV
roster, a household sheet beside a member sheet (two-sheet rosters), the same 户编号 in two sheets,
member rows without 户编号 and no household above them, household values that differ between a
household's rows, ID numbers stored as numbers (typed Parquet columns or Excel number cells: the
reader's ``id.stored_as_number`` errors), non-finite or fractional numbers in typed integer columns,
a unit factor on a typed integer column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from fupin_cli.core.identify_sql import FastPathUnsupported
from fupin_cli.findings import concat_findings, empty_findings
from fupin_cli.roster import SourceInfo
from fupin_cli.schema import (
    FIELDS,
    HOUSEHOLD_FIELD_NAMES,
    HOUSEHOLD_MEANING,
    MEMBER_FIELD_NAMES,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    SOURCE_SHEET,
)

HH, MEM = "__hh", "__mem"
SRC = "__src"
XL = "__xl"  # a sheet's body as Arrow, registered for the view __src
ROW, MROW = "__row", "__mrow"


class Unsupported(FastPathUnsupported):
    """The roster needs something only the pandas reader does (the message says what)."""


@dataclass
class Scan:
    """The roster as DuckDB tables (see the module docstring)."""

    con: Any
    household_columns: list[str]  # canonical household fields + passthrough + provenance, in the reader's order
    member_columns: list[str]  # household_id + member fields + passthrough + provenance (empty: household layout)
    kinds: dict[str, str]  # column → schema kind ("str" for passthrough / provenance text)
    sources: list[SourceInfo]
    notes: pd.DataFrame
    n_households: int
    n_members: int
    passthrough: list[str] = field(default_factory=list)
    source_headers: dict[str, str] = field(default_factory=dict)
    unmatched: list = field(default_factory=list)

    @property
    def layout(self) -> str:
        return self.sources[0].layout if self.sources else ""


def q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


MEMORY_LIMIT = "1GB"  # DuckDB's own memory for a scanned roster's run; beyond it, tables and sorts spill to disk


def connect(memory_limit: str | None = None) -> Any:
    """An in-process DuckDB for a scanned roster's run: its memory bounded (``memory_limit``, default
    ``FUPIN_DUCKDB_MEMORY`` or :data:`MEMORY_LIMIT`; DuckDB's own default is 80% of the machine's RAM, and a
    1M-household roster's tables reached 7 GB) with a private temporary folder to spill to (removed at exit)."""
    import atexit
    import shutil
    import tempfile

    import duckdb

    spill = tempfile.mkdtemp(prefix="fupin-duckdb-")
    atexit.register(shutil.rmtree, spill, True)
    limit = memory_limit or os.environ.get("FUPIN_DUCKDB_MEMORY") or MEMORY_LIMIT
    return duckdb.connect(config={"memory_limit": limit, "temp_directory": spill})


def scan_roster(con: Any, paths: Sequence[str | os.PathLike[str]], *, sheet: str | None = None, encoding: str | None = None,
                columns: Any = None) -> Scan:
    """Scan ``paths`` (one Parquet/CSV roster) into ``con``; :class:`Unsupported` when the pandas reader is needed."""
    from fupin_cli.io.read import _check_path, _sha256

    if len(paths) != 1:
        raise Unsupported("several roster files")
    p = Path(paths[0])
    fmt = _check_path(p)
    info = SourceInfo(path=str(p), name=p.name, sha256=_sha256(p), format=fmt)
    if fmt in ("xlsx", "xls"):
        scan = _scan_workbook(con, p, fmt, sheet, columns, info)
    else:
        if sheet is not None:
            raise Unsupported(f"--sheet with a {fmt} roster")
        matcher = columns.matcher(p.name, "") if columns is not None else None
        grid, header, types = _header(con, p, fmt, encoding, matcher, info)
        scan = _scan_sheet(con, grid, header, types, fmt, info)
    _implausible_notes(con, scan)
    _finish_notes(scan, columns)
    return scan


def _scan_sheet(con, grid, header, types: dict, fmt: str, info: SourceInfo, merged: set[int] | None = None) -> Scan:
    """One sheet (or the Parquet/CSV file) whose source is the table ``__src``: typed, skipped rows dropped, laid out."""
    from types import SimpleNamespace

    from fupin_cli.io.guard import formula_notes

    cell_notes: list[pd.DataFrame] = []
    typed = _typed_table(con, grid, header, types, grid.height - header.data_start, fmt, cell_notes)
    typed.merged = {typed.names[i] for i in (merged or set())}
    notes = _skip_rows(con, grid, header, typed, cell_notes)
    notes.extend(formula_notes(SimpleNamespace(grid=grid, header=header)))  # untrusted formula cells (read._assemble)
    from fupin_cli.io.read import _match_notes

    table: Any = SimpleNamespace(grid=grid, header=header)  # what _match_notes reads of a read_layout.Table
    notes.extend(_match_notes([table], info.name))  # columns read inverted or with a unit
    return _layout(con, grid, header, typed, info, notes)


def _implausible_notes(con, scan: Scan) -> None:
    """The reader's ``guard.implausible_notes`` (per-capita income under 10 yuan), on the few rows it concerns."""
    from fupin_cli.io.guard import IMPLAUSIBLE_INCOME, INCOME_FIELDS, implausible_notes

    present = [f for f in INCOME_FIELDS if f in scan.household_columns]
    if not present:
        return
    cond = " OR ".join(f"(CAST({q(f)} AS DOUBLE) > 0 AND CAST({q(f)} AS DOUBLE) < {IMPLAUSIBLE_INCOME!r})" for f in present)
    cols = [c for c in ("household_id", *present, SOURCE_SHEET, SOURCE_ROW) if c in scan.household_columns]
    from fupin_cli.core.identify_sql import _frame

    rows = _frame(con.sql(f"SELECT {', '.join(q(c) for c in cols)} FROM {HH} WHERE {cond} ORDER BY {ROW}").to_arrow_table(), scan.kinds)
    if len(rows):
        scan.notes = concat_findings([scan.notes, *implausible_notes(rows, scan.sources[0].name)])


# ---------------------------------------------------------------------------------------
# header and source
# ---------------------------------------------------------------------------------------
def _header(con, p: Path, fmt: str, encoding, matcher, info: SourceInfo):
    from fupin_cli.io.excel import find_header
    from fupin_cli.io.guard import check_grid

    if fmt == "parquet":
        import pyarrow.parquet as pq

        from fupin_cli.io.read_grid import Grid, frame_from_arrow
        from fupin_cli.io.read_text import HEAD_ROWS, _as_text

        try:
            pf = pq.ParquetFile(p)
            schema = pf.schema_arrow
            n_rows = pf.metadata.num_rows
        except (pa.ArrowException, OSError):
            raise Unsupported("a Parquet file pyarrow cannot open (the reader says why)") from None
        names = [n for n in schema.names if not n.startswith("__index_level_")]
        if not names or len(set(names)) < len(names):
            raise Unsupported("a Parquet file without columns or with repeated column names")
        # the names row and the first rows as text, rendered as read_text.read_parquet_grid renders them
        # (DuckDB reads only these rows; pyarrow would decode the whole first row group)
        first = con.sql(f"SELECT {', '.join(q(n) for n in names)} FROM read_parquet({lit(str(p))}) LIMIT {HEAD_ROWS}").to_arrow_table()
        try:
            first = first.cast(pa.schema([pa.field(n, schema.field(n).type) for n in names]))
        except (pa.ArrowException, ValueError):
            raise Unsupported("Parquet column types DuckDB returns differently (the reader renders them)") from None
        heads = [pa.concat_arrays([pa.array([n], type=pa.large_string()), _as_text(first.column(i))[0]]) for i, n in enumerate(names)]
        grid = Grid(p.name, "", frame_from_arrow(heads), n_rows=n_rows + 1)
        check_grid(grid)
        header = find_header(grid, matcher)
        if header.data_start != 1:
            raise Unsupported("a Parquet file whose header is not its column names")
        types = {i: schema.field(n).type for i, n in enumerate(names)}
        cols = ", ".join(f"{q(names[c.index])} AS {q('c' + str(c.index))}" for c in header.columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {SRC} AS SELECT file_row_number AS __i, {cols} "
                    f"FROM read_parquet({lit(str(p))}, file_row_number = true)")
        return grid, header, types
    from fupin_cli.io.read_text import read_csv_grid

    grid, info.encoding = read_csv_grid(p, encoding)
    if not grid.lean:
        raise Unsupported("a CSV file the reader parses line by line (another encoding or ragged rows)")
    check_grid(grid)
    header = find_header(grid, matcher)
    start = header.data_start
    data = {"__i": pa.array(np.arange(grid.height - start, dtype=np.int64))}
    for c in header.columns:
        data[f"c{c.index}"] = cast(Callable[[int], Any], grid.column_source)(c.index).slice(start - grid.source_start)  # a lean grid has one
        grid.release_column(c.index)
    table = pa.table(data)
    con.register("__csv", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SRC} AS SELECT * FROM __csv")
    con.unregister("__csv")
    return grid, header, {c.index: pa.large_string() for c in header.columns}


def _scan_workbook(con, p: Path, fmt: str, sheet: str | None, columns: Any, info: SourceInfo) -> Scan:
    """An .xlsx/.xls roster: the reader's own sheet choice (``read.excel_sheets``: --sheet, or every visible sheet
    with a roster header) and grids (``read_xlsx.Workbook``: fastexcel's Arrow text, merges, numeric ID cells from
    its one pass over the sheet XML); each sheet's cells go to DuckDB as Arrow, the sheets' tables concatenated."""
    import dataclasses

    from fupin_cli.io.read import excel_sheets, sheet_notes

    def matcher(name: str):
        return columns.matcher(p.name, name) if columns is not None else None

    sheets, skipped = excel_sheets(p, fmt, sheet, None, matcher)
    info.skipped_sheets = skipped
    parts: list[tuple[Scan, SourceInfo]] = []
    for k, (grid, header) in enumerate(sheets):
        part = dataclasses.replace(info)
        merged = _grid_source(con, grid, header)
        scan = _scan_sheet(con, grid, header, {c.index: pa.large_string() for c in header.columns}, fmt, part, merged)
        if len(sheets) > 1:
            con.execute(f"ALTER TABLE {HH} RENAME TO {HH}_{k}")
            con.execute(f"ALTER TABLE {MEM} RENAME TO {MEM}_{k}")
        parts.append((scan, part))
    extra = sheet_notes(p.name, [g.sheet for g, _ in sheets], skipped)
    if len(parts) == 1:
        scan = parts[0][0]
        scan.notes = concat_findings([scan.notes, *extra])
        return scan
    return _concat_sheets(con, parts, info, extra)


def _grid_source(con, grid, header) -> set[int]:
    """``__src``: the sheet's body rows (header columns as ``c<index>``, merged cells filled from their range's
    top-left cell as ``build_table`` fills them), straight from fastexcel's Arrow arrays.  ID cells stored as
    numbers (the reader's ``id.stored_as_number`` errors) are refused.  Returns the columns with merges."""
    from fupin_cli.io.excel import merge_sources
    from fupin_cli.io.read_grid import frame_from_arrow
    from fupin_cli.io.read_values import ID_FIELDS

    start = header.data_start
    n = max(grid.height - start, 0)
    ids = [c for c in header.columns if c.field in ID_FIELDS]
    numeric = grid.numeric_cells([c.index + grid.col_offset for c in ids]) if ids else {}
    for c in ids:
        rel = numeric.get(c.index + grid.col_offset, np.empty(0, dtype=np.int64)) - grid.row_offset - start
        if ((rel >= 0) & (rel < n)).any():
            raise Unsupported(f"ID numbers stored as numbers ({grid.sheet + '!' if grid.sheet else ''}{c.letter}: the reader reports each cell)")
    sources = merge_sources(grid, start, n) if grid.merges else {}
    data = {"__i": pa.array(np.arange(n, dtype=np.int64))}
    for c in header.columns:
        arr = pa.array(grid.cells[c.index].array).slice(start)  # the text fastexcel returned, no copy
        data[f"c{c.index}"] = arr.take(pa.array(sources[c.index])) if c.index in sources else arr
    con.register(XL, pa.table(data))  # scanned where it is (a view): no copy of the text in DuckDB
    con.execute(f"CREATE OR REPLACE TEMP VIEW {SRC} AS SELECT * FROM {XL}")
    del data
    grid.n_rows = grid.height
    head = pa.array(np.arange(header.data_start, dtype=np.int64))  # the header rows, copied: the body's buffers go with __xl
    grid.cells = frame_from_arrow([pa.array(grid.cells[j].array).take(head) for j in range(grid.width)])
    return {c.index for c in header.columns if c.index in sources}


def _concat_sheets(con, parts: list, info: SourceInfo, extra: list) -> Scan:
    """Several sheets of one workbook (one per village …) as one roster, as ``read.concat_frames`` concatenates
    them: canonical columns in schema order, then the other columns in order of appearance, then provenance."""
    scans = [s for s, _ in parts]
    member = [bool(s.member_columns) for s in scans]
    if any(member) and not all(member):
        raise Unsupported("a household-level sheet and a member-level sheet (a two-sheet roster)")
    kinds: dict[str, str] = {}
    for s in scans:
        for k, v in s.kinds.items():
            kinds.setdefault(k, v)

    def order(lists: list[list[str]], canonical: list[str]) -> list[str]:
        cols = list(dict.fromkeys(c for cs in lists for c in cs))
        first = [c for c in canonical if c in cols]
        return first + [c for c in cols if c not in first and c not in PROVENANCE_COLUMNS] + list(PROVENANCE_COLUMNS)

    def union(table: str, row: str, cols: list[str], of: list[list[str]], sizes: list[int]) -> None:
        selects, offset = [], 0
        for k, (have, size) in enumerate(zip(of, sizes)):
            items = [f"{row} + {offset} AS {row}"] + [q(c) if c in have else f"CAST(NULL AS {_sql_type(kinds.get(c, 'str'))}) AS {q(c)}"
                                                      for c in cols]
            selects.append(f"SELECT {', '.join(items)} FROM {table}_{k}")
            offset += size
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {' UNION ALL '.join(selects)}")
        for k in range(len(of)):
            con.execute(f"DROP TABLE {table}_{k}")

    hh_cols = order([s.household_columns for s in scans], HOUSEHOLD_FIELD_NAMES)
    union(HH, ROW, hh_cols, [s.household_columns for s in scans], [s.n_households for s in scans])
    mem_cols = order([s.member_columns for s in scans], ["household_id", *MEMBER_FIELD_NAMES]) if all(member) else ["household_id"]
    union(MEM, MROW, mem_cols, [s.member_columns or ["household_id"] for s in scans], [s.n_members for s in scans])
    twice = con.sql(f"SELECT count(*) FROM (SELECT household_id FROM {HH} WHERE household_id IS NOT NULL GROUP BY household_id "
                    f"HAVING count(DISTINCT {q(SOURCE_SHEET)}) > 1)").fetchall()[0][0]
    if twice:
        raise Unsupported("the same 户编号 in two sheets (the reader reports each place)")
    infos = [i for _, i in parts]
    info.sheets = [sh for i in infos for sh in i.sheets]
    info.header_rows = [r for i in infos for r in i.header_rows]
    info.title = infos[0].title
    info.layout = "/".join(dict.fromkeys(i.layout for i in infos))
    info.layout_evidence = "; ".join(i.layout_evidence for i in infos)
    info.columns = [c for i in infos for c in i.columns]
    source_headers: dict[str, str] = {}
    for s in scans:
        for k, v in s.source_headers.items():
            source_headers.setdefault(k, v)
    return Scan(con, hh_cols, mem_cols if all(member) else [], kinds, [info], concat_findings([*(s.notes for s in scans), *extra]),
                sum(s.n_households for s in scans), sum(s.n_members for s in scans),
                list(dict.fromkeys(c for s in scans for c in s.passthrough)), source_headers)


# ---------------------------------------------------------------------------------------
# values: typed in SQL, or through the reader's functions once per distinct value
# ---------------------------------------------------------------------------------------
@dataclass
class _Typed:
    select: list[str]  # typed column expressions "expr AS name"
    joins: list[str]
    present: list[str]  # per column: the cell is not blank (the reader's nonblank)
    names: dict[int, str]  # header column index → output name (field or header text)
    kinds: dict[str, str]
    # the reader's row checks (read_layout.build_table) as conditions over the source row, per text column
    total: list[str] = field(default_factory=list)  # 合计/小计 in an identifying column
    hits: list[str] = field(default_factory=list)  # a named column equal to its header text (a repeated header)
    person: list[str] = field(default_factory=list)  # 户编号 / name / ID present
    seq_text: str | None = None  # 序号 present and not a number
    merged: set[str] = field(default_factory=set)  # output names of columns with merged cells filled


def _sql_type(kind: str) -> str:
    return {"int": "BIGINT", "float": "DOUBLE", "money": "DOUBLE", "bool": "BOOLEAN", "date": "TIMESTAMP"}.get(kind, "VARCHAR")


def _typed_table(con, grid, header, types: dict, n_rows: int, fmt: str, notes: list) -> _Typed:
    from fupin_cli.io.read_layout import PERSON_FIELDS
    from fupin_cli.io.read_text import _typed_kind

    out = _Typed([], [], [], {}, {})
    hid_col = header.fields.get("household_id")
    checks = _number_checks(con, header, types, fmt)
    for c in header.columns:
        src = f"s.{q('c' + str(c.index))}"
        name = c.field or c.header
        out.names[c.index] = name
        kind = FIELDS[c.field].kind if c.field else "str"
        out.kinds[name] = kind
        m = c.match
        inverted, scale = bool(m and m.inverted), (m.scale if m else 1.0)
        tk = _typed_kind(types[c.index]) if fmt == "parquet" else None
        if c.field in ("id_number", "head_id_number") and tk in ("number", "bool"):
            raise Unsupported(f"ID numbers stored as numbers (column {c.letter})")
        direct = _direct(src, c, kind, tk, inverted, scale, checks.get(c.index))
        if direct is not None:
            out.select.append(f"{direct} AS {q(name)}")
            out.present.append(f"{src} IS NOT NULL")
            continue
        expr, present = _mapped(con, grid, header, c, kind, inverted, scale, src, hid_col, notes, out)
        out.select.append(f"{expr} AS {q(name)}")
        out.present.append(present)
        if c.field in PERSON_FIELDS:
            out.person.append(present)
    return out


def _number_checks(con, header, types: dict, fmt: str) -> dict[int, tuple[bool, bool]]:
    """Typed Parquet number columns of numeric fields → (every value finite and within bounds, every value whole):
    all columns in one pass over the file (one query per column was a pass each)."""
    from fupin_cli.io.guard import MAX_NUMBER
    from fupin_cli.io.read_text import _typed_kind

    if fmt != "parquet":
        return {}
    cols = [c for c in header.columns if _typed_kind(types[c.index]) == "number"
            and (FIELDS[c.field].kind if c.field else "str") in ("float", "money", "int")]
    if not cols:
        return {}
    items = []
    for c in cols:
        x = f"CAST(s.{q('c' + str(c.index))} AS DOUBLE)"
        items += [f"coalesce(bool_and(isfinite({x}) AND abs({x}) <= {float(MAX_NUMBER)!r}), true)",
                  f"coalesce(bool_and({x} = round({x})), true)"]
    row = con.sql(f"SELECT {', '.join(items)} FROM {SRC} AS s").fetchall()[0]
    return {c.index: (bool(row[2 * i]), bool(row[2 * i + 1])) for i, c in enumerate(cols)}


def _direct(src: str, c, kind: str, tk: str | None, inverted: bool, scale: float, checks: tuple[bool, bool] | None) -> str | None:
    """SQL for a typed Parquet column used as stored (``read_text.typed_values`` + ``apply_match``), else None."""
    if tk == "number" and kind in ("float", "money", "int") and checks is not None:
        ok, whole = checks
        if not ok:
            return None  # the text path reports each cell
        if kind == "int":
            if not whole:
                return None
            if scale != 1.0:
                raise Unsupported(f"a unit factor on a typed integer column ({c.letter})")
            return f"CAST({src} AS BIGINT)"
        value = f"CAST({src} AS DOUBLE)"
        return f"round_even({value} * {float(scale)!r}, 6)" if scale != 1.0 else value
    if tk == "bool" and kind == "bool":
        return f"(NOT {src})" if inverted else src
    if tk == "date" and kind == "date":
        return f"CAST({src} AS TIMESTAMP)"
    return None


def _mapped(con, grid, header, c, kind: str, inverted: bool, scale: float, src: str, hid_col, notes: list, out: _Typed) -> tuple[str, str]:
    """(expression, present expression) of a column typed by the reader's functions per distinct value."""
    from fupin_cli.io.read_grid import STR
    from fupin_cli.io.read_text import typed_as_text
    from fupin_cli.io.read_values import Where, fold, normalise_column

    keys = con.sql(f"SELECT DISTINCT {src} AS k FROM {SRC} AS s WHERE {src} IS NOT NULL").to_arrow_table().column("k").combine_chunks()
    text = keys if pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type) else typed_as_text(keys)
    folded = fold(pd.Series(pd.array(text.cast(pa.large_string()), dtype=STR)))
    _row_flags(con, header, c, keys, folded, src, out)
    joins = out.joins
    alias = f"m{c.index}"
    if c.field is None or (kind == "str" and c.field not in ("id_number", "head_id_number")):
        # text as the reader keeps it: folded; only the values that folding changes go into the lookup
        import pyarrow.compute as pc

        folded_arr = pa.array(folded.array).cast(pa.large_string())
        folded_arr = folded_arr.combine_chunks() if isinstance(folded_arr, pa.ChunkedArray) else folded_arr
        same = pc.fill_null(pc.equal(folded_arr, text.cast(pa.large_string())), False)
        changed = pc.invert(same)
        if not pc.any(changed).as_py():
            return src, f"{src} IS NOT NULL"
        _register_map(con, alias, keys.filter(changed), folded_arr.filter(changed), None)
        joins.append(f"LEFT JOIN {alias} ON {src} = {alias}.k")
        expr = f"CASE WHEN {alias}.k IS NULL THEN CAST({src} AS VARCHAR) ELSE {alias}.v END"
        return expr, f"({expr}) IS NOT NULL"
    f = FIELDS[c.field]
    dummy = Where(grid.file, grid.sheet, c.letter, c.header, np.arange(len(folded), dtype=np.int64))
    values, col_notes = normalise_column(folded, f, dummy, None, inverted=inverted, scale=scale)
    bad_idx = sorted({int(r) for nf in col_notes for r in nf["row"].dropna()})
    if bad_idx:  # the cells with those values, noted by the reader's own function at their rows
        notes.extend(_cell_notes(con, grid, header, c, f, src, keys.take(pa.array(bad_idx)), inverted, scale, hid_col))
    typed_values = _arrow_values(values, kind)
    present = folded.notna().to_numpy(dtype=bool)
    if len(keys) <= INLINE_MAP and (pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type)):
        # a small vocabulary (codes, 是/否, grades): a CASE expression, no join
        sql_type = _sql_type(kind)
        whens = " ".join(f"WHEN {lit(k)} THEN {_literal(v, kind)}" for k, v in zip(keys.to_pylist(), typed_values.to_pylist()) if v is not None)
        expr = f"CAST(CASE {src} {whens} END AS {sql_type})" if whens else f"CAST(NULL AS {sql_type})"
        shown = [lit(k) for k, p_ in zip(keys.to_pylist(), present) if p_]
        return expr, (f"coalesce({src} IN ({', '.join(shown)}), false)" if shown else "false")
    _register_map(con, alias, keys, typed_values, pa.array(present))
    joins.append(f"LEFT JOIN {alias} ON {src} = {alias}.k")
    return f"{alias}.v", f"coalesce({alias}.p, false)"


INLINE_MAP = 64  # distinct values up to which a column's lookup is a CASE expression rather than a join


def _row_flags(con, header, c, keys: pa.Array, folded: pd.Series, src: str, out: _Typed) -> None:
    """The reader's row checks on this column's folded text (``read_layout.build_table``), decided once per
    distinct value: a 合计/小计 word in an identifying column, the column's own header text, 序号 not a number."""
    import pyarrow.compute as pc

    from fupin_cli.io.read_grid import STR
    from fupin_cli.io.read_layout import _NUMERIC_SEQ, _TOTAL_SPACED, IDENTIFYING_FIELDS
    from fupin_cli.io.read_values import fold

    text = pa.array(folded.array)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if c.field in IDENTIFYING_FIELDS or c is header.columns[0]:
        hit = np.asarray(pc.fill_null(pc.match_substring_regex(text, _TOTAL_SPACED), False).to_numpy(zero_copy_only=False), dtype=bool)
        out.total.append(_in_keys(con, f"t{c.index}", keys, hit, src))
    if c.field:
        head = fold(pd.Series([c.header], dtype=STR)).iloc[0]
        if isinstance(head, str):
            out.hits.append(_in_keys(con, f"h{c.index}", keys, (folded == head).fillna(False).to_numpy(dtype=bool), src))
    if c is header.fields.get("seq"):
        seq_text = folded.notna().to_numpy() & ~folded.str.match(_NUMERIC_SEQ.pattern).fillna(False).to_numpy(dtype=bool)
        out.seq_text = _in_keys(con, f"q{c.index}", keys, seq_text, src)


def _in_keys(con, name: str, keys: pa.Array, mask: np.ndarray, src: str) -> str:
    """SQL: the source value is one of ``keys[mask]`` (false when none is)."""
    if not mask.any():
        return "false"
    con.register(name + "_arrow", pa.table({"k": keys.filter(pa.array(mask))}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(name + "_arrow")
    return f"coalesce({src} IN (SELECT k FROM {name}), false)"


def _literal(value: Any, kind: str) -> str:
    if kind == "bool":
        return "TRUE" if value else "FALSE"
    if kind == "int":
        return str(int(value))
    if kind in ("float", "money"):
        return f"CAST({float(value)!r} AS DOUBLE)"
    if kind == "date":
        return f"TIMESTAMP {lit(str(value))}"
    return lit(str(value))


def _register_map(con, name: str, keys: pa.Array, values: pa.Array, present: pa.Array | None) -> None:
    data = {"k": keys, "v": values}
    if present is not None:
        data["p"] = present
    con.register(name + "_arrow", pa.table(data))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(name + "_arrow")


def _arrow_values(values: pd.Series, kind: str) -> pa.Array:
    if kind in ("int",):
        return pa.array(values.astype("Int64").to_numpy(dtype="float64", na_value=np.nan), from_pandas=True).cast(pa.int64())
    if kind in ("float", "money"):
        return pa.array(values.astype("Float64").to_numpy(dtype="float64", na_value=np.nan), type=pa.float64(), from_pandas=True)
    if kind == "bool":
        b = values.astype("boolean")
        return pa.array(b.to_numpy(dtype=bool, na_value=False), type=pa.bool_(), mask=b.isna().to_numpy())
    if kind == "date":
        return pa.array(np.asarray(values, dtype="datetime64[ns]"), type=pa.timestamp("ns"), from_pandas=True)
    arr = pa.array(values.astype("str").array).cast(pa.large_string())
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _cell_notes(con, grid, header, c, f, src: str, bad_keys: pa.Array, inverted: bool, scale: float, hid_col) -> list[pd.DataFrame]:
    from fupin_cli.io.read_grid import STR
    from fupin_cli.io.read_text import typed_as_text
    from fupin_cli.io.read_values import Where, fold, normalise_column

    con.register("__bad", pa.table({"k": bad_keys}))
    hid = f"s.{q('c' + str(hid_col.index))}" if hid_col is not None else "NULL"
    rows = con.sql(f"SELECT s.__i, {src} AS v, CAST({hid} AS VARCHAR) AS h FROM {SRC} AS s "
                       f"WHERE {src} IN (SELECT k FROM __bad) ORDER BY s.__i").to_arrow_table()
    con.unregister("__bad")
    v = rows.column("v").combine_chunks()
    text = v if pa.types.is_string(v.type) or pa.types.is_large_string(v.type) else typed_as_text(v)
    folded = fold(pd.Series(pd.array(text.cast(pa.large_string()), dtype=STR)))
    excel_rows = np.asarray(grid.excel_row(np.asarray(rows.column("__i").to_numpy()) + header.data_start), dtype=np.int64)
    hids = None
    if hid_col is not None:
        hids = fold(pd.Series(pd.array(rows.column("h").combine_chunks().cast(pa.large_string()), dtype=STR)))
    where = Where(grid.file, grid.sheet, c.letter, c.header, excel_rows, hids)
    return normalise_column(folded, f, where, None, inverted=inverted, scale=scale)[1]


def _skip_rows(con, grid, header, typed: _Typed, cell_notes: list) -> list:
    """``__typed``: the typed rows the reader keeps, in sheet order (``__i`` their position, ``__s`` the body row,
    ``__gap`` a skipped row lies before it); the rows the reader skips (blank, 合计/小计, repeated header: the
    checks of ``read_layout.build_table``) are dropped with the reader's notes, and so are cell notes on them.
    Returns the notes (the skipped rows' first, as the reader lists them)."""
    from fupin_cli.io.read_layout import skipped_row_notes

    blank = f"NOT ({' OR '.join(typed.present) or 'false'})"
    total = " OR ".join(typed.total) or "false"
    if typed.seq_text is not None:  # 序号 as text on a row that names nobody: a note or a signature line
        total = f"({total}) OR (({typed.seq_text}) AND NOT ({' OR '.join(typed.person) or 'false'}))"
    named = [c for c in header.columns if c.field]
    hits = " + ".join(f"CAST({h} AS INTEGER)" for h in typed.hits) or "0"
    repeated = f"(({hits}) >= {max(2, (len(named) + 1) // 2)} AND NOT ({total}))"
    select = ", ".join(["s.__i AS __i", "s.__i AS __s", "false AS __gap", *typed.select])
    con.execute(f"CREATE OR REPLACE TEMP TABLE __typed AS SELECT {select}, {blank} AS __blank, ({total}) AS __total, "
                f"{repeated} AS __repeated FROM {SRC} AS s {' '.join(typed.joins)}")
    is_view = con.sql(f"SELECT count(*) FROM duckdb_views() WHERE view_name = {lit(SRC)}").fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if is_view else 'TABLE'} {SRC}")
    con.unregister(XL)  # a sheet's Arrow text (nothing for Parquet/CSV)
    skipped = con.sql("SELECT __s, __blank, __total, __repeated FROM __typed WHERE __blank OR __total OR __repeated "
                      "ORDER BY __s").to_arrow_table()
    if not skipped.num_rows:
        return cell_notes
    rows = np.asarray(grid.excel_row(skipped.column("__s").to_numpy() + header.data_start), dtype=np.int64)
    flags = [np.asarray(skipped.column(n).to_numpy(zero_copy_only=False), dtype=bool) for n in ("__blank", "__total", "__repeated")]
    notes = skipped_row_notes(grid, rows, *flags)
    for nf in cell_notes:
        nf = nf[~np.isin(nf["row"].to_numpy(dtype=np.int64), rows)].reset_index(drop=True)
        if len(nf):
            notes.append(nf)
    con.execute("CREATE OR REPLACE TEMP TABLE __typed AS SELECT * EXCLUDE (__gap) REPLACE "
                "(CAST(row_number() OVER (ORDER BY __s) - 1 AS BIGINT) AS __i), "
                "coalesce(lag(__s) OVER (ORDER BY __s), -1) <> __s - 1 AS __gap "
                "FROM __typed WHERE NOT (__blank OR __total OR __repeated) ORDER BY __s")
    return notes


# ---------------------------------------------------------------------------------------
# households and members
# ---------------------------------------------------------------------------------------
def _layout(con, grid, header, typed: _Typed, info: SourceInfo, notes: list) -> Scan:
    from fupin_cli.io.read import column_info
    from fupin_cli.io.read_layout import Table

    names = [typed.names[c.index] for c in header.columns]
    fields = [c.field for c in header.columns if c.field]
    passthrough = [c.header for c in header.columns if not c.field]
    small = [n for n in ("household_id", "relation", "household_size") if n in names]
    sample = con.sql(f"SELECT {', '.join(q(n) for n in small) or '1 AS x'} FROM __typed ORDER BY __i").to_arrow_table()
    frame = pd.DataFrame({n: _pandas(sample.column(n), typed.kinds[n]) for n in small})
    table = Table(grid, header, frame, list(fields), passthrough, set(), np.zeros(len(frame), dtype=bool))
    member_level, evidence = table.layout_evidence()  # the reader's own rule, on the three columns it looks at
    del frame, sample
    excel_row = f"(__s + {header.data_start + grid.row_offset + 1})"
    prov = f"{lit(grid.file)} AS {q(SOURCE_FILE)}, {lit(grid.sheet)} AS {q(SOURCE_SHEET)}, CAST({excel_row} AS BIGINT) AS {q(SOURCE_ROW)}"
    kinds = dict(typed.kinds)
    kinds.update({SOURCE_FILE: "str", SOURCE_SHEET: "str", SOURCE_ROW: "int"})
    source_headers = {c.field: c.header for c in header.columns if c.field}
    info.sheets = [grid.sheet] if grid.sheet else []
    info.header_rows = header.excel_rows(grid)
    info.title = header.title
    info.layout_evidence = f"{'“' + grid.sheet + '”: ' if grid.sheet else ''}{'每行一人' if member_level else '每行一户'} — {evidence}"
    info.columns = [column_info(grid, header, c) for c in header.columns]
    if not member_level:
        from fupin_cli.io.read_layout import households_from_rows

        empty = Table(grid, header, pd.DataFrame({n: pd.Series(dtype=object) for n in names}), list(fields), passthrough, set(),
                      np.zeros(0, dtype=bool))
        empty.frame[SOURCE_FILE] = pd.Series(dtype=object)
        empty.frame[SOURCE_SHEET] = pd.Series(dtype=object)
        empty.frame[SOURCE_ROW] = pd.Series(dtype=object)
        frame0, more = households_from_rows(empty)  # the reader's renames, order and notes, on no rows
        notes.extend(more)
        renamed = {"name": "head_name", "id_number": "head_id_number", **HOUSEHOLD_MEANING}
        back = {}
        for col in frame0.columns:
            if col in PROVENANCE_COLUMNS:
                continue
            orig = col if col in names else next(k for k, v in renamed.items() if v == col and k in names)
            back[col] = orig
            kinds[col] = typed.kinds[orig]
        sel = ", ".join([f"CAST(__i AS BIGINT) AS {ROW}"]
                        + [f"{q(orig)} AS {q(col)}" for col, orig in back.items()] + [prov])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {HH} AS SELECT {sel} FROM __typed")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {MEM} AS SELECT CAST(NULL AS BIGINT) AS {MROW}, CAST(NULL AS VARCHAR) AS household_id WHERE false")
        hh_cols = [*back, *PROVENANCE_COLUMNS]
        for col in list(back):
            if col in renamed.values() and back[col] != col:
                source_headers[col] = source_headers.pop(back[col], back[col])
        info.layout = "household"
        n_hh = con.sql(f"SELECT count(*) FROM {HH}").fetchall()[0][0]
        con.execute("DROP TABLE __typed")
        return Scan(con, hh_cols, [], kinds, [info], concat_findings(notes), n_hh, 0, passthrough, source_headers)
    return _members(con, grid, header, typed, info, notes, names, fields, passthrough, prov, kinds, source_headers)


def _members(con, grid, header, typed, info, notes, names, fields, passthrough, prov, kinds, source_headers) -> Scan:
    if "household_id" not in names:
        raise Unsupported("no 户编号")
    blank = con.sql("SELECT count(*) FROM __typed WHERE household_id IS NULL").fetchall()[0][0]
    if blank:  # 户编号 only on the head's row: a row joins the block above it, up to a skipped row (read_layout.household_keys)
        con.execute("CREATE OR REPLACE TEMP TABLE __typed AS SELECT * EXCLUDE (__blk) REPLACE (first_value(household_id) OVER "
                    "(PARTITION BY __blk ORDER BY __i) AS household_id), household_id IS NOT NULL AS __written FROM "
                    "(SELECT *, sum(CAST(household_id IS NOT NULL OR __gap AS INTEGER)) OVER (ORDER BY __i ROWS UNBOUNDED PRECEDING) AS __blk "
                    "FROM __typed) ORDER BY __i")
        if con.sql("SELECT count(*) FROM __typed WHERE household_id IS NULL").fetchall()[0][0]:
            raise Unsupported("member rows without 户编号 and no household above them")
    hh_cols = [c for c in HOUSEHOLD_FIELD_NAMES if c in names and c != "household_id"]
    mem_cols = [c for c in MEMBER_FIELD_NAMES if c in names]
    sel_m = ", ".join([f"CAST(__i AS BIGINT) AS {MROW}", "household_id"]
                      + [q(c) for c in [*mem_cols, *passthrough]] + [prov])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {MEM} AS SELECT {sel_m} FROM __typed")
    # a household's value is the first non-blank one over its rows (read_layout.split_members): here the
    # value on the household's first row, used only when no later row is non-blank where it is blank or differs
    # (so the reader notes no conflict either); otherwise the pandas reader decides
    extra = []
    out_hh = ["household_id", *hh_cols]
    if "relation" in mem_cols:  # 户主姓名 / 户主证件号码 from the member whose 与户主关系 is 户主 (read_layout._heads)
        filled = []
        for target, src in (("head_name", "name"), ("head_id_number", "id_number")):
            if target not in hh_cols and src in mem_cols:
                extra.append(f"arg_min({q(src)}, __i) FILTER (WHERE relation = '户主') AS {q(target)}")
                out_hh.append(target)
                kinds[target] = "str"
                filled.append(target)
        if filled:
            notes.append(_head_note(info, header.excel_rows(grid)[-1], filled))
    order = [c for c in HOUSEHOLD_FIELD_NAMES if c in out_hh]
    # one GROUP BY (one pass over the rows, reading only what it needs): the household's first row, its first
    # row with any household value, the hash of the household values over those rows (min = max: every such row
    # carries the same values), the rows after the first and how many of them are blank (the first row of a
    # household always has its 户编号 written: a filled-in one comes from a row above in the same block)
    allnull = " AND ".join(f"{q(c)} IS NULL" for c in hh_cols) or "true"
    tuple_hash = f"hash({', '.join(q(c) for c in hh_cols)})" if hh_cols else "0"
    used = "".join(f", {q(c)}" for c in mem_cols if c in ("name", "id_number", "relation"))  # the head's name and ID
    con.execute(f"CREATE OR REPLACE TEMP TABLE __hh0 AS SELECT household_id, min(__i) AS __first, "
                f"min(__i) FILTER (WHERE NOT __blank_hh) AS __first_filled, min(__h) FILTER (WHERE NOT __blank_hh) AS __h0, "
                f"max(__h) FILTER (WHERE NOT __blank_hh) AS __h1, count(*) AS __n, count(*) FILTER (WHERE __blank_hh) AS __nblank"
                f"{''.join(', ' + e for e in extra)} "
                f"FROM (SELECT household_id, __i, {tuple_hash} AS __h, {allnull} AS __blank_hh{used} FROM __typed) GROUP BY household_id")
    differ, n_cont, n_blank_cont = con.sql(
        "SELECT count(*) FILTER (WHERE __h0 <> __h1 OR __first_filled <> __first), coalesce(sum(__n - 1), 0), "
        "coalesce(sum(__nblank - CASE WHEN __first_filled IS NULL THEN 1 ELSE 0 END), 0) FROM __hh0").fetchall()[0]
    if hh_cols and differ:
        raise Unsupported("household values that differ between a household's rows, or are blank on its first row only")
    if typed.merged & {"household_id", *hh_cols}:
        info.layout = "member-merged"
    else:
        info.layout = "member-head-only" if n_cont and n_blank_cont * 2 > n_cont else "member"
    # the household values: those of its first row (joined once)
    sel_h = ", ".join([f"CAST(row_number() OVER (ORDER BY h.__first) - 1 AS BIGINT) AS {ROW}"]
                      + [f"{'t' if c in hh_cols else 'h'}.{q(c)}" for c in order] + [prov.replace("__s", "t.__s")])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {HH} AS SELECT {sel_h} FROM __hh0 AS h JOIN __typed AS t ON t.__i = h.__first "
                f"ORDER BY h.__first")
    con.execute("DROP TABLE __hh0")
    con.execute("DROP TABLE __typed")
    n_hh = con.sql(f"SELECT count(*) FROM {HH}").fetchall()[0][0]
    n_mem = con.sql(f"SELECT count(*) FROM {MEM}").fetchall()[0][0]
    return Scan(con, [*order, *PROVENANCE_COLUMNS], ["household_id", *mem_cols, *passthrough, *PROVENANCE_COLUMNS], kinds, [info],
                concat_findings(notes), n_hh, n_mem, passthrough, source_headers)


def _head_note(info, row: int, filled: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{"severity": "info", "check": "read.head_from_members", "file": info.name, "sheet": "",
                          "row": row, "column": "", "household_id": "",
                          "message": f"{'、'.join(FIELDS[t].zh for t in filled)}取自与户主关系为“户主”的成员", "hint": ""}])


def _pandas(column, kind: str) -> pd.Series:
    from fupin_cli.io.read_grid import STR

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if kind == "str":
        return pd.Series(pd.array(column.cast(pa.large_string()), dtype=STR))
    if kind == "int":
        return pd.Series(column.to_pandas(types_mapper=pd.ArrowDtype)).astype("Int64")
    return pd.Series(column.to_pandas()).astype("Float64" if kind in ("float", "money") else object)


def _finish_notes(scan: Scan, columns) -> None:
    """As ``read._finish`` for one file: unmatched columns with their likely fields (``engine.inputs.check_policy``
    reads them), the column map's name."""
    from fupin_cli.headers import candidates
    from fupin_cli.roster import UnmatchedColumn

    mapped = {c["field"] for s in scan.sources for c in s.columns if c["field"]}
    for s in scan.sources:
        for c in s.columns:
            if not c["field"]:
                c["candidates"] = candidates(c["header"], exclude=mapped)
                scan.unmatched.append(UnmatchedColumn(c["header"], c["file"], c["sheet"], c["letter"], list(c["candidates"])))
    if columns is not None:
        for s in scan.sources:
            s.column_map = columns.label
    scan.notes = concat_findings([scan.notes]) if len(scan.notes) else empty_findings()


# ---------------------------------------------------------------------------------------
# the register written by the engine
# ---------------------------------------------------------------------------------------
def write_register_sql(result: Any, path: str | os.PathLike, *, lang: str = "zh", force: bool = False) -> Path:
    """The 登记册 of :func:`fupin_cli.core.identify_sql.identify_scanned` as Parquet (DuckDB ``COPY``, atomic,
    mode 0600 like every register) or CSV (UTF-8 with BOM, 是/否, formula-escaped: the ordinary CSV writer
    over Arrow batches' frames).  Column labels are the register's (``io.register.labelled``)."""
    from fupin_cli.io.register import labelled
    from fupin_cli.io.write import atomic_output, check_output

    p = check_output(path, force, allowed=(".csv", ".parquet"))
    labels = list(labelled(pd.DataFrame(columns=result.columns), lang).columns)
    items = ", ".join(f"{q(c)} AS {q(lab)}" for c, lab in zip(result.columns, labels))
    query = f"SELECT {items} FROM __register ORDER BY __row"
    con = result.con
    if p.suffix.lower() == ".parquet":
        with atomic_output(p, force, private=True) as tmp:
            con.execute(f"COPY ({query}) TO {lit(str(tmp))} (FORMAT parquet)")
        return p
    from fupin_cli.io.register import bools_as_text
    from fupin_cli.io.write import _cr_as_newline, escape_formulas_frame

    reader = con.sql(query).to_arrow_reader(100_000)
    with atomic_output(p, force, private=True) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        first = True
        for batch in reader:
            frame = _pandas_batch(batch, result, labels)
            _cr_as_newline(escape_formulas_frame(bools_as_text(frame))).to_csv(f, index=False, header=first, lineterminator="\n")
            first = False
        if first:
            pd.DataFrame(columns=labels).to_csv(f, index=False, lineterminator="\n")
    return p


def _pandas_batch(batch: pa.RecordBatch, result: Any, labels: list[str]) -> pd.DataFrame:
    from fupin_cli.core.identify_sql import _frame

    kinds = {lab: result.kinds.get(c, "str") for c, lab in zip(result.columns, labels)}
    frame = _frame(pa.Table.from_batches([batch]), kinds)
    if "status" in result.columns:
        lab = labels[result.columns.index("status")]
        frame[lab] = frame[lab].astype(object)
    return frame


class RegionRoster:
    """What ``cli.run.settle`` (``regions.infer_region``, ``years_in``) reads of a roster, from a scan: the
    households' 省/市/县/户编号/户主证件号码/年度 columns, the members' 证件号码 when asked, the title."""

    def __init__(self, scan: Scan):
        from fupin_cli.core.identify_sql import _frame

        self._scan = scan
        cols = [c for c in ("province", "city", "county", "household_id", "head_id_number", "year") if c in scan.household_columns]
        self.households = _frame(scan.con.sql(f"SELECT {', '.join(q(c) for c in cols) or '1 AS __x'} FROM {HH} ORDER BY {ROW}").to_arrow_table(),
                                 scan.kinds) if cols else pd.DataFrame(index=pd.RangeIndex(scan.n_households))
        self.sources = scan.sources
        self._members = None

    @property
    def members(self) -> pd.DataFrame:
        from fupin_cli.core.identify_sql import _frame

        if self._members is None:
            if "id_number" in self._scan.member_columns and self._scan.n_members:
                self._members = _frame(self._scan.con.sql(f"SELECT id_number FROM {MEM} ORDER BY {MROW}").to_arrow_table(), self._scan.kinds)
            else:
                self._members = pd.DataFrame({"household_id": pd.Series(dtype=object)})
        return self._members
