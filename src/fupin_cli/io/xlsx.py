"""Styled .xlsx writing with XlsxWriter in constant-memory mode, chunked.

Why XlsxWriter directly: on 200k rows × 31 columns it wrote in ~40 s and 0.3 GB, against
113 s and 2.9 GB for pandas+openpyxl (shared/ECOSYSTEM.md §2).  ``DataFrame.to_excel`` with
``constant_memory`` silently loses cells, so rows are written here, in order, with per-column
formats set before any row (a constant-memory requirement).

Text is written with ``write_string`` semantics (``strings_to_formulas`` off), so a cell can
never become a formula.  ID numbers and 户编号 columns get the text format ``@``.  A sheet holds
at most 1,048,575 data rows under its header: more raises :class:`UsageError` — callers write
Parquet/CSV instead and say so.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
import xlsxwriter.utility

from fupin_cli.errors import UsageError
from fupin_cli.io.write import EXCEL_MAX_DATA_ROWS, atomic_output, mask_ids_frame

DEFAULT_FONT = "宋体"  # SimSun: present on Chinese Windows; LibreOffice substitutes a CJK font
CHUNK_ROWS = 20_000
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"

# columns written as text whatever their content (IDs lose digits as numbers)
TEXT_COLUMN_HINTS = ("证件号码", "身份证", "户编号", "人编号", "银行", "电话", "household_id", "id_number", "member_id",
                     "head_id_number", "bank_account", "phone")


def workbook_date() -> dt.datetime:
    """The document date written into every workbook: ``SOURCE_DATE_EPOCH`` when set, else a fixed
    date (so the same inputs and pack give byte-identical .xlsx)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(min(int(epoch), 253402214400), dt.timezone.utc).replace(tzinfo=None)
    return dt.datetime(2000, 1, 1)


def _note_long_cells(sheet: str, df: pd.DataFrame, file: str) -> None:
    """Excel holds at most 32,767 characters a cell: longer text is cut (XlsxWriter does it) —
    never silently: a notice names the sheet, the column and how many cells."""
    from fupin_cli.io.write import EXCEL_MAX_CELL_CHARS, NOTICES

    for col in df.columns:
        s = df[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        lengths = s.map(lambda v: len(v) if isinstance(v, str) else 0)
        n = int((lengths > EXCEL_MAX_CELL_CHARS).sum())
        if n:
            NOTICES.append(f"{file} 工作表“{sheet}” 列“{col}”: {n:,} 个单元格超过 Excel 的 32,767 字符上限, 已截断 "
                           f"(cells cut at Excel's limit; write .csv or .parquet for the full text)")


def _is_text_hint(name: str) -> bool:
    return any(h in str(name) for h in TEXT_COLUMN_HINTS)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


class XlsxBook:
    """A workbook written atomically: ``with XlsxBook(path, force) as book: book.add_table(...)``."""

    def __init__(self, path: str | os.PathLike, force: bool = False, *, font: str = DEFAULT_FONT, constant_memory: bool = True,
                 private: bool = False):
        self.path = Path(path)
        self.force = force
        self.font = font
        self.constant_memory = constant_memory
        self.private = private  # holds full ID numbers: mode at most 0600
        self._ctx = None
        self.wb: xlsxwriter.Workbook | None = None
        self._formats: dict[tuple, Any] = {}

    # -- context -------------------------------------------------------------------------
    def __enter__(self) -> "XlsxBook":
        self._ctx = atomic_output(self.path, self.force, private=self.private)
        tmp = self._ctx.__enter__()
        try:
            self.wb = xlsxwriter.Workbook(
                str(tmp),
                {
                    "constant_memory": self.constant_memory,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                    "strings_to_numbers": False,
                    "default_date_format": DATE_FORMAT,
                },
            )
            self.wb.formats[0].set_font_name(self.font)  # default cell format
            # fixed document dates (docProps/core.xml): the same inputs give the same bytes; XlsxWriter
            # already writes fixed zip entry times.  SOURCE_DATE_EPOCH, when set, is the date used.
            self.wb.set_properties({"creator": "fupin", "comments": "written by fupin", "created": workbook_date()})
        except BaseException as e:
            self._ctx.__exit__(type(e), e, e.__traceback__)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Commit only a workbook whose ``close()`` (which writes the zip) completed.

        An error or Ctrl-C in the ``with`` block, or in ``close()`` itself, discards the temporary
        file and keeps whatever was at the target before (never a half-written workbook)."""
        ctx, self._ctx = self._ctx, None
        if exc_type is None:
            try:
                if self.wb is not None:
                    self.wb.close()
            except BaseException as e:
                self._discard()
                if not ctx.__exit__(type(e), e, e.__traceback__):
                    raise
                return
            ctx.__exit__(None, None, None)
            return
        self._discard()
        ctx.__exit__(exc_type, exc, tb)

    def _discard(self) -> None:
        """Drop an unfinished workbook without writing it (no destructor warning)."""
        if self.wb is not None:
            self.wb.fileclosed = True

    # -- formats -------------------------------------------------------------------------
    def fmt(self, **props) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format({"font_name": self.font, **props})
        return self._formats[key]

    @property
    def header_format(self):
        return self.fmt(bold=True, bg_color="#DDEBF7", border=1, text_wrap=True, valign="vcenter", align="center")

    # -- sheets --------------------------------------------------------------------------
    def add_table(
        self,
        name: str,
        df: pd.DataFrame,
        *,
        text_columns: Sequence[str] = (),
        money_columns: Sequence[str] = (),
        percent_columns: Sequence[str] = (),
        widths: dict[str, float] | None = None,
        freeze: bool = True,
        autofilter: bool = True,
        start_row: int = 0,
        title: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ):
        """Write a frame as a styled table; returns the xlsxwriter worksheet.

        ``progress(rows_written, total_rows)`` is called after each chunk of ``CHUNK_ROWS`` rows
        (commands advance a progress bar with it).
        """
        if not self.private:  # only the register may hold full ID numbers
            df = mask_ids_frame(df)
        _note_long_cells(name, df, self.path.name)
        if len(df) > EXCEL_MAX_DATA_ROWS:
            raise UsageError(
                f"sheet {name}: {len(df):,} rows exceed Excel's limit of {EXCEL_MAX_DATA_ROWS:,} data rows",
                "write .parquet or .csv instead",
            )
        ws = self.wb.add_worksheet(name[:31])
        cols = [str(c) for c in df.columns]
        kinds = self._column_kinds(df, text_columns, money_columns, percent_columns)
        widths = widths or {}
        for j, col in enumerate(cols):
            kind = kinds[j]
            cell_fmt = {
                "text": self.fmt(num_format="@"),
                "money": self.fmt(num_format=MONEY_FORMAT),
                "percent": self.fmt(num_format=PERCENT_FORMAT),
                "date": self.fmt(num_format=DATE_FORMAT),
                "int": self.fmt(num_format="0"),
            }.get(kind)
            width = widths.get(col) or self._guess_width(col, df.iloc[:, j], kind)
            ws.set_column(j, j, width, cell_fmt)
        row = start_row
        if title:
            ws.merge_range(row, 0, row, max(len(cols) - 1, 0), title, self.fmt(bold=True, font_size=14, align="center"))
            row += 1
        ws.set_row(row, 30)
        ws.write_row(row, 0, cols, self.header_format)
        header_row = row
        row += 1
        if self.constant_memory:
            row = _RowWriter(ws, self.wb).write(df, kinds, row, progress)
        else:
            total, done = len(df), 0
            for chunk in _chunks(df, kinds):
                for values in chunk:
                    ws.write_row(row, 0, values)
                    row += 1
                    done += 1
                if progress is not None:
                    progress(done, total)
        if freeze:
            ws.freeze_panes(header_row + 1, 0)
        if autofilter and cols:
            ws.autofilter(header_row, 0, max(row - 1, header_row), len(cols) - 1)
        return ws

    def add_key_values(self, name: str, rows: Iterable[tuple[str, Any]], headers: tuple[str, str] = ("项目", "值")):
        """A two-column sheet (e.g. 说明 / provenance)."""
        ws = self.wb.add_worksheet(name[:31])
        ws.set_column(0, 0, 28)
        ws.set_column(1, 1, 90, self.fmt(text_wrap=True, valign="top"))
        ws.write_row(0, 0, list(headers), self.header_format)
        from fupin_cli.idnumber import mask_text

        for i, (k, v) in enumerate(rows, start=1):
            if isinstance(v, str) and not self.private:
                v = mask_text(v)
            ws.write_string(i, 0, str(k))
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)):
                ws.write_number(i, 1, v)
            else:
                ws.write_string(i, 1, "" if v is None else str(v))
        return ws

    # -- charts and print setup (register, 公示 list and causes report) ------------------
    def add_bar_chart(
        self,
        ws,
        sheet: str,
        *,
        categories_col: int,
        values_cols: Sequence[int],
        n_rows: int,
        title: str,
        anchor: tuple[int, int],
        header_row: int = 0,
        kind: str = "bar",
        stacked: bool = False,
        size: tuple[int, int] = (720, 420),
    ):
        """Insert a native bar/column chart over a table written by :meth:`XlsxBook.add_table`.

        Categories are ``categories_col`` on the ``n_rows`` data rows under ``header_row``; one series
        per column in ``values_cols`` named by its header cell.  LibreOffice and Excel render it.
        """
        chart = self.wb.add_chart({"type": kind, **({"subtype": "stacked"} if stacked else {})})
        font = {"name": self.font}
        first, last = header_row + 1, header_row + n_rows
        for j in values_cols:
            chart.add_series({
                "name": [sheet, header_row, j],
                "categories": [sheet, first, categories_col, last, categories_col],
                "values": [sheet, first, j, last, j],
                "data_labels": {"value": not stacked, "font": font},
                "gap": 60,
            })
        chart.set_title({"name": title, "name_font": {**font, "size": 12, "bold": True}})
        axis = {"num_font": font, "name_font": font}
        # no axis is reversed: a reversed axis draws the chart mirrored in LibreOffice (the value axis runs
        # right to left); a bar chart lists its first category at the bottom, as Excel and LibreOffice do
        chart.set_x_axis(axis)
        chart.set_y_axis(axis)
        chart.set_legend({"none": True} if len(values_cols) == 1 else {"position": "bottom", "font": font})
        chart.set_size({"width": size[0], "height": size[1]})
        ws.insert_chart(anchor[0], anchor[1], chart)
        return chart

    def print_setup(self, ws, *, landscape: bool = True, repeat_rows: tuple[int, int] | None = None,
                    fit_width: bool = True, footer: str = "第 &P 页，共 &N 页"):
        """A4 page setup: orientation, repeated header rows, fit to one page wide, page-number footer."""
        ws.set_paper(9)  # A4
        ws.set_landscape() if landscape else ws.set_portrait()
        if repeat_rows is not None:
            ws.repeat_rows(*repeat_rows)
        if fit_width:
            ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
        if footer:
            ws.set_footer(f"&C&\"{self.font}\"{footer}")
        return ws

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _column_kinds(df, text_columns, money_columns, percent_columns) -> list[str]:
        kinds = []
        for col in df.columns:
            s = df[col]
            name = str(col)
            if name in text_columns or _is_text_hint(name):
                kinds.append("text")
            elif name in money_columns:
                kinds.append("money")
            elif name in percent_columns:
                kinds.append("percent")
            elif pd.api.types.is_bool_dtype(s):
                kinds.append("bool")
            elif pd.api.types.is_integer_dtype(s):
                kinds.append("int")
            elif pd.api.types.is_float_dtype(s):
                kinds.append("float")
            elif pd.api.types.is_datetime64_any_dtype(s):
                kinds.append("date")
            else:
                kinds.append("general")
        return kinds

    @staticmethod
    def _guess_width(name: str, s: pd.Series, kind: str) -> float:
        head = s.head(200)
        if kind in ("money", "float", "int", "percent"):
            content = 12
        elif kind == "date":
            content = 11
        else:
            lengths = [_display_width(str(v)) for v in head.dropna().tolist()]
            content = max(lengths) if lengths else 6
        return float(min(max(_display_width(name), content) + 2, 60))


def _to_cells(s: pd.Series, kind: str) -> list:
    """One column chunk → Python values xlsxwriter writes natively (None = blank)."""
    if kind == "bool":
        arr = s.astype("boolean")
        return [None if v is pd.NA else ("是" if v else "否") for v in arr.tolist()]
    if kind == "text" or kind == "general":
        if pd.api.types.is_numeric_dtype(s) and kind == "general":
            pass
        else:
            vals = s.astype(object).where(s.notna(), None).tolist()
            return [None if v is None else (v if isinstance(v, str) else _plain(v)) for v in vals]
    if kind == "date":
        vals = pd.to_datetime(s, errors="coerce")
        return [None if pd.isna(v) else v.to_pydatetime() for v in vals]
    arr = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    out = arr.astype(object)
    out[np.isnan(arr)] = None
    return out.tolist()


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (pd.Timestamp, dt.date)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    return str(v)


def _chunks(df: pd.DataFrame, kinds: list[str]):
    n = len(df)
    for start in range(0, n, CHUNK_ROWS):
        part = df.iloc[start : start + CHUNK_ROWS]
        columns = [_to_cells(part.iloc[:, j], kinds[j]) for j in range(part.shape[1])]
        yield zip(*columns) if columns else iter([() for _ in range(len(part))])


# -- fast constant-memory rows ------------------------------------------------------------
# XlsxWriter spends ~90% of a large write in its per-cell Python path (type dispatch, the row
# table, one XML element per call).  In constant-memory mode a finished row is only XML text
# in a temporary file, so _RowWriter writes whole 20k-row chunks of that text itself: each
# column is factorised, the XML of each distinct value is made once (the plain case by a
# template taken from XlsxWriter's own output; anything needing escapes by XlsxWriter itself),
# and rows are joined with pyarrow.  The XML is the one XlsxWriter writes for the same cells.
# The table's last row stays in XlsxWriter's row table, as before, so a caller may still add
# cells to it.

_PLAIN_TEXT = re.compile(r'[&<>"_\x00-\x1f\x7f-\x9f\ufffe\uffff]|^\s|\s$')
_STR, _NUM, _DATE = 0, 1, 2


class _Column:
    """One column chunk: ``codes`` into ``uniques`` (-1 = blank) and what each unique is."""

    __slots__ = ("codes", "uniques", "types")

    def __init__(self, codes: np.ndarray, uniques: list, types: list[int] | int):
        self.codes = codes
        self.uniques = uniques
        self.types = types

    def type_of(self, k: int) -> int:
        return self.types if isinstance(self.types, int) else self.types[k]


def _column(s: pd.Series, kind: str) -> _Column:
    """A chunk of one column as factorised cell values, the same values ``_to_cells`` gives."""
    if kind == "bool":
        arr = s.astype("boolean")
        na = arr.isna().to_numpy()
        codes = np.where(na, -1, np.where(arr.fillna(False).to_numpy(dtype=bool), 0, 1))
        return _Column(codes.astype(np.intp), ["是", "否"], _STR)
    if kind == "date":
        codes, uniques = pd.factorize(pd.to_datetime(s, errors="coerce"))
        return _Column(codes, [v.to_pydatetime() for v in uniques], _DATE)
    if kind in ("text", "general") and not (kind == "general" and pd.api.types.is_numeric_dtype(s)):
        if pd.api.types.is_string_dtype(s) and s.dtype != object:
            codes, uniques = pd.factorize(s)
            values, types = list(uniques), _STR
        else:  # object or numeric-as-text: each value as _to_cells makes it (str, int, float or blank)
            cells = _to_cells(s, kind)
            codes, uniques = pd.factorize(np.array(cells, dtype=object))
            values = list(uniques)
            types = [_STR if isinstance(v, str) else _NUM for v in values]
            nan = [k for k, v in enumerate(values) if not isinstance(v, str) and v != v]
            if nan:
                codes = np.where(np.isin(codes, nan), -1, codes)
        empty = [k for k, v in enumerate(values) if isinstance(v, str) and v == ""]
        if empty:  # "" is a blank cell, as write_row makes it
            codes = np.where(codes == empty[0], -1, codes)
        return _Column(codes, values, types)
    arr = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    codes, uniques = pd.factorize(arr)
    negative_zero = (arr == 0) & np.signbit(arr)
    if negative_zero.any():  # factorize merges -0.0 with 0.0; XlsxWriter writes "-0" and "0"
        uniques = np.append(np.where(uniques == 0, 0.0, uniques), -0.0)
        codes = np.where(negative_zero, len(uniques) - 1, codes)
    finite = np.isfinite(uniques)
    if not finite.all():  # ±inf: blank (XlsxWriter would refuse the whole write)
        codes = np.where(np.isin(codes, np.flatnonzero(~finite)), -1, codes)
    return _Column(codes, uniques.tolist(), _NUM)


class _RowWriter:
    def __init__(self, ws, wb):
        self.ws = ws
        self.wb = wb
        self.templates: dict[tuple[int, int], tuple[str, str]] = {}  # (col, type) → (before, after)

    def _capture(self, fn) -> str:
        ws = self.ws
        saved, ws.fh = ws.fh, io.StringIO()
        try:
            fn()
            return ws.fh.getvalue()
        finally:
            ws.fh = saved

    def _cell_xml(self, col: int, value: Any, kind: int) -> str:
        """XlsxWriter's own XML for one cell (format taken from the column), without '<c r="A1'."""
        from xlsxwriter.utility import _utf16_len, _utf16_truncate
        from xlsxwriter.worksheet import CellDatetimeTuple, CellNumberTuple, CellStringTuple

        ws = self.ws
        if kind == _STR:
            if len(value) > ws.xls_strmax // 2 and _utf16_len(value) > ws.xls_strmax:
                value = _utf16_truncate(value, ws.xls_strmax)
            cell = CellStringTuple(value, None)
        elif kind == _NUM:
            cell = CellNumberTuple(value, None)
        else:
            cell = CellDatetimeTuple(ws._convert_date_time(value), ws.default_date_format)
        xml = self._capture(lambda: ws._write_cell(0, col, cell))
        head = f'<c r="{xlsxwriter.utility.xl_col_to_name(col)}1'
        assert xml.startswith(head)
        return xml[len(head):]

    def _template(self, col: int, kind: int) -> tuple[str, str]:
        key = (col, kind)
        if key not in self.templates:
            probe = {_STR: "x", _NUM: 7.0, _DATE: dt.datetime(2000, 1, 1)}[kind]
            xml = self._cell_xml(col, probe, kind)
            mark = {_STR: "<t>x</t>", _NUM: "<v>7</v>", _DATE: "<v>36526</v>"}[kind]
            i = xml.index(mark)
            self.templates[key] = (xml[: i + 3], xml[i + len(mark) - 4 :])
        return self.templates[key]

    def _fragments(self, col: int, c: _Column) -> list[str]:
        """The XML after '<c r="A<row>' of each distinct value of a column chunk."""
        frags = []
        for k, v in enumerate(c.uniques):
            kind = c.type_of(k)
            if kind == _STR and (len(v) > 8000 or _PLAIN_TEXT.search(v)):
                frags.append(self._cell_xml(col, v, kind))
                continue
            before, after = self._template(col, kind)
            if kind == _STR:
                frags.append(f"{before}{v}{after}")
            elif kind == _NUM:
                frags.append(f"{before}{v:.16G}{after}")
            else:
                frags.append(f"{before}{self.ws._convert_date_time(v):.16G}{after}")
        return frags

    def write(self, df: pd.DataFrame, kinds: list[str], row: int, progress) -> int:
        """Write the frame's rows from ``row``; return the row after the last one."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ws, n, ncols = self.ws, len(df), df.shape[1]
        names = [xlsxwriter.utility.xl_col_to_name(j) for j in range(ncols)]
        row_xml = self._capture(lambda: ws._write_row(0, None))
        assert 'r="1"' in row_xml, row_xml
        row_open, row_close = row_xml.split('r="1"', 1)
        for start in range(0, n, CHUNK_ROWS):
            part = df.iloc[start : start + CHUNK_ROWS]
            m = len(part)
            columns = [_column(part.iloc[:, j], kinds[j]) for j in range(ncols)]
            filled = np.zeros(m, dtype=bool)
            for c in columns:
                filled |= c.codes >= 0
            if not filled.any():
                row += m
                continue
            ws._write_single_row(row)  # flush the row still held (the header), as the next write would
            used = [j for j, c in enumerate(columns) if (c.codes >= 0).any()]
            rows = np.flatnonzero(filled)
            self._dimensions(row + int(rows[0]), row + int(rows[-1]), used[0], used[-1])
            # formats get their index in the order XlsxWriter would meet them: by first cell
            for _, j in sorted((int(np.argmax(columns[j].codes >= 0)), j) for j in used):
                c = columns[j]
                self._template(j, c.type_of(int(c.codes[c.codes >= 0][0])))
            last_chunk = start + m >= n
            direct = m - 1 if last_chunk else m  # the table's last row stays in XlsxWriter's table
            numbers = pa.array([str(i) for i in range(row + 1, row + direct + 1)], pa.string())
            if direct:
                cells = []
                for j in used:
                    c = columns[j]
                    frags = pa.array(self._fragments(j, c), pa.string())
                    codes = c.codes[:direct]
                    taken = frags.take(pa.array(codes, mask=codes < 0))
                    cells.append(pc.binary_join_element_wise(f'<c r="{names[j]}', numbers, taken, "").fill_null(""))
                body = pc.binary_join_element_wise(*cells, "") if len(cells) > 1 else cells[0]
                keep = pa.array(filled[:direct])
                xml = pc.binary_join_element_wise(row_open + 'r="', numbers.filter(keep), '"' + row_close,
                                                  body.filter(keep), "</row>", "")
                ws.fh.write("".join(xml.to_pylist()))
            if last_chunk:
                self._keep_last_row(columns, m - 1, row + m - 1)
            ws.previous_row = row + m - 1
            row += m
            if progress is not None:
                progress(start + m, n)
        return row

    def _dimensions(self, first_row: int, last_row: int, first_col: int, last_col: int) -> None:
        ws = self.ws
        ws.dim_rowmin = first_row if ws.dim_rowmin is None else min(ws.dim_rowmin, first_row)
        ws.dim_rowmax = last_row if ws.dim_rowmax is None else max(ws.dim_rowmax, last_row)
        ws.dim_colmin = first_col if ws.dim_colmin is None else min(ws.dim_colmin, first_col)
        ws.dim_colmax = last_col if ws.dim_colmax is None else max(ws.dim_colmax, last_col)

    def _keep_last_row(self, columns: list[_Column], i: int, row: int) -> None:
        from xlsxwriter.utility import _utf16_len, _utf16_truncate
        from xlsxwriter.worksheet import CellDatetimeTuple, CellNumberTuple, CellStringTuple

        ws = self.ws
        for j, c in enumerate(columns):
            k = int(c.codes[i])
            if k < 0:
                continue
            v, kind = c.uniques[k], c.type_of(k)
            if kind == _STR:
                if len(v) > ws.xls_strmax // 2 and _utf16_len(v) > ws.xls_strmax:
                    v = _utf16_truncate(v, ws.xls_strmax)
                ws.table[row][j] = CellStringTuple(v, None)
            elif kind == _NUM:
                ws.table[row][j] = CellNumberTuple(v, None)
            else:
                ws.table[row][j] = CellDatetimeTuple(ws._convert_date_time(v), ws.default_date_format)
