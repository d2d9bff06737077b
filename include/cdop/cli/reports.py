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
        if r["replacements"]:
            click.echo(f"      drafted with {r['replacements']} replacement(s) by role")
        if r["gate_findings"]:
            click.echo("      identifier field(s) found: " + ", ".join(r["gate_findings"]))
        if r["comments"]:
            click.echo(f"      comments: {r['comments']}")
    for item in view["blocked_at"]:
        click.echo(f"      {item['field']}: in {item['where']}")
    if view["to_decide"]:
        click.echo(f"  {len(view['to_decide'])} replacement(s) to decide before approval: "
                   f"cdop report replacements {view['case_number']}")


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


@report_group.command("replacements")
@click.argument("case_number")
@today_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def report_replacements(case_number, today, as_json) -> None:
    """List what the pseudonymised draft replaced, numbered: label, kind, who found it,
    where, the draft's words around it (never the original) and the decision so far."""
    from cdop.panel.replacements import replacements

    view = replacements(current_settings(), case_number, today=business_date(today))
    if as_json:
        view.pop("places")
        click.echo(json.dumps(view, indent=2))
        return
    report = view["report"]
    click.echo(f"{view['case_number']}  report: " + (f"v{report['version']} {report['status']}" if report
                                                    else "not built yet"))
    if not view["replacements"]:
        click.echo("  nothing replaced")
    for r in view["replacements"]:
        state = {"keep": "kept", "label": "changed", "undo": "undone"}.get(r["decision"] or "", "")
        state = state or ("replaced (a stop)" if r["severity"] == "stop" else "TO DECIDE (a flag)")
        if r["same_as"] != r["number"]:
            state = f"as {r['same_as']} (same words)"
        click.echo(f"  {r['number']:>3}  {r['label']:<28} {r['kind']:<10} {state:<20} {r['where']}")
        click.echo(f"       found as {r['found_by']} ({r['field']}): \u2026{r['context']}\u2026")
    if view["undecided"]:
        click.echo(f"  {len(view['undecided'])} to decide: cdop report decide {view['case_number']} "
                   "--replacement N --keep | --label \"...\" | --undo --reason \"...\"")


@report_group.command("decide")
@click.argument("case_number")
@click.option("--replacement", "number", type=int, required=True, help="Its number in `cdop report replacements`.")
@click.option("--keep", is_flag=True, help="Keep the label it was given.")
@click.option("--label", help="Change it to this label (no names: the gate checks it).")
@click.option("--undo", is_flag=True, help="Undo it: a false alarm, kept as written (needs --reason).")
@click.option("--reason", help="Why it is a false alarm (kept, encrypted, in the audit trail).")
@today_option
@friendly_errors
def report_decide(case_number, number, keep, label, undo, reason, today) -> None:
    """Keep, change or undo one replacement of the draft; the same text everywhere in the
    case follows, and a report waiting for the check is drafted again."""
    from cdop.panel.replacements import decide
    from cdop.validation import InputError, Problem

    chosen = [name for name, given in (("keep", keep), ("label", label is not None), ("undo", undo)) if given]
    if len(chosen) != 1:
        raise InputError([Problem("decision", "give exactly one of --keep, --label or --undo")])
    result = decide(current_settings(), case_number, number, decision=chosen[0], label=label, reason=reason,
                    actor=actor(), today=business_date(today))
    said = {"keep": f"kept as {result['label']}", "label": f"changed to {result['label']}",
            "undo": "undone: kept as written"}[result["decision"]]
    click.echo(f"{result['case_number']} replacement {number} ({result['where']}): {said}")
    if result["redrafted"]:
        click.echo(f"  report v{result['redrafted']['version']} drafted again: {result['redrafted']['status']}")


@report_group.command("reveal")
@click.argument("case_number")
@click.option("--replacement", "number", type=int, required=True)
@click.option("--reason", required=True, help="Why you need the original (kept, encrypted, in the audit trail).")
@today_option
@friendly_errors
def report_reveal(case_number, number, reason, today) -> None:
    """Show the original text of one replacement (audited, with the reason)."""
    from cdop.panel.replacements import reveal

    result = reveal(current_settings(), case_number, number, reason=reason, actor=actor(),
                    today=business_date(today))
    click.echo(f"{number} ({result['where']}), drafted as {result['label']}: {result['original']}")
