"""Styled .xlsx writing with XlsxWriter's public API, in constant-memory mode, chunked.

Why XlsxWriter directly: on 200k rows × 31 columns it wrote in ~40 s and 0.3 GB, against
113 s and 2.9 GB for pandas+openpyxl (shared/ECOSYSTEM.md §2).  ``DataFrame.to_excel`` with
``constant_memory`` silently loses cells, so rows are written here, in order, with per-column
formats set before any row (a constant-memory requirement).  Only XlsxWriter's documented API is
used (``write_string`` / ``write_number`` / ``write_datetime`` / ``write_blank`` per cell, row by row:
the fastest public way measured, benchmarks/README.md "Writing"), so any XlsxWriter 3.x or later works.

Text is written with ``write_string`` (``strings_to_formulas`` off), so a cell can never become a
formula.  ID numbers and 户编号 columns get the text format ``@``.  A sheet holds 1,048,576 rows:
a table that does not fit under its heading rows raises :class:`UsageError` before a row is written
— callers write Parquet/CSV instead and say so (nothing is split across sheets).

Every workbook is saved by :func:`save_workbook`: ZIP64 is allowed (a sheet's XML passes 2 GB near
200,000 member rows; small files are byte-identical either way), XlsxWriter's temporary files live
in a private folder removed afterwards (also on Ctrl-C), and the save — minutes for a large
register — reports its progress (``io/progress.py``) instead of freezing the display.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import xlsxwriter

from fupin_cli.errors import UsageError
from fupin_cli.io import progress as _progress
from fupin_cli.io.write import EXCEL_MAX_DATA_ROWS, atomic_output, mask_ids_frame

DEFAULT_FONT = "宋体"  # SimSun: present on Chinese Windows; LibreOffice substitutes a CJK font
CHUNK_ROWS = 20_000
REPORT_ROWS = 1_000  # rows between two progress reports (~1 s for the 87-column register)
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
EXCEL_MAX_ROWS = EXCEL_MAX_DATA_ROWS + 1  # rows a sheet holds, headings included
SAVE_POLL_SECONDS = 0.25

# columns written as text whatever their content (IDs lose digits as numbers)
TEXT_COLUMN_HINTS = ("证件号码", "身份证", "户编号", "人编号", "银行", "电话", "household_id", "id_number", "member_id",
                     "head_id_number", "bank_account", "phone")


def workbook_date() -> dt.datetime:
    """The document date written into every workbook: ``SOURCE_DATE_EPOCH`` when set, else a fixed
    date (so the same inputs and pack give byte-identical .xlsx)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(min(int(epoch), 253402214400), dt.UTC).replace(tzinfo=None)
    return dt.datetime(2000, 1, 1)


# -- workbooks: open, save with progress, clean up ---------------------------------------------
def workbook_options(tmpdir: str, *, constant_memory: bool = True, font: str | None = DEFAULT_FONT) -> dict[str, Any]:
    """The XlsxWriter options of every workbook fupin writes (all documented Workbook() options)."""
    options: dict[str, Any] = {
        "constant_memory": constant_memory,
        "tmpdir": tmpdir,  # a private folder: removed after the save or on failure (full IDs never linger)
        "use_zip64": True,  # a >2 GB sheet XML needs it; smaller files get the same bytes as without
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": DATE_FORMAT,
    }
    if font:
        # the default cell format (xf 0) in this font, not tied to the theme's font (no <scheme>)
        options["default_format_properties"] = {"font_name": font, "font_size": 11, "font_scheme": "none"}
    return options


@contextlib.contextmanager
def open_workbook(path: str | os.PathLike, *, constant_memory: bool = True, font: str | None = DEFAULT_FONT) -> Iterator[Any]:
    """An XlsxWriter workbook at ``path`` (normally a temporary name from :func:`atomic_output`).

    Saved by :func:`save_workbook` when the block succeeds; on an error or Ctrl-C nothing is saved.
    Either way XlsxWriter's temporary files (the constant-memory row data) are removed."""
    clean_stale_workbook_folders()
    tmpdir = tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-")
    try:
        wb = xlsxwriter.Workbook(str(path), workbook_options(tmpdir, constant_memory=constant_memory, font=font))
        yield wb
        save_workbook(wb, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


_TMP_PREFIX = "fupin-xlsx-"
_TMP_FOLDER = re.compile(rf"^{_TMP_PREFIX}(?P<pid>\d+)-[A-Za-z0-9_]+$")


def clean_stale_workbook_folders() -> list[str]:
    """Remove the XlsxWriter temporary folders of runs that died (kill -9, power loss) from the system
    temp folder: ``fupin-xlsx-PID-*`` whose process is gone (they may hold a register's row data)."""
    from fupin_cli.io.write import _alive

    removed = []
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for e in os.scandir(root):
            m = _TMP_FOLDER.match(e.name)
            if m and e.is_dir(follow_symlinks=False) and not _alive(int(m.group("pid"))):
                shutil.rmtree(e.path, ignore_errors=True)
                removed.append(e.path)
    return removed


def save_workbook(wb: Any, tmpdir: str | None = None) -> None:
    """``wb.close()`` — assemble the sheet XML and compress the zip — reporting ``("save", done, total)``.

    XlsxWriter's close is one call with no callback, so a helper thread watches its temporary
    folder ``tmpdir``: the bytes of sheet XML assembled, the parts already compressed (each is
    removed once in the zip) and, where ``/proc`` shows it (Linux), how far into the part being
    compressed the zip has read.  ``total`` is an estimate (twice the row data) and may grow; the
    close itself runs in the calling thread, so Ctrl-C stops it at once."""
    listener = _progress.current()
    watch = _SaveWatch(tmpdir, listener) if listener is not None and tmpdir else None
    if watch is not None:
        watch.start()
    try:
        wb.close()
        if isinstance(wb.filename, (str, os.PathLike)):
            zip64_only_where_needed(wb.filename)
    finally:
        if watch is not None:
            watch.finish()


_CD_ENTRY = struct.Struct("<4s6H3L5H2L")  # central directory file header, 46 bytes
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes


def zip64_only_where_needed(path: str | os.PathLike) -> bool:
    """Rewrite ZIP64 size records of the central directory as plain 32-bit sizes where they fit.

    Python's zipfile switches a member to ZIP64 from 2 GiB (``ZIP64_LIMIT`` is 2**31 - 1), though a
    zip's 32-bit sizes go to 4 GiB; LibreOffice (7.4 here) then refuses the workbook ("source file
    could not be loaded") — and a large register's sheet XML is 2–4 GiB.  Each central-directory
    entry whose sizes fit in 32 bits gets them back in its size fields and loses its ZIP64 extra
    field; local headers keep theirs (readers take sizes from the central directory, and
    LibreOffice opens the result).  Archives needing ZIP64 for offsets, counts or a member of
    4 GiB or more are left as written.  Returns whether the file was changed."""
    with open(path, "r+b") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if end < _EOCD.size:
            return False
        f.seek(end - _EOCD.size)
        eocd = f.read(_EOCD.size)
        sig, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, comment = _EOCD.unpack(eocd)
        if sig != b"PK\x05\x06" or comment or 0xFFFFFFFF in (cd_size, cd_offset) or 0xFFFF in (n_disk, n_total):
            return False  # a comment, or ZIP64 end records: not ours to touch
        f.seek(cd_offset)
        cd = f.read(cd_size)
        out, i, changed = bytearray(), 0, False
        for _ in range(n_total):
            fields = list(_CD_ENTRY.unpack_from(cd, i))
            name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
            head_end = i + _CD_ENTRY.size
            name = cd[head_end:head_end + name_len]
            extra = cd[head_end + name_len:head_end + name_len + extra_len]
            note = cd[head_end + name_len + extra_len:head_end + name_len + extra_len + comment_len]
            i = head_end + name_len + extra_len + comment_len
            compress_size, file_size, offset = fields[8], fields[9], fields[16]
            kept, j = bytearray(), 0
            while j + 4 <= len(extra):
                hid, size = struct.unpack_from("<HH", extra, j)
                block = extra[j:j + 4 + size]
                j += 4 + size
                if hid != 1 or offset == 0xFFFFFFFF:
                    kept += block
                    continue
                values = list(struct.unpack_from(f"<{size // 8}Q", block, 4))
                if file_size == 0xFFFFFFFF and values:
                    file_size = values.pop(0)
                if compress_size == 0xFFFFFFFF and values:
                    compress_size = values.pop(0)
                if values or max(file_size, compress_size) >= 0xFFFFFFFF:
                    return False  # really needs ZIP64
                changed = True
            fields[8], fields[9], fields[11] = compress_size, file_size, len(kept)
            out += _CD_ENTRY.pack(*fields) + name + kept + note
        if not changed:
            return False
        f.seek(cd_offset)
        f.write(out)
        f.write(_EOCD.pack(sig, disk, cd_disk, n_disk, n_total, len(out), cd_offset, 0))
        f.truncate()
        return True


class _SaveWatch(threading.Thread):
    def __init__(self, tmpdir: str, listener: Callable[[str, int, int], None]):
        super().__init__(name="fupin-xlsx-save", daemon=True)
        self.tmpdir = os.path.realpath(tmpdir)
        self.listener = listener
        self.halt = threading.Event()
        self.initial = _sizes(self.tmpdir)  # the row data written so far (before close starts)
        self.rows_bytes = sum(self.initial.values())
        self.seen: dict[str, int] = {}  # parts XlsxWriter assembled → their size
        self.zipped = 0
        self.done = 0
        self.total = max(2 * self.rows_bytes, 1)

    def poll(self) -> None:
        now = _sizes(self.tmpdir)
        for name, size in now.items():
            if name not in self.initial:
                self.seen[name] = max(self.seen.get(name, 0), size)
        for name in [n for n in self.seen if n not in now]:
            self.zipped += self.seen.pop(name)  # compressed into the zip, then removed
        reading = _read_positions(self.tmpdir, set(self.seen))
        assembled = sum(self.seen.values()) + self.zipped
        self.total = max(self.total, self.rows_bytes + assembled, 1)
        done = min(assembled + self.zipped + reading, self.total - 1)
        self.done = max(self.done, done)  # never backwards
        self.listener("save", self.done, self.total)

    def run(self) -> None:
        self.listener("save", 0, self.total)
        while not self.halt.wait(SAVE_POLL_SECONDS):
            try:
                self.poll()
            except Exception:  # a vanished file or an odd /proc: skip this poll, never disturb the save
                continue

    def finish(self) -> None:
        self.halt.set()
        if self.ident is not None:  # started
            self.join(timeout=5)
        self.listener("save", self.total, self.total)


def _sizes(folder: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return out
    for e in entries:
        with contextlib.suppress(OSError):
            out[e.name] = e.stat().st_size
    return out


def _read_positions(folder: str, names: set[str]) -> int:
    """Bytes read so far from files of ``folder`` open read-only in this process (the zip reading a
    part); 0 where /proc/self is not available."""
    fd_dir = "/proc/self/fd"
    if not names or not os.path.isdir(fd_dir):
        return 0
    total = 0
    prefix = folder + os.sep
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
            if not target.startswith(prefix) or os.path.basename(target) not in names:
                continue
            info = dict(line.split(":", 1) for line in Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines() if ":" in line)
            if int(info["flags"].strip(), 8) & 3 == os.O_RDONLY:
                total += int(info["pos"].strip())
        except (OSError, KeyError, ValueError):
            continue
    return total


# -- long text, text columns, widths -------------------------------------------------------
def _note_long_cells(sheet: str, df: pd.DataFrame, file: str) -> None:
    """Excel holds at most 32,767 characters a cell: longer text is cut (XlsxWriter does it) —
    never silently: a notice names the sheet, the column and how many cells."""
    from fupin_cli.io.write import EXCEL_MAX_CELL_CHARS, NOTICES

    for col in df.columns:
        s = df[col]
        if pd.api.types.is_string_dtype(s) and s.dtype != object:
            n = int((s.str.len() > EXCEL_MAX_CELL_CHARS).sum())
        elif s.dtype == object:
            lengths = s.map(lambda v: len(v) if isinstance(v, str) else 0)
            n = int((lengths > EXCEL_MAX_CELL_CHARS).sum())
        else:
            continue
        if n:
            NOTICES.append(f"{file} 工作表“{sheet}” 列“{col}”: {n:,} 个单元格超过 Excel 的 32,767 字符上限, 已截断 "
                           f"(cells cut at Excel's limit; write .csv or .parquet for the full text)")


def rows_fit(first_data_row: int, rows_after: int = 0) -> int:
    """How many data rows a sheet can take from ``first_data_row`` (0-based) keeping ``rows_after``
    rows below them (signature lines).  XlsxWriter drops cells past the sheet's end without an error."""
    return EXCEL_MAX_DATA_ROWS + 1 - first_data_row - rows_after


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
        self._stack: contextlib.ExitStack | None = None
        self.wb: Any = None
        self._formats: dict[tuple, Any] = {}

    # -- context -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:  # unwinds what was opened if a later step fails
            tmp = stack.enter_context(atomic_output(self.path, self.force, private=self.private))
            self.wb = stack.enter_context(open_workbook(tmp, constant_memory=self.constant_memory, font=self.font))
            # fixed document dates (docProps/core.xml): the same inputs give the same bytes; XlsxWriter
            # already writes fixed zip entry times.  SOURCE_DATE_EPOCH, when set, is the date used.
            self.wb.set_properties({"creator": "fupin", "comments": "written by fupin", "created": workbook_date()})
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        """Commit only a workbook whose save (which writes the zip) completed.

        An error or Ctrl-C in the ``with`` block, or in the save itself, discards the temporary
        file and keeps whatever was at the target before (never a half-written workbook)."""
        stack, self._stack = self._stack, None
        try:
            return bool(stack.__exit__(exc_type, exc, tb)) if stack is not None else False
        finally:
            self.wb = None


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
        first_data_row = start_row + (1 if title else 0) + 1
        limit = rows_fit(first_data_row)
        if len(df) > limit:  # XlsxWriter would drop the rows past the sheet's end without a word
            raise UsageError(
                f"sheet {name}: {len(df):,} rows exceed Excel's limit of {limit:,} data rows",
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
            title_format = self.fmt(bold=True, font_size=14, align="center")
            if len(cols) > 1:
                ws.merge_range(row, 0, row, len(cols) - 1, title, title_format)
            else:  # Excel merges no single cell
                ws.write_string(row, 0, title, title_format)
            row += 1
        ws.set_row(row, 30)
        ws.write_row(row, 0, cols, self.header_format)
        header_row = row
        row += 1
        row = write_frame_rows(ws, df, kinds, row, _progress.rows_reporter(progress))
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


# -- rows: the public per-cell writers, one row after the other ------------------------------
CELL_TEXT, CELL_NUMBER, CELL_DATE, CELL_MIXED = 0, 1, 2, 3


def _to_cells(s: pd.Series, kind: str) -> list:
    """One column chunk → Python values XlsxWriter writes natively (None = blank).

    Text stays text, numbers are floats (NaN, ±inf and pd.NA blank), dates are ``datetime``,
    booleans 是/否, lists joined with 、; "" is blank (as ``write_row`` makes it)."""
    if kind == "bool":
        flags = s.astype("boolean")
        return [None if v is pd.NA else ("是" if v else "否") for v in flags.tolist()]
    if kind in ("text", "general") and not (kind == "general" and pd.api.types.is_numeric_dtype(s)):
        if pd.api.types.is_string_dtype(s) and s.dtype != object:
            vals = s.astype(object).where(s.notna(), None).tolist()
            return [None if not v else v for v in vals]
        objects = s.astype(object).where(s.notna(), None).tolist()
        cells = [None if v is None else (v if isinstance(v, str) else _plain(v)) for v in objects]
        return [None if v == "" else v for v in cells]
    if kind == "date":
        dates = pd.to_datetime(s, errors="coerce")
        return [None if pd.isna(v) else v.to_pydatetime() for v in dates]
    arr = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    numbers = arr.astype(object)
    numbers[~np.isfinite(arr)] = None
    return numbers.tolist()


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (pd.Timestamp, dt.date)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    return str(v)


def _cell_type(kind: str, values: list) -> int:
    if kind == "date":
        return CELL_DATE
    if kind in ("bool",):
        return CELL_TEXT
    if kind in ("text", "general"):
        types = {type(v) for v in values if v is not None}
        if types <= {str}:
            return CELL_TEXT
        if types <= {int, float}:
            return CELL_NUMBER
        return CELL_MIXED
    return CELL_NUMBER


class RowWriter:
    """Writes columns of cell values into a worksheet, row after row, through XlsxWriter's public
    ``write_string`` / ``write_number`` / ``write_datetime`` / ``write_blank`` (the order a
    constant-memory sheet needs).  ``formats[j]`` is column j's cell format (None: the column's
    ``set_column`` format); ``blank_formats[j]``, when not None, is written into blank cells (borders
    of a printed table)."""

    def __init__(self, ws: Any, formats: Sequence[Any] | None = None, blank_formats: Sequence[Any] | None = None):
        self.ws = ws
        self.formats = formats
        self.blank_formats = blank_formats

    def _writer(self, kind: int) -> Callable[..., Any]:
        ws = self.ws
        if kind == CELL_TEXT:
            return ws.write_string
        if kind == CELL_NUMBER:
            return ws.write_number
        if kind == CELL_DATE:
            return ws.write_datetime
        write_string, write_number = ws.write_string, ws.write_number

        def write_any(r: int, j: int, v: Any, f: Any) -> Any:
            return write_string(r, j, v, f) if v.__class__ is str else write_number(r, j, v, f)

        return write_any

    def write(self, row: int, columns: Sequence[tuple[list, int]], n: int,
              progress: Callable[[int], None] | None = None) -> int:
        """Write ``n`` rows from ``row``: ``columns[j] = (values, kind)``; return the row after the last.

        ``progress(rows_done)`` every ``REPORT_ROWS`` rows (a wide sheet's 20k-row chunk is ~20 s of
        XlsxWriter's per-cell work: reported per chunk alone, the display would stall that long)."""
        formats = self.formats or [None] * len(columns)
        blanks = self.blank_formats or [None] * len(columns)
        write_blank = self.ws.write_blank
        specs = [(j, vals, self._writer(kind), formats[j], blanks[j]) for j, (vals, kind) in enumerate(columns)]
        framed = any(b is not None for b in blanks)  # a blank cell gets its (border) format
        dense = [(j, vals, w, f) for j, vals, w, f, _ in specs]
        for first in range(0, n, REPORT_ROWS):
            for i in range(first, min(first + REPORT_ROWS, n)):
                r = row + i
                if framed:
                    for j, vals, w, f, b in specs:
                        v = vals[i]
                        if v is not None:
                            w(r, j, v, f)
                        elif b is not None:
                            write_blank(r, j, None, b)
                    continue
                for j, vals, w, f in dense:
                    v = vals[i]
                    if v is not None:
                        w(r, j, v, f)
            if progress is not None:
                progress(min(first + REPORT_ROWS, n))
        return row + n


def write_frame_rows(ws: Any, df: pd.DataFrame, kinds: list[str], row: int,
                     progress: Callable[[int, int], None] | None = None,
                     formats: Sequence[Any] | None = None, blank_formats: Sequence[Any] | None = None) -> int:
    """Write the frame's rows from ``row`` in chunks of ``CHUNK_ROWS``; ``progress(done, total)``
    every ``REPORT_ROWS`` rows.  Returns the row after the last one."""
    writer = RowWriter(ws, formats, blank_formats)
    n = len(df)
    for start in range(0, n, CHUNK_ROWS):
        part = df.iloc[start : start + CHUNK_ROWS]
        columns = []
        for j in range(part.shape[1]):
            values = _to_cells(part.iloc[:, j], kinds[j])
            columns.append((values, _cell_type(kinds[j], values)))
        report = None if progress is None else (lambda done, start=start: progress(start + done, n))
        row = writer.write(row, columns, len(part), report)
    return row
