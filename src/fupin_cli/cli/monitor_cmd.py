"""`fupin monitor` (not yet implemented)."""

from __future__ import annotations

import typer

from fupin_cli.errors import UsageError
from fupin_cli.cli.common import guard


def register(app: typer.Typer) -> None:
    @app.command("monitor", help="(not yet implemented)")
    def monitor_command() -> None:
        with guard():
            raise UsageError("fupin monitor is not implemented yet")
