"""The `fupin` command: registers one module per subcommand."""

from __future__ import annotations

from typing import Annotated

import typer

from fupin_cli import __version__
from fupin_cli.cli.common import state

app = typer.Typer(
    name="fupin",
    help="fupin (扶贫): household poverty identification and tracking from county rosters (精准扶贫 建档立卡).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fupin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", "-V", help="Show the version and exit.", callback=_version, is_eager=True)] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors (may include data; do not share).")] = False,
) -> None:
    state.debug = debug


def _register() -> None:
    # one module per subcommand, registered explicitly (order = order in --help)
    from fupin_cli.cli import (
        causes_cmd,
        exit_cmd,
        explain_cmd,
        identify_cmd,
        monitor_cmd,
        reassess_cmd,
        rules_cmd,
        samples_cmd,
        validate_cmd,
    )

    for module in (validate_cmd, identify_cmd, explain_cmd, causes_cmd, exit_cmd, reassess_cmd, monitor_cmd):
        module.register(app)
    app.add_typer(rules_cmd.app, name="rules", help="Check, show and test rule packs (规则包).")
    app.add_typer(samples_cmd.app, name="samples", help="Generate synthetic county rosters for demos, tests and benchmarks.")


_register()


def main() -> None:
    app()
