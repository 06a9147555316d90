"""Tiny workbooks for the reader tests, built inline with XlsxWriter (.xls: saved by LibreOffice)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

# a merged range: (first_row, first_col, last_row, last_col, value), 0-based
Merge = tuple[int, int, int, int, object]


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], merges: dict[str, list[Merge]] | None = None) -> Path:
    """Rows of values per sheet (None = no cell); datetimes get a date format; merges on top."""
    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, (dt.date, dt.datetime)):
                    ws.write_datetime(r, c, v, date_fmt)
                elif isinstance(v, str):
                    ws.write_string(r, c, v)
                else:
                    ws.write(r, c, v)
        for r0, c0, r1, c1, v in (merges or {}).get(name, []):
            ws.merge_range(r0, c0, r1, c1, v)
    wb.close()
    return path


def write_xls(path: Path, sheets: dict[str, list[list[object]]], merges: dict[str, list[Merge]] | None = None) -> Path:
    """The same workbook as :func:`write_xlsx`, saved as .xls by LibreOffice (skips where soffice is absent)."""
    import pytest

    from fupin_cli.io.office import convert, soffice

    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: no .xls writer")
    xlsx = write_xlsx(path.with_suffix(".src.xlsx"), sheets, merges)
    convert(xlsx, path, "test .xls")
    xlsx.unlink()
    return path


def notes_of(roster, check: str) -> list[tuple[int, str, str]]:
    """(row, severity, message) of the roster's notes with this check id."""
    n = roster.notes[roster.notes["check"] == check]
    return [(int(r), s, m) for r, s, m in zip(n["row"], n["severity"], n["message"])]
