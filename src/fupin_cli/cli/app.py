"""The `fupin` command: registers one module per subcommand.

Start-up stays light (`fupin --help` / `--version` in well under 0.3 s): the command modules import
only typer and cli/common.py at module level; pandas, numpy, pyarrow, duckdb and the engine are
imported inside the command functions (tests/test_startup.py checks, benchmarks/bench_startup.py measures)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from fupin_cli.cli.common import err, escape, state


class OneLineErrors(TyperGroup):
    """Usage errors (wrong flag, missing or wrong file, bad value) as one stderr line, exit 2.

    Typer would print the usage, a hint and a boxed panel; a county office's log and a script's
    stderr get one line instead: ``错误: <what> (see `fupin identify --help`)``.
    """

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            err.print("[bold red]已中断[/] (aborted)")
            sys.exit(1)
        except Exception as e:  # click's ClickException, without importing click
            if not hasattr(e, "format_message") or not hasattr(e, "exit_code"):
                raise
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError":  # Typer has printed the help already
                sys.exit(e.exit_code)
            message = " ".join(e.format_message().split())
            where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            err.print(f"[bold red]错误:[/] {escape(message)}{where}")
            if "--json" in (sys.argv[1:] if args is None else list(args)):
                from fupin_cli.cli.common import json_error

                json_error(f"{message}{where}", e.exit_code)
            sys.exit(e.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="fupin",
    cls=OneLineErrors,
    help="fupin (扶贫): household poverty identification and tracking from county rosters (精准扶贫 建档立卡).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from fupin_cli import __version__

        typer.echo(f"fupin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", help="Show the version and exit.", callback=_version, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors (may include data; do not share).")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="The county's project file (default: fupin.toml in the working folder, if any); options given on the command line win over it.", dir_okay=False)] = None,
) -> None:
    state.debug = debug
    state.config = config


def _register() -> None:
    # one module per subcommand, registered explicitly (order = order in --help)
    from fupin_cli.cli import (
        causes_cmd,
        columns_cmd,
        exit_cmd,
        explain_cmd,
        funds_cmd,
        identify_cmd,
        init_cmd,
        measures_cmd,
        monitor_cmd,
        reassess_cmd,
        rules_cmd,
        samples_cmd,
        validate_cmd,
    )

    for module in (init_cmd, validate_cmd, identify_cmd, explain_cmd, causes_cmd, exit_cmd, reassess_cmd, monitor_cmd,
                   measures_cmd, funds_cmd, columns_cmd):
        module.register(app)
    app.add_typer(rules_cmd.app, name="rules", help="Check, show and test rule packs (规则包).")
    app.add_typer(samples_cmd.app, name="samples", help="Generate synthetic county rosters for demos, tests and benchmarks.")


_register()


def _terminate(signum, frame) -> None:
    """SIGTERM / SIGHUP: unwind like Ctrl-C, so an output being written is discarded (never left half-written)."""
    raise SystemExit(128 + signum)


def main() -> None:
    import signal

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, _terminate)
    app()
