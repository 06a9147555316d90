"""Write a Roster as a county-style spreadsheet (xlsx, xls, csv, parquet).

Layouts (``layout=``):

* ``member``    one row per member, household fields repeated on every row, header on row 1;
* ``template``  the county government template: two title rows, a two-row header with
                merged group headers (基本情况 / 家庭成员 / 收入情况(元) / 生产生活条件 / …),
                household cells merged down over the member rows, a 合计 row, a blank row
                and a signature line (xlsx and xls only);
* ``household`` one row per household (members not written);
* ``two-sheet`` households on sheet 户 and members on sheet 成员 (xlsx and xls only).

Headers are the national Chinese labels (schema zh labels, with units in the template) so
``fupin_cli.io.read`` maps them back.  xlsx is written with XlsxWriter in constant_memory
mode, row by row from 20,000-row chunks, so a million members need little memory; xls is that
.xlsx saved as .xls by LibreOffice (65,536 rows a sheet; needs soffice); CSV in GBK by default; Parquet with pyarrow, chunked.
Writes go through :func:`fupin_cli.io.write.atomic_output` (temp file in the same folder,
then ``os.replace``) and refuse to overwrite an existing file unless ``force=True``.

The row plan (:func:`row_numbers`) and column plan (:func:`columns`) are pure functions:
the sample generator uses them to say on which Excel row and column a planted fault lands.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.io.write import atomic_output, check_output, escape_formula
from fupin_cli.roster import Roster
from fupin_cli.schema import FIELDS, HOUSEHOLD_FIELD_NAMES, MEMBER_FIELD_NAMES, PROVENANCE_COLUMNS

LAYOUTS = ("member", "template", "household", "two-sheet")
FORMATS = ("xlsx", "xls", "csv", "parquet")
# (household sheet, member sheet) per layout
SHEETS = {"member": ("花名册", "花名册"), "template": ("花名册", "花名册"), "household": ("户", ""), "two-sheet": ("户", "成员")}
XLSX_MAX_ROWS = 1_048_576
XLS_MAX_ROWS = 65_536
CHUNK = 20_000

HEAD_FIELDS = ["province", "city", "county", "township", "village", "natural_village", "household_id",
               "head_name", "head_id_number", "household_size"]
TEMPLATE_GROUPS: list[tuple[str | None, list[str]]] = [
    (None, ["seq", "township", "village", "natural_village", "household_id"]),
    ("基本情况", ["head_name", "head_id_number", "household_size", "phone", "address", "bank_name", "bank_account",
              "identification_standard", "recorded_attribute", "recorded_primary_cause", "recorded_secondary_causes",
              "exit_status", "exit_year", "return_year", "first_identified_year", "military_family", "only_child",
              "two_daughters", "relocated", "dibao_household", "tekun_household"]),
    ("家庭成员", [f for f in MEMBER_FIELD_NAMES if f != "seq"]),
    ("收入情况(元)", ["annual_income", "wage_income", "business_income", "property_income", "dividend_income",
                 "transfer_income", "family_planning_subsidy", "dibao_benefit", "tekun_benefit", "pension_benefit",
                 "eco_compensation", "business_expense", "net_income", "income_per_capita", "previous_income_per_capita"]),
    ("生产生活条件", ["arable_land", "irrigated_land", "forest_land", "grain_for_green", "coop_member", "production_power",
                "domestic_power", "broadcast_tv", "road_distance_km", "road_type", "housing_area", "housing_structure",
                "unsafe_housing", "unsafe_housing_level", "water_difficulty", "safe_water", "fuel_type",
                "sanitary_toilet", "food_clothing_secure"]),
    ("一票否决情况", ["has_public_employee", "has_village_cadre", "has_vehicle", "vehicle_value", "has_town_property",
                "has_company", "large_scale_operator", "split_household", "absentee_registration"]),
    ("帮扶情况", ["responsible_person", "responsible_unit", "responsible_phone", "task_force", "first_secretary"]),
]
TEMPLATE_UNITS = {"arable_land": "耕地面积(亩)", "irrigated_land": "有效灌溉面积(亩)", "forest_land": "林地面积(亩)",
                  "grain_for_green": "退耕还林面积(亩)", "road_distance_km": "与村主干路距离(公里)",
                  "housing_area": "住房面积(㎡)", "work_months": "务工时间(月)"}
TOTAL_FIELDS = {"household_size", "annual_income", "wage_income", "business_income", "property_income", "dividend_income",
                "transfer_income", "family_planning_subsidy", "dibao_benefit", "tekun_benefit", "pension_benefit",
                "eco_compensation", "business_expense", "net_income", "arable_land", "housing_area"}


@dataclass(frozen=True)
class Column:
    field: str  # canonical name (or passthrough header)
    header: str  # header text written
    level: str  # household | member
    kind: str  # text | number | bool | date
    group: str | None = None  # template group header (None: vertically merged single header)


@dataclass
class WriteInfo:
    path: Path
    format: str
    layout: str
    sheets: list[str] = field(default_factory=list)
    rows: int = 0  # data rows written (all sheets)


# --------------------------------------------------------------------------------------
# Column and row plans (pure)
# --------------------------------------------------------------------------------------
def _kind(name: str, series: pd.Series | None) -> str:
    f = FIELDS.get(name)
    if f is None:
        return "number" if series is not None and pd.api.types.is_numeric_dtype(series) else "text"
    return {"int": "number", "float": "number", "money": "number", "bool": "bool", "date": "date"}.get(f.kind, "text")


def _present(df: pd.DataFrame, name: str) -> bool:
    return name in df.columns and bool(df[name].notna().any())


def columns(roster: Roster, layout: str, sheet: str | None = None) -> list[Column]:
    """The columns written for ``layout`` (for two-sheet: ``sheet`` 户 or 成员)."""
    _check_layout(layout)
    h, m = roster.households, roster.members
    skip = set(PROVENANCE_COLUMNS)
    hnames = [c for c in HOUSEHOLD_FIELD_NAMES if _present(h, c)]
    hextra = [c for c in h.columns if c not in FIELDS and c not in skip and not str(c).startswith("_")]
    mnames = [c for c in MEMBER_FIELD_NAMES if _present(m, c)]
    mextra = [c for c in m.columns if c not in FIELDS and c not in skip and not str(c).startswith("_")]

    def hcol(c, group=None, header=None):
        return Column(c, header or (FIELDS[c].zh if c in FIELDS else str(c)), "household", _kind(c, h.get(c)), group)

    def mcol(c, group=None, header=None):
        return Column(c, header or (FIELDS[c].zh if c in FIELDS else str(c)), "member", _kind(c, m.get(c)), group)

    if layout == "household" or (layout == "two-sheet" and sheet in (None, "户")):
        return [hcol(c) for c in hnames + hextra]
    if layout == "two-sheet":
        return [hcol("household_id")] + [mcol(c) for c in mnames + mextra]
    if layout == "member":
        head = [c for c in HEAD_FIELDS if c in hnames]
        rest = [c for c in hnames if c not in head]
        return [hcol(c) for c in head] + [mcol(c) for c in mnames] + [hcol(c) for c in rest + hextra]
    out: list[Column] = []
    used = set()
    for group, fields in TEMPLATE_GROUPS:
        for c in fields:
            header = TEMPLATE_UNITS.get(c)
            if c in MEMBER_FIELD_NAMES and c in mnames:
                out.append(mcol(c, group, header))
            elif c in hnames:
                out.append(hcol(c, group, header))
            used.add(c)
    others = [c for c in hnames if c not in used] + hextra
    out += [hcol(c, "其他") for c in others] + [mcol(c, "其他") for c in [c for c in mnames if c not in used] + mextra]
    return out


def header_rows(layout: str) -> int:
    """Rows above the first data row."""
    return 4 if layout == "template" else 1


@dataclass
class RowPlan:
    hh_of_row: np.ndarray  # household position per data row (-1: member without household)
    mem_of_row: np.ndarray  # member position per data row (-1: household without members)
    block: np.ndarray  # rows of each household block (template merges)


def household_positions(households: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Position in ``households`` of each member's 户编号 (-1: not there).

    Fast path (no hashing) when the members come grouped by household in household order,
    as generated rosters do; otherwise an index lookup.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(members) or "household_id" not in members.columns:
        return np.full(len(members), -1, dtype=np.int64)
    hid = households["household_id"].astype("str")
    mid = members["household_id"].astype("str")
    if len(hid) and not hid.isna().any() and not mid.isna().any():
        ma = pa.array(mid)
        change = np.ones(len(ma), dtype=bool)
        change[1:] = pc.not_equal(ma[1:], ma[:-1]).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(change)
        if len(starts) == len(hid) and pc.all(pc.equal(ma.take(pa.array(starts)), pa.array(hid))).as_py():
            return np.repeat(np.arange(len(hid)), np.diff(np.append(starts, len(ma))))
    return pd.Index(hid).get_indexer(mid)


def row_plan(roster: Roster) -> RowPlan:
    """Member rows grouped by household, in household order (households without members: one row)."""
    h, m = roster.households, roster.members
    nh = len(h)
    hpos = household_positions(h, m)
    counts = np.bincount(hpos[hpos >= 0], minlength=nh) if nh else np.zeros(0, dtype=np.int64)
    k = np.maximum(counts, 1)
    starts = np.cumsum(k) - k
    hh_of_row = np.repeat(np.arange(nh), k)
    mem_of_row = np.full(int(k.sum()), -1, dtype=np.int64)
    inside = np.flatnonzero(hpos >= 0)
    order = inside[np.argsort(hpos[inside], kind="stable")]
    sorted_h = hpos[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_h, sorted_h, side="left")
    mem_of_row[starts[sorted_h] + rank] = order
    orphans = np.flatnonzero(hpos < 0)
    hh_of_row = np.concatenate([hh_of_row, np.full(len(orphans), -1)])
    mem_of_row = np.concatenate([mem_of_row, orphans])
    return RowPlan(hh_of_row, mem_of_row, np.concatenate([k, np.ones(len(orphans), dtype=np.int64)]))


def row_numbers(roster: Roster, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Excel row (1-based) of each household (its first row) and each member, once written."""
    _check_layout(layout)
    nh, nm = len(roster.households), len(roster.members)
    first = header_rows(layout) + 1
    if layout in ("household", "two-sheet"):
        mrows = np.full(nm, -1) if layout == "household" else np.arange(nm) + first
        return np.arange(nh) + first, mrows
    plan = row_plan(roster)
    hrows = np.full(nh, -1, dtype=np.int64)
    mrows = np.full(nm, -1, dtype=np.int64)
    rows = np.arange(len(plan.hh_of_row)) + first
    has_h = plan.hh_of_row >= 0
    # first row of each household block
    hrows[plan.hh_of_row[has_h][::-1]] = rows[has_h][::-1]
    has_m = plan.mem_of_row >= 0
    mrows[plan.mem_of_row[has_m]] = rows[has_m]
    return hrows, mrows


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    s = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        s = chr(65 + r) + s
    return s


def locate(roster: Roster, layout: str, household_id: str, member_id: str | None, field_name: str) -> tuple[str, int | None, str, str]:
    """(sheet, Excel row, column letter, header) where a value of ``field_name`` lands."""
    level = "member" if field_name in MEMBER_FIELD_NAMES else "household"
    hsheet, msheet = SHEETS[layout]
    sheet = hsheet if level == "household" or layout not in ("two-sheet",) else msheet
    cols = columns(roster, layout, sheet if layout == "two-sheet" else None)
    names = [c.field for c in cols]
    if field_name not in names:
        return sheet, None, "", FIELDS[field_name].zh if field_name in FIELDS else field_name
    ci = names.index(field_name)
    hrows, mrows = row_numbers(roster, layout)
    row: int | None = None
    if level == "member" and member_id:
        hit = np.flatnonzero(roster.members["member_id"].astype(str).to_numpy() == member_id)
        row = int(mrows[hit[0]]) if len(hit) else None
    elif household_id:
        hit = np.flatnonzero(roster.households["household_id"].astype(str).to_numpy() == household_id)
        row = int(hrows[hit[0]]) if len(hit) else None
    return sheet, row, column_letter(ci), cols[ci].header


# --------------------------------------------------------------------------------------
# Cell values
# --------------------------------------------------------------------------------------
def _values(series: pd.Series, kind: str, target: str) -> list:
    """Python cell values for one column chunk: str, int, float or None."""
    if series.dtype == object:  # raw values as written (messy samples): keep, map bools and NA
        out = series.tolist()
        return [None if _isna(v) else ("是" if v is True else "否" if v is False else v) for v in out]
    if kind == "bool":
        b = series.astype("boolean")
        arr = np.where(b.fillna(False).to_numpy(bool), "是", "否").astype(object)
        arr[b.isna().to_numpy()] = None
        return arr.tolist()
    if kind == "number" or (kind == "text" and pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        x = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
        obj = x.astype(object)
        ok = np.isfinite(x)
        integral = ok & (np.abs(x) < 2**53) & (x == np.round(x))
        obj[integral] = x[integral].astype(np.int64)
        obj[~ok] = None
        return obj.tolist()
    if kind == "date":
        d = pd.to_datetime(series, errors="coerce")
        if target == "csv":
            txt = d.dt.strftime("%Y-%m-%d").astype(object)
            return txt.where(d.notna(), None).tolist()
        serial = ((d - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
        obj = serial.astype(object)
        obj[np.isnan(serial)] = None
        return obj.tolist()
    s = series.astype(object)
    return s.where(series.notna(), None).tolist()


def _isna(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _rows(roster: Roster, cols: list[Column], hh_idx: np.ndarray, mem_idx: np.ndarray, target: str,
          tick: Callable[[int], None] | None = None) -> Iterator[list[list]]:
    """Chunks of column-value lists for the given household / member positions (-1 = blank);
    ``tick(n)`` after each chunk of ``n`` rows (the progress display)."""
    h, m = roster.households, roster.members
    for a in range(0, len(hh_idx), CHUNK):
        hi, mi = hh_idx[a:a + CHUNK], mem_idx[a:a + CHUNK]
        out = []
        for c in cols:
            frame, idx = (h, hi) if c.level == "household" else (m, mi)
            if c.field not in frame.columns:
                out.append([None] * len(idx))
                continue
            vals = _values(frame[c.field].iloc[np.maximum(idx, 0)], c.kind, target) if len(frame) else [None] * len(idx)
            if (idx < 0).any():
                vals = [None if i < 0 else v for v, i in zip(vals, idx)]
            out.append(vals)
        yield out
        if tick is not None:
            tick(len(hi))


def _sheet_rows(roster: Roster, layout: str, sheet: str) -> tuple[list[Column], np.ndarray, np.ndarray]:
    cols = columns(roster, layout, sheet)
    nh, nm = len(roster.households), len(roster.members)
    if layout == "household" or (layout == "two-sheet" and sheet == "户"):
        return cols, np.arange(nh), np.full(nh, -1)
    if layout == "two-sheet":
        cols = [Column("household_id", cols[0].header, "member", "text")] + cols[1:]
        return cols, np.full(nm, -1), np.arange(nm)
    plan = row_plan(roster)
    return cols, plan.hh_of_row, plan.mem_of_row


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------
def write_roster(roster: Roster, path: str | os.PathLike, layout: str = "member", *, force: bool = False,
                 title: str | None = None, encoding: str = "gbk",
                 progress: Callable[[int, int], None] | None = None) -> WriteInfo:
    """Write ``roster`` to ``path`` (format from the extension) in ``layout``; ``progress(done, total)`` as rows
    are written (every sheet's rows count)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"cannot write {path.name}: unknown output format {path.suffix or '(none)'}",
                         "use a file name ending in .xlsx, .xls, .csv or .parquet")
    _check_layout(layout)
    if fmt in ("csv", "parquet") and layout in ("template", "two-sheet"):
        raise UsageError(f"layout {layout!r} needs a spreadsheet: cannot write it as .{fmt}",
                         "use --layout member or household for CSV/Parquet, or write .xlsx")
    check_output(path, force)
    if fmt == "xls":  # before any work: .xls is written by LibreOffice
        from fupin_cli.io.office import require_soffice

        require_soffice(f"writing {path.name}")
    sheets = [s for s in dict.fromkeys(SHEETS[layout]) if s]
    plans = {s: _sheet_rows(roster, layout, s) for s in sheets}
    n_rows = sum(len(p[1]) for p in plans.values())
    limit = XLSX_MAX_ROWS if fmt == "xlsx" else XLS_MAX_ROWS if fmt == "xls" else None
    if limit is not None:
        extra = header_rows(layout) + (3 if layout == "template" else 0)
        for s, (_, hi, _) in plans.items():
            if len(hi) + extra > limit:
                raise UsageError(
                    f"{len(hi):,} rows do not fit in one .{fmt} sheet ({s}; the limit is {limit:,} rows)",
                    "write .xlsx (1,048,576 rows), .csv or .parquet instead" if fmt == "xls" else "write .csv or .parquet instead")
    if title is None:
        title = _title(roster)
    from fupin_cli.io.progress import rows_reporter

    progress = rows_reporter(progress)  # the callback given, else the CLI's progress listener (if any)
    tick = _ticker(progress, n_rows if fmt in ("xlsx", "xls") else len(plans[sheets[0]][1]))
    with _atomic(path, force) as tmp:
        if fmt == "xlsx":
            _write_xlsx(tmp, roster, layout, plans, title, tick)
        elif fmt == "xls":
            _write_xls(tmp, roster, layout, plans, title, tick)
        elif fmt == "csv":
            _write_csv(tmp, roster, plans[sheets[0]], encoding, tick)
        else:
            _write_parquet(tmp, roster, plans[sheets[0]], tick)
    return WriteInfo(path, fmt, layout, sheets, n_rows)


def _ticker(progress: Callable[[int, int], None] | None, total: int) -> Callable[[int], None] | None:
    """``tick(n)``: n more rows written → ``progress(done, total)``."""
    if progress is None:
        return None
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        progress(min(done, total), total)

    return tick


def _created(roster: Roster):
    """31 December of the roster's year (2000 without one): the workbook's creation date."""
    import datetime as dt

    h = roster.households
    year = int(h["year"].dropna().iloc[0]) if _present(h, "year") else 2000
    return dt.datetime(year, 12, 31, tzinfo=dt.UTC)


def _title(roster: Roster) -> str:
    h = roster.households
    county = str(h["county"].dropna().iloc[0]) if _present(h, "county") else ""
    year = h["year"].dropna().iloc[0] if _present(h, "year") else None
    return f"{county}{int(year)}年建档立卡贫困户花名册" if year is not None else f"{county}建档立卡贫困户花名册"


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}", "use one of: " + ", ".join(LAYOUTS))


@contextlib.contextmanager
def _atomic(path: Path, force: bool) -> Iterator[Path]:
    """The lead's atomic writer (temp file beside ``path``, then ``os.replace``), OS errors as one line."""
    try:
        with atomic_output(path, force, private=True) as tmp:  # full (synthetic) ID numbers
            yield tmp
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}", "check the folder exists, is writable and has space") from None


def _write_csv(tmp: Path, roster: Roster, plan, encoding: str, tick: Callable[[int], None] | None = None) -> None:
    cols, hi, mi = plan
    headers = [c.header for c in cols]
    try:
        "".join(headers).encode(encoding)
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}", "use gbk, gb18030, utf-8 or utf-8-sig") from None
    with open(tmp, "w", encoding=encoding, newline="", errors="strict") as fh:
        first = True
        for chunk in _rows(roster, cols, hi, mi, "csv", tick):
            data = {h: [escape_formula(v) for v in vals] for h, vals in zip(range(len(headers)), chunk)}
            df = pd.DataFrame(data, dtype=object)
            df.columns = headers
            try:
                df.to_csv(fh, index=False, header=first, lineterminator="\r\n")
            except UnicodeEncodeError as e:
                raise UsageError(f"a value cannot be written in {encoding}: {e.object[e.start:e.end]!r}",
                                 "use --encoding utf-8-sig") from None
            first = False
        if first:
            pd.DataFrame(columns=headers).to_csv(fh, index=False, lineterminator="\r\n")


PARQUET_ROWS = 500_000  # rows per row group (bounded memory for millions of rows)


def _write_parquet(tmp: Path, roster: Roster, plan, tick: Callable[[int], None] | None = None) -> None:
    """Columns converted to Arrow once, then ``take`` per row group (no Python objects per cell)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols, hi, mi = plan
    h, m = roster.households, roster.members
    schema = pa.schema([pa.field(c.header, _arrow_type(h if c.level == "household" else m, c.field)) for c in cols])
    sources = {}
    for c, f in zip(cols, schema):
        frame = h if c.level == "household" else m
        sources[(c.level, c.field)] = _arrow_column(frame, c.field, f.type)
    writer = pq.ParquetWriter(tmp, schema)
    try:
        for a in range(0, max(len(hi), 1), PARQUET_ROWS):
            hidx, midx = hi[a:a + PARQUET_ROWS], mi[a:a + PARQUET_ROWS]
            arrays = []
            for c, f in zip(cols, schema):
                idx = hidx if c.level == "household" else midx
                src = sources[(c.level, c.field)]
                if src is None:
                    arrays.append(pa.nulls(len(idx), f.type))
                    continue
                neg = idx < 0
                arrays.append(src.take(pa.array(idx, mask=neg if neg.any() else None)))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            if tick is not None:
                tick(len(hidx))
    finally:
        writer.close()


def _arrow_column(frame: pd.DataFrame, name: str, typ):
    """One roster column as an Arrow array of ``typ`` (None when absent or the frame is empty)."""
    import pyarrow as pa

    if name not in frame.columns or not len(frame):
        return None
    s = frame[name]
    if s.dtype == object:  # raw values as written (messy samples)
        s = s.map(lambda v: None if _isna(v) else str(v)).astype("str")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = s.astype("datetime64[ns]")
    arr = pa.array(s, from_pandas=True)
    return arr.cast(typ) if arr.type != typ else arr


def _arrow_type(frame: pd.DataFrame, name: str):
    import pyarrow as pa

    if name not in frame.columns:
        return pa.string()
    dt = frame[name].dtype
    if pd.api.types.is_bool_dtype(dt):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(dt):
        return pa.int64()
    if pd.api.types.is_float_dtype(dt):
        return pa.float64()
    if pd.api.types.is_datetime64_any_dtype(dt):
        return pa.timestamp("ns")
    return pa.string()


# --------------------------------------------------------------------------------------
# Excel writers
# --------------------------------------------------------------------------------------
TEMPLATE_MAX_ROWS = 200_000  # merges are kept in memory: the template is for county-sized files
TEXT_WIDE = {"id_number", "head_id_number", "bank_account", "household_id", "member_id", "disability_cert", "address"}


def _width(c: Column) -> float:
    if c.field in TEXT_WIDE:
        return 21
    return float(min(max(len(c.header) * 2 + 1, 7), 24))


def _note(roster: Roster) -> str:
    h = roster.households
    county = str(h["county"].dropna().iloc[0]) if _present(h, "county") else ""
    year = int(h["year"].dropna().iloc[0]) if _present(h, "year") else None
    date = f"{year}年12月31日" if year else "    年  月  日"
    return f"填报单位：{county}扶贫开发办公室（盖章）                    填报日期：{date}"


def _group_runs(cols: list[Column]) -> list[tuple[int, int, str | None]]:
    runs: list[tuple[int, int, str | None]] = []
    for i, c in enumerate(cols):
        if c.group is not None and runs and runs[-1][2] == c.group and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i, c.group)
        else:
            runs.append((i, i, c.group))
    return runs


def _totals(roster: Roster, cols: list[Column], hi: np.ndarray) -> dict[int, float]:
    out = {}
    h = roster.households
    for ci, c in enumerate(cols):
        if c.field in TOTAL_FIELDS and c.level == "household" and c.field in h.columns:
            idx = np.unique(hi[hi >= 0])
            vals = pd.to_numeric(h[c.field].iloc[idx].map(lambda v: v if not isinstance(v, str) else None), errors="coerce")
            out[ci] = float(np.round(vals.sum(), 2))
    return out


def _block_firsts(layout: str, roster: Roster, n_rows: int) -> np.ndarray:
    first = np.ones(n_rows, dtype=bool)
    if layout == "template":
        block = row_plan(roster).block
        first[:] = False
        first[np.cumsum(block) - block] = True
    return first


def _write_xlsx(tmp: Path, roster: Roster, layout: str, plans: dict, title: str,
                tick: Callable[[int], None] | None = None) -> None:
    """XlsxWriter's public API in constant memory: cells row after row; merges registered with
    ``merge_range`` on their first row (an unformatted blank is not written, so nothing is flushed
    early), the first cell then given its format.  Saved with ZIP64 and save progress (io/xlsx.py).
    Rows written are counted by ``tick`` (see :func:`write_roster`)."""
    from fupin_cli.io.xlsx import open_workbook

    with open_workbook(tmp, font=None) as wb:
        wb.set_properties({"created": _created(roster)})  # fixed document date: same roster → same bytes
        head = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True,
                              "border": 1, "bg_color": "#D9E1F2"})
        fmts = {"text": wb.add_format({"num_format": "@"}), "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
                "number": None, "bool": None}
        for sheet, (cols, hi, mi) in plans.items():
            ws = wb.add_worksheet(sheet)
            for ci, c in enumerate(cols):
                ws.set_column(ci, ci, _width(c))
            col_fmt = [fmts[c.kind] for c in cols]
            if layout == "template":
                if len(hi) > TEMPLATE_MAX_ROWS:
                    raise UsageError(f"the template layout is meant for county files up to {TEMPLATE_MAX_ROWS:,} rows ({len(hi):,} here)",
                                     "use --layout member, household or two-sheet for larger files")
                top = _xlsx_template_head(wb, ws, cols, title, _note(roster), head)
                block = row_plan(roster).block
                merge_rows = dict(zip((np.cumsum(block) - block + top).tolist(), block.tolist()))
            else:
                for ci, c in enumerate(cols):
                    ws.write_string(0, ci, c.header, head)
                ws.freeze_panes(1, 0)
                top = 1
                merge_rows = {}
            firsts = _block_firsts(layout, roster, len(hi))
            hh_cols = [ci for ci, c in enumerate(cols) if c.level == "household"]
            writers = [(ws.write_string, ws.write_number, col_fmt[ci]) for ci in range(len(cols))]
            r = top
            for chunk in _rows(roster, cols, hi, mi, "xlsx", tick):
                n = len(chunk[0]) if chunk else 0
                for i in range(n):
                    k = merge_rows.get(r, 1)
                    if k > 1:  # household cells merged down over the household's member rows
                        for ci in hh_cols:
                            ws.merge_range(r, ci, r + k - 1, ci, None)
                    skip_h = not firsts[r - top]
                    for ci, vals in enumerate(chunk):
                        v = vals[i]
                        if v is None or (skip_h and cols[ci].level == "household"):
                            continue
                        write_string, write_number, f = writers[ci]
                        if type(v) is str:
                            write_string(r, ci, v, f)
                        else:
                            write_number(r, ci, v, f)
                    r += 1
            if layout == "template":
                totals = _totals(roster, cols, hi)
                ws.write_string(r, 0, "合计")
                for ci, value in totals.items():
                    letter = column_letter(ci)
                    ws.write_formula(r, ci, f"=SUM({letter}{top + 1}:{letter}{r})", None, value)
                last = min(len(cols) - 1, 12)
                signature = "填表人：              审核人：              联系电话："
                if last > 0:
                    ws.merge_range(r + 2, 0, r + 2, last, signature)
                else:
                    ws.write_string(r + 2, 0, signature)
            else:
                ws.autofilter(0, 0, max(r - 1, 0), len(cols) - 1)


def _xlsx_template_head(wb, ws, cols: list[Column], title: str, note: str, head) -> int:
    """Title, note and the two-row header; returns the first data row (0-based).

    Constant memory writes rows in order, so each header merge is registered on its first row
    (``merge_range`` with no format writes no blank cells below) and its first cell then written
    with the header format; row 4's cells are written after."""
    last = len(cols) - 1
    title_fmt = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    ws.set_row(0, 30)
    if last > 0:
        ws.merge_range(0, 0, 0, last, title, title_fmt)
        ws.merge_range(1, 0, 1, last, note, wb.add_format({"align": "left"}))
    else:
        ws.write_string(0, 0, title, title_fmt)
        ws.write_string(1, 0, note)
    runs = _group_runs(cols)
    for a, b, group in runs:  # row 3 (index 2): group headers and single headers
        if group is None:  # a single header: one column, merged over both header rows
            ws.merge_range(2, a, 3, a, None)
        elif b > a:
            ws.merge_range(2, a, 2, b, None)
        ws.write_string(2, a, group if group is not None else cols[a].header, head)
        for ci in range(a + 1, b + 1):
            ws.write_blank(2, ci, None, head)
    for a, b, group in runs:  # row 4 (index 3): field headers under groups
        for ci in range(a, b + 1):
            if group is None:
                ws.write_blank(3, ci, None, head)
            else:
                ws.write_string(3, ci, cols[ci].header, head)
    ws.freeze_panes(4, 0)
    return 4


def _write_xls(tmp: Path, roster: Roster, layout: str, plans: dict, title: str,
               tick: Callable[[int], None] | None = None) -> None:
    """.xls (Excel 97–2003): the .xlsx of the same layout, saved as .xls by LibreOffice.

    No maintained Python library writes .xls (xlwt's last release was 2017); LibreOffice keeps the
    merges, formats and every sheet.  The row and column limits of .xls are checked before."""
    from fupin_cli.io.office import convert

    for (cols, _, _) in plans.values():
        if len(cols) > 256:
            raise UsageError(f"{len(cols)} columns do not fit in an .xls sheet (256 at most)", "write .xlsx instead")
    xlsx = tmp.with_name(tmp.name + ".xlsx")
    try:
        _write_xlsx(xlsx, roster, layout, plans, title, tick)
        convert(xlsx, tmp, "writing .xls")
    finally:
        with contextlib.suppress(FileNotFoundError):
            xlsx.unlink()


def write_truth(truth, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a sample's Truth as JSON (atomic, no overwrite without ``force``)."""
    path = Path(path)
    check_output(path, force)
    with _atomic(path, force) as tmp:
        tmp.write_text(truth.to_json(), encoding="utf-8")
    return path
