"""Excel workbooks (.xlsx, .xls) → :class:`Grid` per sheet.

Cell values come from ``fastexcel`` (calamine, in Rust) with ``dtypes="string"`` for every
column, so nothing is inferred: fastexcel's default samples 1,000 rows to pick a column type
and silently turns later mismatching cells into nulls (``shared/ECOSYSTEM.md`` §1).

What the text rendering loses is taken from elsewhere:

* **where the grid starts** – calamine drops leading empty rows and columns; the first
  column is ``ColumnInfo.absolute_index``, the first row is found in the sheet XML.
* **merged ranges** – for .xlsx the ``<mergeCells>`` element at the end of the sheet XML,
  found while streaming the zip member once (python-calamine's ``merged_cell_ranges`` works
  for .xlsx and .xls but re-parses the whole workbook: 12.5 s against 1.4 s on the 49 MB
  benchmark file); for .xls (≤ 65,536 rows) python-calamine.
* **cells stored as numbers** (ID numbers typed as numbers) – for .xlsx the same XML pass
  reads the cell type attribute of the ID columns; for .xls, or an .xlsx without cell
  references, a second fastexcel load of those columns as ``boolean`` (non-null exactly
  where the cell is a number or a boolean; text cells are refused).
"""

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from posixpath import join, normpath
from typing import cast

import numpy as np

from fupin_cli.errors import InputError
from fupin_cli.io.guard import check_xlsx_zip, path_for_reader
from fupin_cli.io.read_grid import Grid, Merge, column_index, frame_from_arrow

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 24


def file_kind(path: Path) -> str:
    """``zip`` | ``ole2`` | ``encrypted`` | ``other`` from the first bytes of the file."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head.startswith(ZIP_MAGIC):
            return "zip"
        if head == OLE2_MAGIC:
            # the CFB directory may sit anywhere: look for the stream names in the whole file
            names = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
            f.seek(0)
            tail = b""
            for block in iter(lambda: f.read(1 << 20), b""):
                data = tail + block
                if any(n in data for n in names):
                    return "encrypted"
                tail = data[-64:]
            return "ole2"
    return "other"


def encrypted_error(name: str) -> InputError:
    return InputError(
        f"{name}: 文件已加密 (encrypted: remove the password in Excel)",
        "在 Excel 中打开, 文件 → 信息 → 保护工作簿 → 用密码进行加密, 清空密码后另存为 .xlsx",
    )


def corrupt_error(name: str, fmt: str, detail: str) -> InputError:
    return InputError(
        f"{name}: 文件已损坏或不是有效的 .{fmt} 文件 (corrupt {fmt}: {detail})",
        "用 Excel 或 WPS 打开并另存为 .xlsx 后重试",
    )


class Workbook:
    """An Excel file opened read-only: sheet names and :meth:`load` of one sheet as a Grid."""

    def __init__(self, path: Path, fmt: str):
        import fastexcel

        self.path = path
        self.name = path.name
        kind = file_kind(path)
        if kind == "encrypted":
            raise encrypted_error(self.name)
        if kind == "zip":
            self.fmt = "xlsx"
            try:
                with zipfile.ZipFile(path) as zf:
                    bad = zf.testzip() if path.stat().st_size < (8 << 20) else None
                    if bad:
                        raise corrupt_error(self.name, "xlsx", f"damaged member {bad}")
                    self._sheet_xml = _sheet_xml_paths(zf)
                    self._formulas = check_xlsx_zip(path, zf, self._sheet_xml)  # bombs, huge ranges: before calamine
                    self._sst = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in zf.namelist() else None
            except (zipfile.BadZipFile, OSError, KeyError, EOFError) as e:
                raise corrupt_error(self.name, "xlsx", str(e) or type(e).__name__) from None
        elif kind == "ole2":
            self.fmt = "xls"
            self._sheet_xml, self._sst, self._formulas = {}, None, {}
        else:
            raise corrupt_error(self.name, fmt, "not an Excel workbook")
        # calamine picks its parser from the extension: an .xlsx named .xls is opened under its real type
        self._open, self._alias_dir = path_for_reader(path, self.fmt)
        try:
            self._reader = fastexcel.read_excel(str(self._open))
            self.sheet_names: list[str] = list(self._reader.sheet_names)
            self._visible: dict[str, bool] = {}
        except Exception as e:  # fastexcel/calamine raise their own error types
            raise _calamine_error(self.name, self.fmt, e) from None

    def load(self, sheet: str) -> Grid:
        # the XML pass runs in a thread while fastexcel (Rust, GIL released) parses the sheet
        scan = _XlsxScan(self.path, self._sheet_xml.get(sheet), sst=self._sst) if self.fmt == "xlsx" else None
        thread = threading.Thread(target=scan.run, daemon=True) if scan else None
        if thread:
            thread.start()
        try:
            s = self._reader.load_sheet(sheet, header_row=None, dtypes="string", schema_sample_rows=None)
            self._visible[sheet] = str(getattr(s, "visible", "visible")).lower() == "visible"  # hidden / veryhidden
            batch = s.to_arrow()
            col_offset = s.available_columns()[0].absolute_index if s.width else 0
        except Exception as e:
            raise _calamine_error(self.name, self.fmt, e) from None
        finally:
            if thread:
                thread.join()
        cells = frame_from_arrow(batch.columns)
        grid = Grid(self.name, sheet, cells, 0, col_offset)
        grid.formulas = self._formulas.get(sheet, [])  # untrusted formula cells (io/guard.py)
        if not len(cells):
            return grid
        if scan is not None:
            if scan.error is not None:
                raise scan.error
            first = scan.first_row
            if first is None or scan.last_row is None or scan.last_row - first + 1 != s.total_height:
                first, grid.merges = _calamine_layout(self._open, sheet)  # unusual XML: ask calamine
            else:
                grid.merges = scan.merges
            grid.row_offset = first
            grid.numeric_cells = lambda cols: scan.numeric_cells(cols, grid, self._bool_numeric_cells)
        else:
            grid.row_offset, grid.merges = _calamine_layout(self._open, sheet)
            grid.numeric_cells = lambda cols: self._bool_numeric_cells(grid, cols)
        return grid

    def is_visible(self, sheet: str) -> bool:
        """Whether a loaded sheet is visible (hidden and very hidden sheets: False)."""
        return self._visible.get(sheet, True)

    def _bool_numeric_cells(self, grid: Grid, cols: Sequence[int]) -> dict[int, np.ndarray]:
        """Numeric cells by a second load as ``boolean``: text cells come back null."""
        # use_columns takes absolute column indexes; rows start at the used range like the text load
        s = self._reader.load_sheet(grid.sheet, header_row=None, dtypes="boolean", use_columns=list(cols),
                                    schema_sample_rows=None)
        batch = s.to_arrow()
        out = {}
        for c, arr in zip(cols, batch.columns):
            valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            out[c] = np.flatnonzero(valid) + grid.row_offset
        return out


def _calamine_error(name: str, fmt: str, e: Exception) -> InputError:
    text = str(e)
    if "password" in text.lower() or "encrypt" in text.lower() or type(e).__name__ == "PasswordError":
        return encrypted_error(name)
    return corrupt_error(name, fmt, text.splitlines()[0][:120] if text else type(e).__name__)


def _calamine_layout(path: Path, sheet: str) -> tuple[int, list[Merge]]:
    """First row of the used range and the merged ranges, from python-calamine."""
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        sh = wb.get_sheet_by_name(sheet)
        merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sh.merged_cell_ranges or [])]
        return (sh.start[0] if sh.start else 0), merges
    except Exception as e:
        raise _calamine_error(path.name, path.suffix.lstrip("."), e) from None


def _sheet_xml_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → path of its XML part inside the .xlsx zip."""
    wb = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    targets = {}
    for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if "Id" in attrs and "Target" in attrs:
            t = attrs["Target"]
            targets[attrs["Id"]] = t.lstrip("/") if t.startswith("/") else normpath(join("xl", t))
    out = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if "name" in attrs and rid in targets:
            out[_xml_unescape(attrs["name"])] = targets[rid]
    return out


def _xml_unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"')


class _XlsxScan:
    """One streaming pass over a sheet's XML: used rows, merges and numeric cells of some columns.

    ``guess`` names the columns whose numeric cells are collected in that pass (the likely ID
    columns, from the top rows' text); other columns asked for later cost another pass.
    """

    def __init__(self, path: Path, xml_path: str | None, sst: str | None = None):
        self.path = path
        self.xml_path = xml_path
        self.sst = sst
        self.first_row: int | None = None  # 0-based
        self.last_row: int | None = None
        self.merges: list[Merge] = []
        self.has_refs = False
        self.numeric: dict[int, np.ndarray] = {}
        self.error: InputError | None = None

    def run(self) -> None:
        """The first pass; the ID columns are guessed from the XML's own top rows."""
        if self.xml_path is None:
            return
        try:
            self.numeric = self._scan(first_pass=True, cols=None)
        except InputError as e:
            self.error = e
        except Exception as e:  # never let the thread die silently: report as a corrupt file
            self.error = corrupt_error(self.path.name, "xlsx", f"{type(e).__name__}: {e}"[:120])

    def _chunks(self):
        """(buffer, end): each buffer holds whole tags up to ``end`` (the last ``<``)."""
        carry = b""
        for block in _inflate(self.path, cast(str, self.xml_path)):  # run() returns first when there is none
            buf = carry + block
            cut = buf.rfind(b"<")
            carry = buf[cut:]
            yield buf, cut
        if carry:
            yield carry, len(carry)

    def _scan(self, first_pass: bool, cols: Sequence[int] | None) -> dict[int, np.ndarray]:
        patterns: dict[int, re.Pattern] = {}
        found: dict[int, list[bytes]] = {}
        try:
            for buf, end in self._chunks():
                if cols is None:  # first block: guess the ID columns from the header text
                    cols = _xml_id_columns(buf, end, self.path, self.sst)
                if not patterns and cols:
                    patterns = {c: _number_cells_pattern(c) for c in cols}
                    found = {c: [] for c in cols}
                if first_pass:
                    self._used_rows(buf, end)
                    at = buf.find(b"<mergeCell ", 0, end)  # after </sheetData>: skip the regex elsewhere
                    if at >= 0:
                        self.merges.extend(_merge_tuple(m) for m in _MERGE.findall(buf, at, end))
                for c, pat in patterns.items():
                    found[c].extend(pat.findall(buf, 0, end))
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
            raise corrupt_error(self.path.name, "xlsx", str(e) or type(e).__name__) from None
        return {c: np.array([int(r) - 1 for r in rows], dtype=np.int64) for c, rows in found.items()}

    def _used_rows(self, buf: bytes, end: int) -> None:
        if self.first_row is None:
            starts = [i for i in (buf.find(b"<v>", 0, end), buf.find(b"<v ", 0, end), buf.find(b"<is>", 0, end)) if i >= 0]
            if starts:
                row = _row_before(buf, min(starts))
                if row is not None:
                    self.first_row = row
                    self.has_refs = True
        last = max(buf.rfind(b"</v>", 0, end), buf.rfind(b"</is>", 0, end))
        if last >= 0:
            row = _row_before(buf, last)
            if row is not None:
                self.last_row = row

    def numeric_cells(self, cols: Sequence[int], grid: Grid, fallback) -> dict[int, np.ndarray]:
        if not cols:
            return {}
        if not self.has_refs:
            return fallback(grid, cols)
        missing = [c for c in cols if c not in self.numeric]
        if missing:
            self.numeric.update(self._scan(first_pass=False, cols=missing))
        return {c: self.numeric[c] for c in cols}


def _number_cells_pattern(col: int) -> re.Pattern:
    """``<c r="T12" ...>`` start tags of cells with a value and no text/bool/error/date type."""
    from fupin_cli.io.read_grid import column_letter

    return re.compile(b'<c r="' + column_letter(col).encode() + rb'(\d+)"' + _NOT_TEXT + rb"[^>/]*>")


_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_CELL = re.compile(rb'<c r="([A-Z]+)\d+"([^>]*?)(?:/>|>(.*?)</c>)', re.DOTALL)
_T = re.compile(rb"<t[^>]*>([^<]*)</t>")
_V = re.compile(rb"<v>([^<]*)</v>")


def _xml_id_columns(buf: bytes, end: int, path: Path, sst: str | None, rows: int = 15) -> list[int]:
    """Columns whose text in the first ``rows`` rows of the sheet XML names an ID field."""
    from fupin_cli.io.read_values import ID_FIELDS
    from fupin_cli.schema import field_for_header

    stop = end
    for i, m in enumerate(_ROW_END.finditer(buf, 0, end)):
        if i + 1 >= rows:
            stop = m.end()
            break
    cells: list[tuple[int, bytes, bytes]] = []
    wanted: set[int] = set()
    for col, attrs, body in _CELL.findall(buf, 0, stop):
        if b't="s"' in attrs:
            v = _V.search(body or b"")
            if v:
                wanted.add(int(v.group(1)))
        cells.append((column_index(col.decode()), attrs, body or b""))
    shared = _shared_strings(path, sst, max(wanted) + 1) if wanted else []
    out: set[int] = set()
    for col, attrs, body in cells:
        if b't="s"' in attrs:
            v = _V.search(body)
            k = int(v.group(1)) if v else -1
            text = shared[k] if 0 <= k < len(shared) else ""
        elif b't="inlineStr"' in attrs:
            text = _xml_unescape(b"".join(_T.findall(body)).decode("utf-8", "replace"))
        else:
            v = _V.search(body)
            text = _xml_unescape(v.group(1).decode("utf-8", "replace")) if v else ""
        if text and (field_for_header(text) in ID_FIELDS or "身份证" in text or "证件号" in text):
            out.add(col)
    return sorted(out)


def _shared_strings(path: Path, sst: str | None, count: int, limit: int = 32 << 20) -> list[str]:
    """The first ``count`` shared strings (reads no more of the part than needed)."""
    if sst is None:
        return []
    data, out = b"", []
    for block in _inflate(path, sst):
        data += block
        done = data.count(b"</si>") >= count or len(data) > limit
        if done:
            break
    data = re.sub(rb"<rPh\b.*?</rPh>", b"", data, flags=re.DOTALL)  # phonetic runs are not cell text
    for si in re.findall(rb"<si>(.*?)</si>", data, flags=re.DOTALL)[:count]:
        out.append(_xml_unescape(b"".join(_T.findall(si)).decode("utf-8", "replace")))
    return out


def _inflate(path: Path, member: str):
    """Decompressed blocks of a zip member, straight through zlib (no CRC pass: the file is
    only scanned here; fastexcel has already read and checked the same member)."""
    import struct
    import zlib

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        with zipfile.ZipFile(path) as zf, zf.open(member) as f:
            yield from iter(lambda: f.read(_CHUNK), b"")
        return
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        head = f.read(30)
        if head[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        left = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        while left > 0:
            raw = f.read(min(1 << 21, left))
            if not raw:
                raise EOFError("zip member truncated")
            left -= len(raw)
            if inflater is None:
                yield raw
                continue
            while raw:  # bounded output: at most one chunk per call
                try:
                    block = inflater.decompress(raw, _CHUNK)
                except zlib.error as e:
                    raise zipfile.BadZipFile(str(e)) from None
                if block:
                    yield block
                raw = inflater.unconsumed_tail
        if inflater:
            tail = inflater.flush()
            if tail:
                yield tail


_NOT_TEXT = rb'(?![^>]*\bt="(?:s|str|inlineStr|b|e|d)")'


def _row_before(buf: bytes, pos: int) -> int | None:
    lo = max(pos - 4096, 0)  # a cell's start tag is close before its value
    start = max(buf.rfind(b"<c ", lo, pos), buf.rfind(b":c ", lo, pos))
    if start < 0:
        return None
    m = _CELL_REF.search(buf, max(start - 4, 0), pos)
    return int(m.group(2)) - 1 if m else None


def _merge_tuple(m: tuple[bytes, bytes, bytes, bytes]) -> Merge:
    c0, r0 = column_index(m[0].decode()), int(m[1]) - 1
    if m[2]:
        c1, r1 = column_index(m[2].decode()), int(m[3]) - 1
    else:
        c1, r1 = c0, r0
    return (r0, c0, r1, c1)


__all__ = ["Workbook", "corrupt_error", "encrypted_error", "file_kind"]
