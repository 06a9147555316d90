"""`fupin validate`: data-quality findings (疑点) of a roster; exit 1 when errors were found."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # pandas is imported by the command when it runs, not by `fupin --help`
    import pandas as pd

from fupin_cli.cli.common import (
    YEAR_MAX,
    YEAR_MIN,
    ColumnsOpt,
    EncodingOpt,
    ForceOpt,
    JsonOpt,
    Lang,
    LangOpt,
    OutputOpt,
    QuietOpt,
    RegionOpt,
    RostersArg,
    SheetOpt,
    err,
    escape,
    guard,
    out,
    read_rosters,
)

OUTPUT_FORMATS = (".xlsx", ".csv", ".parquet")
DEFAULT_PACK = "national-2014"

YearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", help="Year whose 31 December ages are computed on (default: the roster's 年度 column, else the year "
    "in its title rows, else the current year); 2000–2100. The pack's check rules run whatever its years: they check "
    "data, not the year's policy.", min=YEAR_MIN, max=YEAR_MAX)]
CheckPackOpt = Annotated[str | None, typer.Option(
    "--pack", "-p", help=f"Rule pack whose `check` rules run as extra checks (default: {DEFAULT_PACK}).")]
NoPackOpt = Annotated[bool, typer.Option("--no-pack", help="Built-in checks only: skip the rule pack's check rules.")]
MaxRowsOpt = Annotated[int, typer.Option("--max-rows", help="Findings listed in the terminal (0: summary only).", min=0)]


def findings_for_output(findings: pd.DataFrame, lang: str = "zh", labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The findings as written to -o: a 说明 (check label) column, labels and severities in ``lang``."""
    from fupin_cli.checks import label_of
    from fupin_cli.cli.render import findings_labels, severity_label

    df = findings.copy()
    df.insert(2, "check_label", df["check"].map(lambda c: label_of(c, labels)).astype("str"))
    df["severity"] = df["severity"].map(lambda s: severity_label(s, lang)).astype("str")
    labels = {**findings_labels(lang), "check_label": "检查项说明" if lang == "zh" else "description"}
    return df.rename(columns=labels)


def register(app: typer.Typer) -> None:
    @app.command("validate", help=(
        "Data-quality checks (疑点) of a roster: ID numbers (GB 11643), required values, household structure, "
        "relations, ages, labour, income arithmetic, 低保/特困 and 致贫原因 consistency. Each finding names the "
        "sheet, Excel row and column. The rule pack's `check` rules (default national-2014: 耕地/林地 per person, "
        "distance to the main road...) run too unless --no-pack. Exit 0: no errors; 1: errors found; 2: usage; "
        "3: bad rule pack; 4: unreadable input."))
    def validate_command(
        ctx: typer.Context,
        roster: RostersArg,
        year: YearOpt = None,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        columns: ColumnsOpt = None,
        output: OutputOpt = None,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
        force: ForceOpt = False,
        max_rows: MaxRowsOpt = 20,
        lang: LangOpt = Lang.zh,
        pack: CheckPackOpt = None,
        no_pack: NoPackOpt = False,
        region: RegionOpt = None,
    ) -> None:
        with guard(json_):
            from fupin_cli.checks import check_labels_of, choose_year, exit_code, pack_checks, report, validate
            from fupin_cli.cli.config import settings
            from fupin_cli.cli.run import (
                command_provenance,
                load_pack_checked,
                prepare_outputs,
                print_envelope,
                progress,
                settle,
                warn,
            )
            from fupin_cli.errors import UsageError
            from fupin_cli.io.write import take_notices, write_frame

            if no_pack and pack is not None:
                raise UsageError("--pack and --no-pack cannot be used together", "give one of them")
            cfg = settings(ctx, pack=pack, region=region, columns=columns)
            columns = cfg.columns
            prepare_outputs(output, force, allowed=OUTPUT_FORMATS, inputs=roster)
            extra, pack_id, chosen, loaded = [], None, None, None
            with progress(quiet or json_) as step:
                if not no_pack:
                    step("pack")
                    loaded = load_pack_checked(cfg.pack, cfg.region, default=DEFAULT_PACK)  # exit 3 before the read
                step("read")
                data = read_rosters(roster, sheet=sheet, encoding=encoding, columns=columns)
                choice = choose_year(data, year)
                if loaded is not None:
                    # region and pack as every command resolves them (the year: --year, else the roster's; no era check:
                    # these are data-quality checks, not the pack's policy)
                    how = {"option": ("given", f"命令行 --year {choice.year}")}.get(
                        choice.source, ("inferred" if choice.source in ("roster", "title") else "default", choice.reason))
                    chosen = settle(data, cfg, choice.year, DEFAULT_PACK, loaded=loaded, check_roster_year=False, era=False,
                                    year_source=how)
                    extra, pack_id = [pack_checks(chosen.pack, chosen.region)], chosen.pack.ident
                step("validate")
                findings = validate(data, choice.year, extra)
                labels = check_labels_of(extra)
                payload = report(data, findings, choice, labels=labels, pack=pack_id)
                if chosen is not None:
                    payload["summary"]["choice"] = chosen.info
                if output is not None:
                    step("write")
                    table = findings_for_output(findings, lang.value, labels)
                    write_frame(table, output, force=force, sheet_name="疑点", text_columns=[table.columns[7]])
            warnings = [*(chosen.warnings if chosen is not None else []), *take_notices()]
            warn(warnings)
            if json_:
                prov = command_provenance("validate", sources=data.sources, read=roster, files=[columns],
                                          pack=chosen.pack if chosen is not None else None, year=choice.year,
                                          region=chosen.region if chosen is not None else None,
                                          options={"no_pack": no_pack, "lang": lang.value})
                print_envelope(payload, outputs=[output] if output is not None else [], warnings=warnings, provenance=prov)
            elif not quiet:
                render(payload, findings, max_rows, lang.value, output, chosen.lines if chosen is not None else [])
            code = exit_code(findings)
        if code:
            raise typer.Exit(code=code)


def render(payload: dict, findings: pd.DataFrame, max_rows: int, lang: str, output: Path | None,
           choice: Sequence[str] = ()) -> None:
    from fupin_cli.cli.render import readable_width
    from fupin_cli.cli.run import print_choice

    with readable_width(out):
        print_choice([line for line in choice if not line.startswith("年度 ")])  # the year line is validate's own
        _render(payload, findings, max_rows, lang, output)


def _render(payload: dict, findings: pd.DataFrame, max_rows: int, lang: str, output: Path | None) -> None:
    from fupin_cli.cli.render import checks_table, findings_table, severity_table, truncation_note

    s, r = payload["summary"], payload["roster"]
    zh = lang == "zh"
    names = "、".join(x["name"] for x in r["sources"])
    out.print(escape(f"{names}: {r['households']:,} 户, {r['members']:,} 人" if zh
                     else f"{names}: {r['households']:,} households, {r['members']:,} members"))
    pack = s.get("pack") or ("未运行规则包检查 (--no-pack)" if zh else "none (--no-pack)")
    out.print(escape(f"年度 {s['year']}（{s['year_reason']}）；规则包 {pack}" if zh
                     else f"year {s['year']} ({s['year_source']}: {s['year_reason']}); rule pack {pack}"))
    out.print(severity_table(s, lang=lang))
    if s["by_check"]:
        out.print(checks_table(s, lang=lang))
    if max_rows and len(findings):
        out.print(findings_table(findings, max_rows=max_rows, lang=lang))
        note = truncation_note(len(findings), max_rows)
        if note:
            out.print(note)
    if output is not None:
        out.print(f"{'输出' if zh else 'output'}: {escape(str(output))}")
    if s["error"]:
        err.print(f"[bold red]{s['error']:,} 个错误[/] (errors found: exit 1)" if zh else f"[bold red]{s['error']:,} errors[/] (exit 1)")
