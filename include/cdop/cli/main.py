"""`cdop`: the coordinator's command-line tool.

Every command validates first and writes all-or-nothing; errors name the field and the
row, never the value. Commands that act "today" take --today (the business date), which
defaults to today in the CDOP's time zone. Each area's commands live in a module of
their own (admin, intake, requests, panel, annual_report) and are added here, explicitly.
"""

from __future__ import annotations

import click

from cdop.cli import admin, intake, panel, requests
from cdop.cli.annual_report import annual_report


@click.group()
def main() -> None:
    """Child Death Overview Panel case-review workflow."""


for command in (*admin.COMMANDS, *intake.COMMANDS, *requests.COMMANDS, annual_report):
    main.add_command(command)
panel.register(main)  # report, panel, analysis, recommendation, return content, case family


if __name__ == "__main__":
    main()
