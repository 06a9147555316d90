"""Shared rich rendering: DataFrames as tables (ID numbers masked), findings summaries.

Everything printed to a terminal goes through here, so masking happens in one place:
columns that hold ID numbers are masked with :func:`fupin_cli.idnumber.mask`, and any
15/18-character ID-like number inside other text cells is masked too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fupin_cli.findings import FINDING_LABELS_ZH, SEVERITY_LABELS_ZH
from fupin_cli.idnumber import mask, mask_text
from fupin_cli.schema import label

# canonical names and common header texts of columns holding ID numbers
ID_COLUMNS = frozenset({
    "id_number", "head_id_number", "disability_cert", "bank_account",
    label("id_number"), label("head_id_number"), label("disability_cert"), label("bank_account"),
    "身份证号", "身份证号码", "公民身份号码", "户主身份证号", "户主身份证号码", "证件号", "残疾证号码",
})
SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SEVERITY_LABELS_EN = {"error": "error", "warning": "warning", "info": "info"}
PIPE_WIDTH = 160  # columns used when stdout is not a terminal (rich would use 80)


@contextlib.contextmanager
def readable_width(console: Console, width: int = PIPE_WIDTH) -> Iterator[None]:
    """Print wider tables when ``console`` is not a terminal (a pipe, a file) and $COLUMNS is unset."""
    if console.is_terminal or os.environ.get("COLUMNS"):
        yield
        return
    saved = getattr(console, "_width", None)
    console.width = width
    try:
        yield
    finally:
        console._width = saved


def cell_text(value: object, *, masked: bool = False) -> str:
    """One cell as text: missing → "", whole numbers without ".0", ID-like numbers masked."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    elif isinstance(value, pd.Timestamp):
        text = value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat(sep=" ")
    else:
        text = str(value)
    from fupin_cli.cli.common import printable

    return printable(mask(text) if masked else mask_text(text))


def frame_table(
    df: pd.DataFrame,
    *,
    title: str | None = None,
    max_rows: int | None = 20,
    id_columns: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    styles: Mapping[str, str] | None = None,
    justify_right: Sequence[str] = (),
    no_wrap: Sequence[str] = (),
) -> Table:
    """A rich Table of the first ``max_rows`` rows of ``df`` (see :func:`truncation_note`).

    ``id_columns``: more columns to mask (columns named like ID numbers are always masked).
    ``labels``: column name → header text.  ``styles``: column name → rich style.
    ``no_wrap``: short columns kept on one line (the others wrap at the table's width).
    """
    masked = ID_COLUMNS | set(id_columns)
    labels = labels or {}
    shown = df if max_rows is None else df.head(max_rows)
    table = Table(title=title, show_header=True, header_style="bold", show_lines=False)
    for col in df.columns:
        numeric = col in justify_right or pd.api.types.is_numeric_dtype(df[col].dtype)
        table.add_column(cell_text(labels.get(col, col)), justify="right" if numeric else "left",
                         style=(styles or {}).get(col), overflow="fold", no_wrap=col in no_wrap)
    for row in shown.itertuples(index=False, name=None):
        table.add_row(*(Text(cell_text(v, masked=c in masked)) for c, v in zip(df.columns, row)))
    return table


def truncation_note(n_rows: int, max_rows: int | None) -> str | None:
    """The line to print under a table that shows only ``max_rows`` of ``n_rows`` rows."""
    if max_rows is None or n_rows <= max_rows:
        return None
    return f"仅显示前 {max_rows:,} 行，共 {n_rows:,} 行 (first {max_rows:,} of {n_rows:,} rows)"


def severity_label(severity: str, lang: str = "zh") -> str:
    return SEVERITY_LABELS_ZH.get(severity, severity) if lang == "zh" else SEVERITY_LABELS_EN.get(severity, severity)


def findings_labels(lang: str = "zh") -> dict[str, str]:
    return dict(FINDING_LABELS_ZH) if lang == "zh" else {}


def severity_table(summary: Mapping, *, lang: str = "zh", title: str | None = None) -> Table:
    """Counts by severity (from ``checks.summarise``)."""
    zh = lang == "zh"
    table = Table(title=title or ("疑点汇总" if zh else "Findings"), header_style="bold")
    table.add_column("级别" if zh else "severity")
    table.add_column("数量" if zh else "count", justify="right")
    for sev in ("error", "warning", "info"):
        table.add_row(Text(severity_label(sev, lang), style=SEVERITY_STYLES[sev]), f"{summary.get(sev, 0):,}")
    table.add_row(Text("合计" if zh else "total", style="bold"), f"{summary.get('total', 0):,}")
    return table


def checks_table(summary: Mapping, *, lang: str = "zh", title: str | None = None) -> Table:
    """Counts by check and severity (``summary["by_check"]`` from ``checks.summarise``)."""
    zh = lang == "zh"
    table = Table(title=title or ("按检查项" if zh else "By check"), header_style="bold")
    for head, right in ((("级别", "severity"), False), (("检查项", "check"), False), (("说明", "description"), False),
                        (("条数", "count"), True), (("户数", "households"), True)):
        table.add_column(head[0] if zh else head[1], justify="right" if right else "left")
    for c in summary.get("by_check", []):
        table.add_row(Text(severity_label(c["severity"], lang), style=SEVERITY_STYLES.get(c["severity"], "")),
                      c["check"], c.get("label", ""), f"{c['count']:,}", f"{c.get('households', 0):,}")
    return table


def findings_table(findings: pd.DataFrame, *, max_rows: int | None = 20, lang: str = "zh",
                   columns: Sequence[str] = ("severity", "check", "sheet", "row", "column", "household_id", "message")) -> Table:
    """The first ``max_rows`` findings, errors first, then warnings, then notes (each in sheet order;
    messages are already masked)."""
    if "severity" in findings.columns and len(findings):
        order = {"error": 0, "warning": 1, "info": 2}
        findings = findings.iloc[findings["severity"].map(order).fillna(3).argsort(kind="stable")]
    view = findings.loc[:, [c for c in columns if c in findings.columns]].copy()
    if "severity" in view.columns:
        view["severity"] = view["severity"].map(lambda s: severity_label(s, lang))
    title = ("疑点明细" if lang == "zh" else "Findings")
    return frame_table(view, title=title, max_rows=max_rows, labels=findings_labels(lang), justify_right=("row",),
                       no_wrap=("severity", "check", "sheet", "row", "household_id"))
