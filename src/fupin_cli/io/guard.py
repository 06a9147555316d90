"""Guards the readers call before trusting a file or a value (issue 13).

Small functions, kept apart from the readers so the readers can change around them:

* :func:`check_xlsx_zip` — before the Rust reader (calamine) opens an .xlsx: the sizes in the
  zip's directory (total and per-part compression ratio: zip bombs), each sheet's
  ``<dimension>`` (a stray value at XFD1048576 makes calamine allocate every cell of the used
  range: 17 billion cells), and, for sheets whose XML is small enough to read at once, the real
  used range from the cell references (a ``<dimension>`` can lie) and the real inflated size.
  Anything over the limits is an :class:`InputError` (exit 4) that says what and how to fix it.
* :func:`plausible_number` — a number parsed from a cell: ``inf``, ``nan``, ``1e400`` and
  magnitudes beyond 1e15 are not values (they used to become ±1.8e308 or a silent blank).
* :func:`finite_column` — the same for a typed (Parquet) number column.

Limits can be raised for a genuinely large workbook with the environment variables
``FUPIN_MAX_CELLS`` (cells in one sheet's used range) and ``FUPIN_MAX_XLSX_BYTES`` (uncompressed
size of the whole workbook).
"""

from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from fupin_cli.errors import InputError

MAX_CELLS = 50_000_000  # 1,048,575 rows × 47 columns; calamine holds the used range densely
MAX_XLSX_BYTES = 8 << 30  # uncompressed, all parts together
MAX_RATIO = 200  # uncompressed / compressed of one part: XML compresses 5–30×, a bomb ~1000×
RATIO_MIN_BYTES = 32 << 20  # below this a high ratio is harmless
VERIFY_BYTES = 64 << 20  # sheet XML up to this (declared) size is read once to find its real used range
MAX_NUMBER = 1e15  # any number in a roster (money, counts, areas): beyond it a typo, an overflow or an attack

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')


def _limit(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip().replace("_", "")
    return int(value) if value.isdigit() and int(value) > 0 else default


def max_cells() -> int:
    return _limit("FUPIN_MAX_CELLS", MAX_CELLS)


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def bomb_error(name: str, detail: str) -> InputError:
    return InputError(
        f"{name}: 文件解压后过大, 可能是压缩炸弹 (zip bomb refused: {detail})",
        "在 Excel 中打开并另存为 .xlsx; 真实的大表请设置 FUPIN_MAX_XLSX_BYTES",
    )


def range_error(name: str, sheet: str, ref: str, cells: int, limit: int) -> InputError:
    return InputError(
        f"{name} 工作表“{sheet}”: 已用区域 {ref} 有 {cells:,} 个单元格, 超过上限 {limit:,} "
        f"(used range too large: a stray value far from the data?)",
        "在 Excel 中删除数据右侧和下方的空行空列 (Ctrl+End 查看最后一个单元格) 后保存; 确实需要时设置 FUPIN_MAX_CELLS",
    )


def check_xlsx_zip(path: Path, zf: zipfile.ZipFile, sheets: dict[str, str]) -> dict[str, list[tuple[int, int, str, str]]]:
    """Refuse an .xlsx whose parts would inflate to too much, or a sheet whose used range is too
    large, before any Rust code reads it.  ``sheets``: sheet name → path of its XML part.

    Returns, per sheet read in full here, its formula cells whose value cannot be trusted:
    (row 1-based, column 0-based, kind, cached value) with kind ``error`` (an error value such as
    #DIV/0!), ``no_value`` (never calculated: the reader sees a blank) or ``zero`` (cached 0)."""
    formulas: dict[str, list[tuple[int, int, str, str]]] = {}
    name = path.name
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    limit = _limit("FUPIN_MAX_XLSX_BYTES", MAX_XLSX_BYTES)
    if total > limit:
        raise bomb_error(name, f"{total:,} bytes uncompressed, limit {limit:,}")
    for i in infos:
        if i.file_size > RATIO_MIN_BYTES and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise bomb_error(name, f"{i.filename} inflates {i.file_size // max(i.compress_size, 1):,}× "
                                   f"to {i.file_size:,} bytes")
    cells_limit = max_cells()
    for sheet, member in sheets.items():
        try:
            info = zf.getinfo(member)
        except KeyError:
            continue
        head = _head(path, zf, member)
        m = _DIMENSION.search(head)
        if m and m.group(3):
            c0, r0, c1, r1 = _col(m.group(1) or b"A"), int(m.group(2) or 1), _col(m.group(3)), int(m.group(4))
            cells = (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
            _check_width(name, sheet, abs(c1 - c0) + 1)
            if cells > cells_limit:
                ref = m.group(0).split(b'"')[1].decode()
                raise range_error(name, sheet, ref, cells, cells_limit)
        if info.file_size <= VERIFY_BYTES:
            formulas[sheet] = _verify_sheet(path, zf, member, sheet, info, cells_limit)
    return formulas


def _head(path: Path, zf: zipfile.ZipFile, member: str, size: int = 1 << 14) -> bytes:
    try:
        with zf.open(member) as f:
            return f.read(size)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError):
        return b""  # the reader reports a corrupt or encrypted part


def _verify_sheet(path: Path, zf: zipfile.ZipFile, member: str, sheet: str, info: zipfile.ZipInfo,
                  cells_limit: int) -> list[tuple[int, int, str, str]]:
    """Read a (small) sheet part once: its real inflated size (a directory entry can lie) and the
    real used range from the cell references (so can ``<dimension>``)."""
    cap = max(4 * info.file_size, 1 << 20)
    rows: list[int | None] = [None, None]
    cols: list[int | None] = [None, None]
    done = 0
    carry = b""
    formulas: list[tuple[int, int, str, str]] = []
    try:
        with zf.open(member) as f:
            while True:
                block = f.read(1 << 22)
                if not block:
                    break
                done += len(block)
                if done > cap:
                    raise bomb_error(path.name, f"{member} inflates beyond the {info.file_size:,} bytes it declares")
                buf = carry + block
                cut = buf.rfind(b"<")
                for c, r in _REF.findall(buf, 0, cut if cut > 0 else len(buf)):
                    ci, ri = _col(c), int(r)
                    if rows[0] is None or ri < rows[0]:
                        rows[0] = ri
                    if rows[1] is None or ri > rows[1]:
                        rows[1] = ri
                    if cols[0] is None or ci < cols[0]:
                        cols[0] = ci
                    if cols[1] is None or ci > cols[1]:
                        cols[1] = ci
                if b"<f" in buf:
                    formulas.extend(_formula_cells(buf, cut if cut > 0 else len(buf)))
                carry = buf[cut:] if cut > 0 else b""
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError):
        return []  # corrupt or encrypted: the reader says so
    r0, r1, c0, c1 = rows[0], rows[1], cols[0], cols[1]
    if r0 is None or r1 is None or c0 is None or c1 is None:  # no cell (the four are set together)
        return formulas
    cells = (r1 - r0 + 1) * (c1 - c0 + 1)
    _check_width(path.name, sheet, c1 - c0 + 1)
    if cells > cells_limit:
        ref = f"{_letters(c0)}{r0}:{_letters(c1)}{r1}"
        raise range_error(path.name, sheet, ref, cells, cells_limit)
    return formulas


_FORMULA_CELL = re.compile(rb'<(?:\w+:)?c\s([^>]*?)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*'
                           rb'(?:<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>)?', re.DOTALL)
_ATTR_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')


def _formula_cells(buf: bytes, end: int) -> list[tuple[int, int, str, str]]:
    out = []
    for attrs, value in _FORMULA_CELL.findall(buf, 0, end):
        ref = _ATTR_REF.search(attrs)
        if not ref:
            continue
        v = value.decode("utf-8", "replace").strip()
        if b't="e"' in attrs:
            kind = "error"
        elif not v and b't="str"' not in attrs:
            kind = "no_value"
        elif v in ("0", "0.0") and b't="' not in attrs:
            kind = "zero"
        else:
            continue
        out.append((int(ref.group(2)), _col(ref.group(1)) - 1, kind, v))
    return out


FORMULA_MESSAGES = {
    "error": ("error", "read.formula_error", "公式结果是错误值“{v}”, 已按空值处理", "在 Excel 中修正该公式 (查看引用的单元格), 或改填数值"),
    "no_value": ("warning", "read.formula_no_value", "公式没有计算结果 (文件未经 Excel 计算保存), 读作空值",
                 "在 Excel 中打开, 按 F9 重新计算后保存"),
    "zero": ("warning", "read.formula_zero", "公式结果为 0, 请核实 (引用的单元格可能为空)", "核对公式引用的单元格"),
}


def formula_notes(table) -> list:
    """Findings for the untrusted formula cells (see :func:`check_xlsx_zip`) that fall inside a
    table's data rows and columns: the cell's Excel address, the column's header."""
    import pandas as pd

    cells = getattr(table.grid, "formulas", None)
    if not cells:
        return []
    grid, header = table.grid, table.header
    first = int(grid.excel_row(header.data_start))
    by_col = {c.index + grid.col_offset: c for c in header.columns}
    rows = []
    for row, col, kind, value in cells:
        c = by_col.get(col)
        if c is None or row < first:
            continue
        severity, check, message, hint = FORMULA_MESSAGES[kind]
        rows.append({"severity": severity, "check": check, "file": grid.file, "sheet": grid.sheet, "row": row,
                     "column": c.header, "household_id": "",
                     "message": f"{grid.sheet + '!' if grid.sheet else ''}{_letters(col + 1)}{row}: {c.header}"
                                f"{message.format(v=value)}", "hint": hint})
    return [pd.DataFrame(rows)] if rows else []


INCOME_FIELDS = ("income_per_capita", "net_income_per_capita")
IMPLAUSIBLE_INCOME = 10.0  # yuan a year per person: a value in 万元 typed without its unit, or a typo


def implausible_notes(households, file: str) -> list:
    """A per-capita income above 0 and under 10 yuan a year is not believable (0.5 is 5,000 written
    in 万元, or a typo): a warning at the row, so nobody is identified on it without a look."""
    import pandas as pd

    out = []
    for f in INCOME_FIELDS:
        if f not in households.columns:
            continue
        v = pd.to_numeric(households[f], errors="coerce")
        bad = ((v > 0) & (v < IMPLAUSIBLE_INCOME)).fillna(False).to_numpy(dtype=bool)
        if not bad.any():
            continue
        part = households[bad]
        n = len(part)
        out.append(pd.DataFrame({
            "severity": "warning", "check": "income.implausible", "file": file,
            "sheet": part["_sheet"].astype(object).fillna("").tolist() if "_sheet" in part else [""] * n,
            "row": pd.array(part["_row"].tolist() if "_row" in part else [None] * n, dtype="Int64"),
            "column": "人均纯收入" if f == "income_per_capita" else f,
            "household_id": part["household_id"].astype(object).fillna("").astype(str).tolist() if "household_id" in part else [""] * n,
            "message": [f"人均纯收入 {x:g} 元不可信 (是否以万元填写?)" for x in v[bad]],
            "hint": "核实收入; 以万元填写时请写成“0.5万”或换算为元",
        }))
    return out


MAX_COLUMNS = 1024  # a national roster has ~100 columns; each column costs its own typing pass


def check_grid(grid) -> None:
    """Refuse a sheet with more used columns than a roster can have (16,384 columns of data took
    minutes: every column is typed on its own), before the header is looked for."""
    _check_width(grid.file, grid.sheet, grid.width)


def _check_width(name: str, sheet: str, width: int) -> None:
    limit = _limit("FUPIN_MAX_COLUMNS", MAX_COLUMNS)
    if width > limit:
        where = f"{name}" + (f" 工作表“{sheet}”" if sheet else "")
        raise InputError(f"{where}: 有 {width:,} 列, 超过上限 {limit:,} (too many columns)",
                         "删除数据右侧多余的列后保存; 确实需要时设置 FUPIN_MAX_COLUMNS")


NOT_A_NUMBER = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


def csv_parse_error(name: str, e: Exception) -> InputError:
    """A CSV the parsers cannot split into fields (an unterminated quote ...), as one line."""
    text = " ".join(str(e).split())
    m = re.search(r"row (\d+)", text)
    where = f"第 {int(m.group(1)) + 1} 行起" if m and "EOF inside string" in text else ""
    what = "引号没有结束 (unterminated quote)" if "EOF inside string" in text or "unexpected end" in text else f"无法解析 ({text[:100]})"
    return InputError(f"{name}: {where}{what}", "检查该行的双引号是否成对; 或在 Excel 中打开后另存为“CSV UTF-8”")


def path_for_reader(path: Path, fmt: str):
    """(path to give the Rust reader, holder): the file itself when its extension matches its
    content, else a symlink to it named ``book.xlsx`` / ``book.xls`` in a private temporary folder
    (calamine chooses its parser by extension; the docs promise an .xlsx named .xls is read).
    Keep ``holder`` alive while the path is used."""
    import tempfile

    ok = (".xlsx", ".xlsm") if fmt == "xlsx" else (".xls",)
    if path.suffix.lower() in ok:
        return path, None
    holder = tempfile.TemporaryDirectory(prefix="fupin-read-")
    alias = Path(holder.name) / f"book.{fmt}"
    alias.symlink_to(path.resolve())
    return alias, holder


def plausible_number(value: float) -> bool:
    """A parsed cell number that can stand for a value: finite and at most ±1e15."""
    return math.isfinite(value) and abs(value) <= MAX_NUMBER


def finite_column(values: np.ndarray, valid: np.ndarray) -> bool:
    """Every valid (non-null) value of a typed number column is finite and at most ±1e15
    (a Parquet NaN is a value, not a blank: it must be reported, not taken for missing)."""
    v = values[valid]
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(v)) and np.all(np.abs(v) <= MAX_NUMBER))


__all__ = ["MAX_CELLS", "MAX_NUMBER", "check_xlsx_zip", "finite_column", "max_cells", "plausible_number"]
