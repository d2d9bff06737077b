"""`cdop report`: the anonymised case report and the coordinator's check."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cdop.cli.common import (
    actor,
    business_date,
    current_settings,
    friendly_errors,
    today_option,
)


@click.group("report")
def report_group() -> None:
    """The anonymised case report and the coordinator's check."""


@report_group.command("assemble")
@today_option
@friendly_errors
def report_assemble(today) -> None:
    """Build the report of every case newly ready for panel (what the DAG does)."""
    from cdop.panel.case_reports import assemble_reports

    result = assemble_reports(current_settings(), business_date(today), actor=actor())
    click.echo(f"built {len(result['built'])} report(s) awaiting check, {len(result['blocked'])} blocked")
    for number in result["blocked"]:
        click.echo(f"  blocked: {number} (see `cdop report show {number}`)")


@report_group.command("build")
@click.argument("case_number")
@today_option
@friendly_errors
def report_build(case_number, today) -> None:
    """Build the next version of a case's report (after redacting or amending)."""
    from cdop.panel.case_reports import build_report

    result = build_report(current_settings(), case_number, today=business_date(today))
    click.echo(f"{result.case_number} v{result.version}: {result.status}")
    if result.findings:
        click.echo("  identifier field(s) found: " + ", ".join(result.findings))
        click.echo(f"  see where with `cdop report show {result.case_number}`")


@report_group.command("show")
@click.argument("case_number")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def report_show(case_number, as_json) -> None:
    """Show a case's reports: versions, status, gate findings and decisions."""
    from cdop.panel.case_reports import report_view

    view = report_view(current_settings(), case_number)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(f"{view['case_number']}  stage: {view['stage']}")
    if not view["reports"]:
        click.echo("  no case report yet")
    for r in view["reports"]:
        decided = f" by {r['decided_by']} at {r['decided_at']}" if r["decided_by"] else ""
        click.echo(f"  v{r['version']}  built {r['built_on']}  {r['status']}{decided}")
        if r["gate_findings"]:
            click.echo("      identifier field(s) found: " + ", ".join(r["gate_findings"]))
        if r["comments"]:
            click.echo(f"      comments: {r['comments']}")
    for item in view["blocked_at"]:
        click.echo(f"      {item['field']}: in {item['where']}")


@report_group.command("approve")
@click.argument("case_number")
@click.option("--comments", help="Optional comments (no names: the gate checks them).")
@click.option("--version", type=int, help="The version checked (refused if it is not the current one).")
@today_option
@friendly_errors
def report_approve(case_number, comments, version, today) -> None:
    """Approve the current report for the panel."""
    from cdop.panel.case_reports import decide

    result = decide(current_settings(), case_number, approve=True, comments=comments, actor=actor(),
                    today=business_date(today), version=version)
    click.echo(f"{result['case_number']} v{result['version']} approved by {result['decided_by']}")


@report_group.command("return")
@click.argument("case_number")
@click.option("--comments", required=True, help="What to amend (no names: the gate checks them).")
@click.option("--version", type=int, help="The version checked (refused if it is not the current one).")
@today_option
@friendly_errors
def report_return(case_number, comments, version, today) -> None:
    """Return the current report with comments, for amendment and a new version."""
    from cdop.panel.case_reports import decide

    result = decide(current_settings(), case_number, approve=False, comments=comments, actor=actor(),
                    today=business_date(today), version=version)
    click.echo(f"{result['case_number']} v{result['version']} returned by {result['decided_by']}")


@report_group.command("export")
@click.argument("case_number")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--version", type=int)
@click.option("--reason", required=True,
              help="Why the decrypted report is needed (kept, encrypted, in the audit trail).")
@friendly_errors
def report_export(case_number, target, version, reason) -> None:
    """Decrypt a report's HTML and PDF into a folder to read them (audited)."""
    from cdop.panel.case_reports import export_report

    for path in export_report(current_settings(), case_number, target, version=version, reason=reason):
        click.echo(str(path))
