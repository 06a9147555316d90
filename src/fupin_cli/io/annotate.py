"""``--annotate``: the office's own roster workbook, with the decisions written into it.

A copy of each roster .xlsx (openpyxl, full mode) gets the decision columns (识别结果, 贫困户属性,
主要致贫原因 …) to the right of its own header, or filled into header columns of those names that
already exist, on the rows each household came from (the Roster keeps ``_source``, ``_sheet``,
``_row`` per household and member).  Everything else stays as the office wrote it: title rows,
merged cells, styles, formulas, other sheets, print setup, comments.  A 说明 sheet is added.

What openpyxl cannot carry over is said, never dropped silently: charts, images and pivot tables
(openpyxl does not keep them) are listed in a warning; the cached results of formulas are not kept,
so the copy asks Excel / LibreOffice to recalculate on open (``fullCalcOnLoad``).
"""

from __future__ import annotations

import os
import zipfile
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import InputError, UsageError
from fupin_cli.io.write import atomic_output
from fupin_cli.schema import PROVENANCE_COLUMNS, SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET

ANNOTATABLE = (".xlsx",)
ABOUT_SHEET = "说明"
# parts of an .xlsx that openpyxl does not keep when it saves a workbook
LOST_PARTS = {"xl/charts/": "charts (图表)", "xl/media/": "images (图片)", "xl/pivotTables/": "pivot tables (数据透视表)",
              "xl/vbaProject.bin": "macros (宏)"}


@dataclass
class AnnotateOutcome:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_annotatable(inputs: list[Path]) -> None:
    """Only .xlsx rosters can be annotated (exit 2 before any work)."""
    for p in inputs:
        if p.suffix.lower() not in ANNOTATABLE:
            raise UsageError(f"--annotate: {p.name} is {p.suffix or 'not an .xlsx file'}; only .xlsx rosters can be annotated",
                             "save the roster as .xlsx in Excel or WPS, or drop --annotate (the register has the same decisions)")


def annotate_targets(annotate: Path, inputs: list[Path]) -> dict[Path, Path]:
    """Input file → annotated copy: ``--annotate OUT.xlsx`` for one input, ``--annotate FOLDER`` for any number
    (each copy under its input's file name in FOLDER)."""
    check_annotatable(inputs)
    if annotate.is_dir() or str(annotate).endswith(("/", os.sep)):
        if not annotate.is_dir():
            raise UsageError(f"--annotate folder {annotate} does not exist", "create it first")
        targets = {p: annotate / p.name for p in inputs}
        if len(set(targets.values())) < len(targets):
            raise UsageError("--annotate: two inputs have the same file name", "annotate them into different folders")
        return targets
    if annotate.suffix.lower() != ".xlsx":
        raise UsageError(f"--annotate {annotate.name}: give an .xlsx file name (or an existing folder)", "e.g. --annotate 花名册-识别.xlsx")
    if len(inputs) > 1:
        raise UsageError(f"--annotate {annotate.name}: {len(inputs)} input files need one copy each",
                         "give an existing folder: --annotate out/")
    return {inputs[0]: annotate}


def _text(v: Any) -> Any:
    """A decision value as a cell value: lists joined, NA blank, booleans 是/否, numbers as numbers."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalar
        v = v.item()
    if isinstance(v, (int, float)):
        return v
    return str(v)


def _rows_by_sheet(rows: pd.DataFrame, source_name: str) -> dict[str, dict[int, int]]:
    """{sheet: {excel row: position of the household in the decision frame}} for one file."""
    mine = rows[rows[SOURCE_FILE].astype(str) == source_name]
    out: dict[str, dict[int, int]] = {}
    for sheet, r, k in zip(mine[SOURCE_SHEET].astype(str), mine[SOURCE_ROW], mine["_k"]):
        if r is pd.NA or r != r:
            continue
        out.setdefault(sheet, {}).setdefault(int(r), int(k))
    return out


def _header_span(ws, header_rows: list[int], first_data_row: int) -> tuple[int, int]:
    """(top, bottom) header rows of this sheet: the reader's header rows when they fit, else the row above the data."""
    if header_rows and max(header_rows) < first_data_row:
        top, bottom = min(header_rows), max(header_rows)
        if any(ws.cell(top, c).value not in (None, "") for c in range(1, ws.max_column + 1)):
            return top, bottom
    row = max(first_data_row - 1, 1)
    return row, row


def _last_header_column(ws, top: int, bottom: int) -> int:
    last = 0
    for r in range(top, bottom + 1):
        for c in range(ws.max_column, 0, -1):
            if ws.cell(r, c).value not in (None, ""):
                last = max(last, c)
                break
    for rng in ws.merged_cells.ranges:  # a header merged across columns ends at its last column
        if rng.min_row <= bottom and rng.max_row >= top and rng.min_col <= last:
            last = max(last, rng.max_col)
    return last


def _existing_columns(ws, top: int, bottom: int, last: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in range(top, bottom + 1):
        for c in range(1, last + 1):
            v = ws.cell(r, c).value
            if isinstance(v, str) and v.strip():
                found.setdefault("".join(v.split()), c)
    return found


def _set(cell, value: Any) -> None:
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula


def _annotate_sheet(ws, targets: dict[int, int], values: list[list[Any]], labels: list[str], header_rows: list[int]) -> tuple[dict, int]:
    """Write the decision columns into one sheet; return ({label: column letter + how}, changed cells)."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.utils import get_column_letter

    top, bottom = _header_span(ws, header_rows, min(targets))
    last = _last_header_column(ws, top, bottom)
    existing = _existing_columns(ws, top, bottom, last)
    where: dict[str, str] = {}
    changed = 0
    next_col = last + 1
    for j, lab in enumerate(labels):
        col = existing.get(lab)
        if col is None:
            col = next_col
            next_col += 1
            head = ws.cell(top, col)
            style_from = ws.cell(top, last) if last else None
            _set(head, lab)
            if style_from is not None and style_from.has_style and not isinstance(style_from, MergedCell):
                head._style = copy(style_from._style)
            if bottom > top:
                ws.merge_cells(start_row=top, start_column=col, end_row=bottom, end_column=col)
            ws.column_dimensions[get_column_letter(col)].width = max(10, min(40, 2 * len(lab) + 4))
            where[lab] = f"{get_column_letter(col)} (新增 added)"
            added = True
        else:
            where[lab] = f"{get_column_letter(col)} (原有列 existing)"
            added = False
        for r, k in targets.items():
            cell = ws.cell(r, col)
            if isinstance(cell, MergedCell):  # inside a merged household cell: its top-left row carries the value
                continue
            v = values[j][k]
            if not added and cell.value not in (None, "") and cell.value != v:
                changed += 1
            _set(cell, v)
            if added and last:
                neighbour = ws.cell(r, last)
                if neighbour.has_style and not isinstance(neighbour, MergedCell):
                    cell._style = copy(neighbour._style)
                    cell.number_format = "General"
    return where, changed


def _lost_parts(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        return []
    return [what for prefix, what in LOST_PARTS.items() if any(n.startswith(prefix) for n in names)]


def annotate_workbook(source: Path, target: Path, *, rows: pd.DataFrame, decisions: pd.DataFrame, columns: dict[str, str],
                      header_rows: list[int], about: list[tuple[str, Any]], force: bool = False) -> list[str]:
    """Write ``target``: ``source`` with ``columns`` ({decision column: header label}) filled in.

    ``rows``: household_id, _source, _sheet, _row of every household and member row read from ``source``;
    ``decisions``: household_id + the decision columns.  Returns warnings."""
    import openpyxl

    warnings: list[str] = []
    dec = decisions.drop_duplicates("household_id", keep="first").reset_index(drop=True)
    pos = pd.Series(range(len(dec)), index=dec["household_id"].astype(str))
    r = rows.assign(_k=rows["household_id"].astype(str).map(pos))
    r = r[r["_k"].notna()]
    by_sheet = _rows_by_sheet(r, source.name)
    if not by_sheet:
        raise InputError(f"--annotate: no household of {source.name} has a decision", "check the input file")
    values = [[_text(v) for v in dec[c].tolist()] if c in dec else [None] * len(dec) for c in columns]
    labels = list(columns.values())
    lost = _lost_parts(source)
    try:
        wb = openpyxl.load_workbook(source, rich_text=True)
    except Exception as e:  # encrypted, corrupt
        raise InputError(f"--annotate: openpyxl cannot open {source.name} ({type(e).__name__})",
                         "open and re-save it in Excel or WPS as .xlsx") from None
    notes = []
    for sheet, targets in by_sheet.items():
        if sheet not in wb.sheetnames:
            warnings.append(f"--annotate: sheet {sheet} of {source.name} not found by openpyxl; not annotated")
            continue
        where, changed = _annotate_sheet(wb[sheet], targets, values, labels, header_rows)
        notes.append((f"工作表 {sheet}", f"{len(targets):,} 行写入识别结果; " + "; ".join(f"{k}: {v}" for k, v in where.items())))
        if changed:
            warnings.append(f"--annotate {target.name}: sheet {sheet}: {changed:,} cells of existing decision columns "
                            "held another value and were overwritten with this run's decision")
    if lost:
        warnings.append(f"--annotate {target.name}: {', '.join(lost)} of {source.name} are not kept in the annotated copy "
                        "(openpyxl cannot copy them); the original is unchanged")
    if any(c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row):
        wb.calculation.fullCalcOnLoad = True
        notes.append(("公式 formulas", "原表公式保留; Excel/LibreOffice 打开时重新计算 (cached results are recalculated on open)"))
    name = ABOUT_SHEET if ABOUT_SHEET not in wb.sheetnames else "说明(fupin)"
    ws = wb.create_sheet(name)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90
    for i, (k, v) in enumerate([("项目", "值"), ("原表 (annotated from)", source.name), *notes, *about], start=1):
        _set(ws.cell(i, 1), str(k))
        _set(ws.cell(i, 2), "" if v is None else (v if isinstance(v, (int, float)) else str(v)))
    for w in warnings:
        i += 1
        _set(ws.cell(i, 1), "注意 (warning)")
        _set(ws.cell(i, 2), w)
    with atomic_output(target, force) as tmp:
        wb.save(tmp)
    return warnings


def annotate_rosters(targets: dict[Path, Path], *, households: pd.DataFrame, members: pd.DataFrame | None,
                     sources: list, decisions: pd.DataFrame, columns: dict[str, str], about: list[tuple[str, Any]],
                     force: bool = False) -> AnnotateOutcome:
    """One annotated copy per input file (``targets``: input → output)."""
    keep = ["household_id", *PROVENANCE_COLUMNS]
    frames = [households[keep]]
    if members is not None and len(members) and all(c in members for c in keep):
        frames.append(members[keep])
    rows = pd.concat(frames, ignore_index=True)
    outcome = AnnotateOutcome()
    for source, target in targets.items():
        info = next((s for s in sources if Path(s.path).name == source.name), None)
        header_rows = list(info.header_rows) if info is not None else []
        outcome.warnings += annotate_workbook(source, target, rows=rows, decisions=decisions, columns=columns,
                                              header_rows=header_rows, about=about, force=force)
        outcome.outputs.append(target)
    return outcome
