"""The Roster: a county's households and their members as two typed frames.

Produced by :func:`fupin_cli.io.read.read_roster` (or built in memory by tests and the
sample generator).  Column names are canonical field names from :mod:`fupin_cli.schema`;
columns the reader did not recognise are kept under their original header text and listed
in ``passthrough``.  Every row carries its provenance: ``_source`` (file name), ``_sheet``
and ``_row`` (the row number Excel shows; for a household, the row of its first/head record).

Types (pandas):
* str fields → pandas string dtype, stripped, full-width folded; missing → <NA>
* int fields → ``Int64``; float/money → ``Float64``; bool → ``boolean``; date → ``datetime64``
* code fields → canonical label strings (unrecognised values kept as written and reported)
* ``members["household_id"]`` links a member to ``households["household_id"]``
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fupin_cli.findings import empty_findings


@dataclass
class SourceInfo:
    path: str  # as given by the user
    name: str  # file name only (used in findings)
    sha256: str
    format: str  # xlsx | xls | csv | parquet
    sheets: list[str] = field(default_factory=list)
    layout: str = ""  # household | member | member-head-only | member-merged | two-sheet (docs/reading.md)
    encoding: str | None = None  # for csv
    header_rows: list[int] = field(default_factory=list)  # Excel row numbers of the header
    title: str = ""  # title rows above the header, e.g. "XX县2015年建档立卡贫困户花名册" (xlsx/xls/csv)
    layout_evidence: str = ""  # what in the rows decided the layout, per sheet
    skipped_sheets: dict[str, str] = field(default_factory=dict)  # sheet → why it was not read
    # how every column was understood: {sheet, letter, header, field, polarity, method, confidence,
    # unit, scale, candidates} per column (field None: not mapped); see docs/reading.md
    columns: list[dict] = field(default_factory=list)
    column_map: str = ""  # the --columns map applied: "NAME (sha256 …)"


@dataclass
class UnmatchedColumn:
    """A source column the reader could not map to a field, with the fields it likely holds.

    Filled by the reader (issue 8 item 1); read by the engine to decide whether a rule whose
    input field is absent should stop the run (a likely column exists: we failed to read it)
    or go on with the rule marked "not evaluated" (no column could hold it).
    """

    header: str  # header text as written in the source
    source: str = ""  # file name
    sheet: str = ""
    letter: str = ""  # Excel column letter (csv/parquet: the spreadsheet letter of its position)
    # (canonical field name, similarity 0..1), best first; only candidates above the reader's
    # "likely" cutoff are listed
    candidates: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Roster:
    households: pd.DataFrame
    members: pd.DataFrame
    sources: list[SourceInfo] = field(default_factory=list)
    passthrough: list[str] = field(default_factory=list)  # unknown columns kept as written
    # reader notes and value problems, as a Findings frame (severity info/warning/error)
    notes: pd.DataFrame = field(default_factory=empty_findings)
    # canonical field → header text as written in the source (for findings' ``column``)
    source_headers: dict[str, str] = field(default_factory=dict)
    # source columns not mapped to any field, with their likely fields (see UnmatchedColumn)
    unmatched: list[UnmatchedColumn] = field(default_factory=list)

    @property
    def n_households(self) -> int:
        return len(self.households)

    @property
    def n_members(self) -> int:
        return len(self.members)

    def header_of(self, field_name: str) -> str:
        """The header text the source used for a canonical field (or the field's label)."""
        from fupin_cli.schema import label

        return self.source_headers.get(field_name) or label(field_name)
