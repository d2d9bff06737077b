"""`cdop`: the coordinator's command-line tool.

Every command validates first and writes all-or-nothing; errors name the field and the
row, never the value. Commands that act "today" take --today (the business date), which
defaults to today in England. Each area's commands live in a module of
their own (admin, intake, requests, returns, reports, panel, analysis,
annual_report, outbox, gate) and are added here, explicitly.
"""

from __future__ import annotations

import click

from cdop.cli import admin, analysis, gate, intake, outbox, panel, reports, requests, returns
from cdop.cli.annual_report import annual_report


@click.group()
def main() -> None:
    """Child Death Overview Panel case-review workflow."""


for command in (*admin.COMMANDS, *intake.COMMANDS, *requests.COMMANDS, reports.report_group,
                panel.panel_group, analysis.analysis_group, analysis.recommendation_group,
                annual_report, *outbox.COMMANDS, *gate.COMMANDS):
    main.add_command(command)
for command in returns.RETURN_COMMANDS:
    intake.return_.add_command(command)
intake.case.add_command(returns.case_family)


if __name__ == "__main__":
    main()
