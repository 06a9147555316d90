"""Shared CLI pieces: consoles, option aliases, and the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
import traceback
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fupin_cli.errors import EXIT_INTERNAL, FupinError

# results → stdout; progress, diagnostics and errors → stderr.
# Piped or redirected output (no terminal, no $COLUMNS) gets wide tables instead of rich's
# 80-column default, which wraps Chinese cells character by character.
PIPE_WIDTH = 160


def _width(stream) -> int | None:
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return PIPE_WIDTH


out = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))


class State:
    debug: bool = False
    config: Path | None = None  # `fupin --config PATH` (else fupin.toml in the working folder; cli/config.py)


state = State()


class Lang(str, Enum):
    zh = "zh"
    en = "en"


# ---- option aliases, defined once -------------------------------------------------------
# One --year rule for every command (docs/cli.md "--year"): the parser takes 2000–2100 (a sanity bound below
# every shipped pack's era; tests/test_cli_basics.py checks it), then every command that applies a rule pack
# checks the year against that pack's era (pack.yaml valid_from/valid_until, engine.params.check_era) before any
# other use of the year: exit 3 naming the pack's years.  No command has a range of its own.
YEAR_MIN, YEAR_MAX = 2000, 2100
YEAR_RULE = "2000–2100; a year outside the rule pack's years (`fupin rules show PACK`) stops with exit 3."
YearOpt = Annotated[int, typer.Option("--year", "-y", help=(
    "Assessment year = the income year (识别/评估年度): the pack's values of that year apply to that year's income, "
    "ages on 31 December of it. The 2014 建档立卡 exercise used 2013 income: --year 2013 (line 2736). " + YEAR_RULE),
    min=YEAR_MIN, max=YEAR_MAX)]
RegionOpt = Annotated[str | None, typer.Option("--region", "-r", help="Region for parameters: 重庆, 重庆市 or 500000. Default: fupin.toml's region, else inferred from the roster (省/市/县 columns, title, ID area codes), else the pack's region; a contradiction with the roster stops the run.")]
PackOpt = Annotated[str | None, typer.Option("--pack", "-p", help="Rule pack: a shipped pack name (national-2014, monitoring-2021, chongqing) or a folder. Default: fupin.toml's pack, else the region's provincial pack when there is one (重庆 → chongqing), else the national pack.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Output file (.xlsx, .csv or .parquet).", dir_okay=False)]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing output files.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout and nothing else.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display and no summary table.")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of output column labels.")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help="Sheet to read (default: auto-detect the roster sheet(s)).")]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="Encoding of a CSV roster (default: detect UTF-8 / GBK).")]
AllowErrorsOpt = Annotated[bool, typer.Option("--allow-errors", help="Go on despite data errors: the households concerned become 待核实 with the error as the reason.")]
PublicityStartOpt = Annotated[dt.datetime | None, typer.Option("--publicity-start", help="First day of the 公示 period (YYYY-MM-DD); blank lines when omitted.", formats=["%Y-%m-%d"])]
PhoneOpt = Annotated[str, typer.Option("--phone", help="监督电话 printed on the 公示 list.")]
AnnotateOpt = Annotated[Path | None, typer.Option(
    "--annotate", help="Also write a copy of the roster workbook itself (.xlsx) with the decision columns added on the "
                       "households' own rows; a folder: one copy per input file, under its own name.")]
AllowMissingOpt = Annotated[list[str] | None, typer.Option(
    "--allow-missing", metavar="FIELD",
    help="Confirm that the roster does not collect FIELD (name or column label, e.g. vehicle_value or 车辆价值; "
         "repeat or separate with commas): the rules that need it are reported as not evaluated instead of stopping "
         "the run because an unmatched column looks like it.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Stop (exit 1) when any rule cannot be evaluated because the roster lacks its column.")]


def input_policy(allow_missing: list[str] | None, strict: bool):
    """--allow-missing / --strict → engine.inputs.InputPolicy (field labels resolved to names)."""
    from fupin_cli.engine.inputs import InputPolicy, resolve_field_names

    return InputPolicy(allow_missing=resolve_field_names(allow_missing or []), strict=strict)


ROSTERS_HELP = ("Roster file(s): .xlsx, .xls, .csv or .parquet — several files, a folder or a glob "
                "(青山镇/*.xlsx); every sheet with a roster header is read.")
ColumnsOpt = Annotated[Path | None, typer.Option(
    "--columns", help="Column map (YAML, from `fupin columns --write-map`, corrected) applied before the built-in labels.",
    exists=True, dir_okay=False, readable=True)]


def _expand_rosters(value: list[Path] | None) -> list[Path] | None:
    """Typer callback: folders and glob patterns → files (a missing file is a usage error)."""
    if not value:
        return value
    from fupin_cli.errors import InputError
    from fupin_cli.io.paths import MissingPath, expand_paths

    try:
        return expand_paths(value)
    except MissingPath as e:
        raise typer.BadParameter(e.message) from None
    except InputError as e:
        raise typer.BadParameter(e.one_line()) from None


# The factories below give typer's parameter info; a command module spells the type beside it,
# ``Annotated[list[Path], rosters_argument(...)]``, so that type checkers read a real alias.
def rosters_argument(help: str = ROSTERS_HELP) -> Any:
    """ROSTER...: one or more roster files, folders or glob patterns (expanded to files)."""
    return typer.Argument(help=help, callback=_expand_rosters, show_default=False)


def rosters_option(flag: str, help: str) -> Any:
    """An optional, repeatable roster option (files, folders or patterns)."""
    return typer.Option(flag, help=help, callback=_expand_rosters)


RostersArg = Annotated[list[Path], rosters_argument()]


def column_map(columns: Path | None):
    """The ``--columns`` map, loaded and validated (None without the option)."""
    from fupin_cli.io.colmap import load_column_map

    return load_column_map(columns) if columns is not None else None


def read_rosters(paths: list[Path], *, sheet: str | None = None, encoding: str | None = None,
                 columns: Path | None = None):
    """Read ROSTER... with the shared options (``--sheet``, ``--encoding``, ``--columns``) into one Roster."""
    from fupin_cli.io.colmap import load_column_map
    from fupin_cli.io.read import read_roster

    cmap = load_column_map(columns) if columns is not None else None
    return read_roster(paths, sheet=sheet, encoding=encoding, columns=cmap)


def input_option(flag: str, help: str) -> Any:
    """An optional input file given by ``flag`` (exists, not a folder, readable)."""
    return typer.Option(flag, help=help, exists=True, dir_okay=False, readable=True)


PopulationOpt = Annotated[Path | None, input_option("--population", "Village table (.xlsx/.csv: 乡镇, 行政村, 人口数) for 贫困发生率 over the registered population; default: people in the roster. `exit` also reads 村集体经济收入, 村农民人均纯收入, 全省贫困发生率 (%) and 全省农民人均纯收入: 贫困村 一高一低一无.")]


def input_argument(help: str) -> Any:
    """A required input file argument (exists, not a folder, readable)."""
    return typer.Argument(help=help, exists=True, dir_okay=False, readable=True)


def json_error(message: str, exit_code: int, problems: list[str] | None = None) -> None:
    """With ``--json``, a failing run still prints JSON on stdout: ``{"error": …, "exit_code": …}``."""
    payload: dict[str, Any] = {"error": message, "exit_code": exit_code}
    if problems:
        payload["problems"] = list(problems)[:200]
    print_json(payload)


@contextlib.contextmanager
def guard(json_: bool = False) -> Iterator[None]:
    """Turn FupinError into one stderr line + its exit code; anything else into exit 5.

    Tracebacks only with ``fupin --debug``. Messages never include full ID numbers
    (errors are built with masked IDs by the core). ``json_`` (the command's ``--json``): the error is
    also printed as JSON on stdout (:func:`json_error`), so a script reading stdout always gets JSON.
    """
    from fupin_cli.idnumber import mask_text
    from fupin_cli.io.write import protect_inputs

    protect_inputs((), reset=True)  # each command declares its own inputs (cli/run.py prepare_outputs)
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except FupinError as e:
        if state.debug:
            _traceback()
        err.print(f"[bold red]错误:[/] {escape(mask_text(e.one_line()))}")
        for problem in getattr(e, "problems", [])[:200]:
            err.print(escape(mask_text(problem)))
        if json_:
            problems = getattr(e, "problems", None)
            json_error(mask_text(e.one_line()), e.exit_code, [mask_text(p) for p in problems] if problems else None)
        raise typer.Exit(code=e.exit_code) from None
    except KeyboardInterrupt:
        err.print("[bold red]已中断[/] (interrupted)")
        if json_:
            json_error("interrupted", 130)
        raise typer.Exit(code=130) from None
    except Exception as e:  # a bug: say so, without locals (they can hold personal data)
        if state.debug:
            _traceback()
        message = (f"{type(e).__name__}: {mask_text(str(e))[:300]} "
                   "(this is a bug in fupin; rerun with `fupin --debug ...` for the traceback and report it)")
        err.print(f"[bold red]内部错误:[/] {escape(message)}")
        if json_:
            json_error(f"内部错误: {message}", EXIT_INTERNAL)
        raise typer.Exit(code=EXIT_INTERNAL) from None


def _traceback() -> None:
    """The current exception's traceback on stderr (``--debug``): ID numbers masked, controls removed."""
    from fupin_cli.idnumber import mask_text

    sys.stderr.write(printable(mask_text(traceback.format_exc())))
    sys.stderr.flush()


# C0/C1 control characters (ESC starts terminal escape sequences; CR and backspace overwrite what
# was printed), DEL, and the bidirectional overrides that reorder what a terminal shows.
# Newline and tab stay.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control and terminal escape characters (anything printed goes through this)."""
    return _CONTROL.sub("", text)


def escape(text: str) -> str:
    """Text from data or files, made safe to print: control characters removed, rich markup escaped."""
    from rich.markup import escape as _esc

    return _esc(printable(str(text)))


def print_json(payload: Any) -> None:
    """Print JSON on stdout (sorted keys, UTF-8, no rich markup)."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=2, default=str) + "\n")
    sys.stdout.flush()


def check_year(year: int, flag: str = "--year") -> int:
    """The same range for a year given any other way (``samples chain --years``): a usage error outside it."""
    if not YEAR_MIN <= year <= YEAR_MAX:
        from fupin_cli.errors import UsageError

        raise UsageError(f"{flag}: {year} is not in the range {YEAR_MIN}<=x<={YEAR_MAX}",
                         "give a year within the rule pack's years (`fupin rules show PACK`)")
    return year
