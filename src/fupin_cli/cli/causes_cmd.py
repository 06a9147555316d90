"""`fupin causes` (not yet implemented)."""

from __future__ import annotations

import typer

from fupin_cli.errors import UsageError
from fupin_cli.cli.common import guard


def register(app: typer.Typer) -> None:
    @app.command("causes", help="(not yet implemented)")
    def causes_command() -> None:
        with guard():
            raise UsageError("fupin causes is not implemented yet")
